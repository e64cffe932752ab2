"""Records to DataFrames: the schema applied, batches streamed, duplicates and related rows.

The one-shot :func:`load_records` is built on the streaming :func:`iter_batches`, so a dump far
larger than memory can be scored batch by batch with flat memory, and a small corpus loads in
one call. Parsing runs in parallel worker processes (joblib) when the input is large.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from joblib import Parallel, delayed

from pipeline.errors import LoadError, StrictModeError
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.records import Record, parse_source, related_rows
from pipeline.schema import COLUMNS
from pipeline.sources import Source, iter_sources

DuplicateRule = Literal["mark", "drop", "keep"]
DEFAULT_BATCH_SIZE = 2_000
PARALLEL_THRESHOLD = 2_000  # sources; below this, worker start-up costs more than it saves
CHUNK_SIZE = 250  # sources per worker task
PARALLEL_BACKEND = "multiprocessing"  # fork: workers start in milliseconds, not seconds


@dataclass
class Batch:
    """One batch of the stream: the records read so far as a frame, and the errors beside them."""

    frame: pd.DataFrame
    errors: list[LoadError] = field(default_factory=list)


@dataclass
class LoadResult:
    """Everything a load produced: the frame of good records and the report of bad inputs."""

    frame: pd.DataFrame
    errors: list[LoadError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def empty_frame() -> pd.DataFrame:
    """A frame with the schema's columns and dtypes and no rows."""
    return records_to_frame([])


def records_to_frame(records: list[Record]) -> pd.DataFrame:
    """Build a frame with exactly the schema's columns, in order, with the schema's dtypes."""
    return _columns_to_frame(_records_to_columns(records))


def _records_to_columns(records: list[Record]) -> dict[str, Any]:
    """Typed columns; object columns stay plain lists (they pickle ~5x faster than a Series)."""
    columns: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        values = [record.get(column) for record in records]
        if dtype.startswith("datetime64"):
            columns[column] = pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype(
                dtype
            )
        elif dtype == "object":
            columns[column] = values
        else:
            columns[column] = pd.Series(values, dtype=object).astype(dtype)
    return columns


def _columns_to_frame(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object) if isinstance(values, list) else values
            for name, values in columns.items()
        }
    )


def _parse_chunk(
    sources: list[Source], limits: Limits, expand_related: bool, yaml_backend: str
) -> tuple[list[Record], list[LoadError]]:
    records: list[Record] = []
    errors: list[LoadError] = []
    for source in sources:
        for item in parse_source(source, limits, yaml_backend=yaml_backend):
            if isinstance(item, LoadError):
                errors.append(item)
            else:
                records.append(item)
                if expand_related:
                    records.extend(related_rows(item))
    return records, errors


def _parse_chunk_to_columns(
    sources: list[Source], limits: Limits, expand_related: bool, yaml_backend: str
) -> tuple[dict[str, Any], list[LoadError]]:
    """Worker task: parse a chunk of sources; columns are cheap to send back to the parent."""
    records, errors = _parse_chunk(sources, limits, expand_related, yaml_backend)
    return _records_to_columns(records), errors


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def iter_batches(
    paths: Iterable[str] | str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int | None = None,
    strict: bool = False,
    expand_related: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    yaml_backend: str = "auto",
    on_error: Callable[[LoadError], None] | None = None,
) -> Iterator[Batch]:
    """Stream the records named by ``paths`` as frames of at most about ``batch_size`` rows.

    ``jobs``: worker processes for parsing (None: all cores when the input is large, else 1).
    ``strict``: raise :class:`StrictModeError` at the first bad input instead of reporting it.
    ``on_error``: called with each error as it is found (e.g. to print it); errors are also
    returned in each batch. Rows come out in the order of the input, whatever ``jobs`` is.
    """
    paths = _as_path_list(paths)

    def report(errors: list[LoadError]) -> None:
        for error in errors:
            if strict:
                raise StrictModeError(error)
            if on_error is not None:
                on_error(error)

    pending_errors: list[LoadError] = []
    file_sources: list[Source] = []
    held = [0]  # bytes of archive members waiting in memory in file_sources

    def flush_files() -> Iterator[Batch]:
        if file_sources:
            yield from _file_batches(
                list(file_sources), batch_size, jobs, limits, expand_related, yaml_backend, report
            )
            file_sources.clear()
            held[0] = 0

    for item in iter_sources(paths, limits):
        if isinstance(item, LoadError):
            report([item])
            pending_errors.append(item)
        elif item.kind == "jsonl":
            # Streamed in this process, so a single huge JSON Lines dump stays in flat memory.
            yield from flush_files()
            yield from _stream_batches(
                item, batch_size, limits, expand_related, pending_errors, report
            )
            pending_errors = []
        else:
            file_sources.append(item)
            held[0] += len(item.data) if item.data is not None else 0
            # Parse before more than one archive's worth of inflated members piles up: each
            # archive is capped, but many archives in one call would add up without bound.
            if len(file_sources) >= PARALLEL_THRESHOLD * 4 or held[0] >= limits.max_archive_bytes:
                yield from flush_files()
    yield from flush_files()
    if pending_errors:
        yield Batch(empty_frame(), pending_errors)


def _stream_batches(
    source: Source,
    batch_size: int,
    limits: Limits,
    expand_related: bool,
    errors: list[LoadError],
    report: Callable[[list[LoadError]], None],
) -> Iterator[Batch]:
    records: list[Record] = []
    errors = list(errors)
    for item in parse_source(source, limits):
        if isinstance(item, LoadError):
            report([item])
            errors.append(item)
            continue
        records.append(item)
        if expand_related:
            records.extend(related_rows(item))
        if len(records) >= batch_size:
            yield Batch(records_to_frame(records), errors)
            records, errors = [], []
    if records or errors:
        yield Batch(records_to_frame(records), errors)


def _file_batches(
    sources: list[Source],
    batch_size: int,
    jobs: int | None,
    limits: Limits,
    expand_related: bool,
    yaml_backend: str,
    report: Callable[[list[LoadError]], None],
) -> Iterator[Batch]:
    if jobs is None:
        jobs = (os.cpu_count() or 1) if len(sources) >= PARALLEL_THRESHOLD else 1
    if jobs == 1:
        chunk = max(1, min(batch_size, CHUNK_SIZE))
        parts: Iterable[tuple[dict[str, Any], list[LoadError]]] = (
            _parse_chunk_to_columns(part, limits, expand_related, yaml_backend)
            for part in _chunks(sources, chunk)
        )
    else:
        chunk = max(1, min(CHUNK_SIZE, -(-len(sources) // (jobs * 4))))
        parts = Parallel(n_jobs=jobs, return_as="list", backend=PARALLEL_BACKEND)(
            delayed(_parse_chunk_to_columns)(part, limits, expand_related, yaml_backend)
            for part in _chunks(sources, chunk)
        )
    yield from _rebatch(parts, batch_size, report)


def _rebatch(
    parts: Iterable[tuple[dict[str, Any], list[LoadError]]],
    batch_size: int,
    report: Callable[[list[LoadError]], None],
) -> Iterator[Batch]:
    """Merge small per-chunk results into batches of about ``batch_size`` rows."""
    frames: list[pd.DataFrame] = []
    errors: list[LoadError] = []
    rows = 0
    for columns, part_errors in parts:
        report(part_errors)
        errors.extend(part_errors)
        frame = _columns_to_frame(columns)
        if len(frame):
            frames.append(frame)
            rows += len(frame)
        if rows >= batch_size:
            yield Batch(_concat(frames), errors)
            frames, errors, rows = [], [], 0
    if frames or errors:
        yield Batch(_concat(frames), errors)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return empty_frame()
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def load_records(
    paths: Iterable[str] | str,
    *,
    duplicates: DuplicateRule = "mark",
    jobs: int | None = None,
    strict: bool = False,
    expand_related: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    yaml_backend: str = "auto",
    on_error: Callable[[LoadError], None] | None = None,
) -> LoadResult:
    """Load every record named by ``paths`` into one frame (see :func:`iter_batches`).

    ``duplicates``: "mark" flags all but one record per article URL (:func:`mark_duplicates`),
    "drop" removes the flagged ones, "keep" leaves them unflagged.
    """
    paths = _as_path_list(paths)
    frames: list[pd.DataFrame] = []
    errors: list[LoadError] = []
    for batch in iter_batches(
        paths,
        jobs=jobs,
        strict=strict,
        expand_related=expand_related,
        limits=limits,
        yaml_backend=yaml_backend,
        on_error=on_error,
    ):
        if len(batch.frame):
            frames.append(batch.frame)
        errors.extend(batch.errors)
    frame = _concat(frames).reset_index(drop=True)
    if duplicates != "keep":
        frame = mark_duplicates(frame)
        if duplicates == "drop":
            frame = frame.loc[~frame["is_duplicate"]].reset_index(drop=True)
    return LoadResult(frame, errors)


def _as_path_list(paths: Iterable[str] | str) -> list[str]:
    """One path or many: a bare string is one path, not a sequence of characters."""
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(path) for path in paths]


def mark_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Flag repeated articles: rows sharing a canonical URL (``url_key``) are one article.

    The rule: per URL, the row kept (``is_duplicate`` False) is the newest by publication time;
    among equals, one with a known ``quality``; then the first in input order. Main records and
    related-entry rows are judged separately, so a related row never hides a main record.
    Rows without a URL are never duplicates.
    """
    frame = frame.copy()
    order = pd.DataFrame(
        {
            "key": frame["url_key"],
            "related": frame["is_related"].fillna(False).astype(bool),
            "time": frame["published_at"],
            "unscored": frame["quality"].isna(),
            "position": range(len(frame)),
        },
        index=frame.index,
    )
    ranked = order.sort_values(
        ["related", "key", "time", "unscored", "position"],
        ascending=[True, True, False, True, True],
        na_position="last",
    )
    repeated = ranked.duplicated(subset=["related", "key"], keep="first") & ranked["key"].notna()
    frame["is_duplicate"] = repeated.reindex(frame.index).astype("boolean")
    return frame
