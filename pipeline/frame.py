"""Records to DataFrames: the schema applied, batches streamed, duplicates and related rows.

The one-shot :func:`load_records` is built on the streaming :func:`iter_batches`, so a dump far
larger than memory can be scored batch by batch with flat memory, and a small corpus loads in
one call. Parsing runs in forked worker processes when the input is large.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from pipeline.errors import LoadError, StrictModeError
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.records import Record, parse_source, related_rows
from pipeline.schema import COLUMNS
from pipeline.sources import Source, iter_sources

DuplicateRule = Literal["mark", "drop", "keep"]
DEFAULT_BATCH_SIZE = 2_000
PARALLEL_THRESHOLD = 2_000  # sources; below this, worker start-up costs more than it saves
CHUNK_SIZE = 250  # sources per worker task


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
    """Typed columns (pandas arrays); object columns stay plain lists.

    Worker processes send these back rather than frames: arrays and lists pickle several times
    faster than a Series, and the parent builds one frame per batch from merged columns.
    """
    columns: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        values = [record.get(column) for record in records]
        if dtype.startswith("datetime64"):
            series = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
            columns[column] = series.astype(dtype).array
        elif dtype == "object":
            columns[column] = values
        else:
            columns[column] = pd.array(values, dtype=dtype)
    return columns


def _merge_columns(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate the columns of several parsed chunks (lists joined, arrays concatenated)."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Any] = {}
    for name, first in parts[0].items():
        pieces = [part[name] for part in parts]
        if isinstance(first, list):
            merged[name] = list(itertools.chain.from_iterable(pieces))
        else:
            merged[name] = type(first)._concat_same_type(pieces)
    return merged


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


Part = tuple[dict[str, Any], list[LoadError]]  # one parsed chunk: columns and errors


class _ChunkParser:
    """Parse file sources in order, in this process or in forked workers once input is large.

    Sources are added one at a time as the walk finds them and come back as parsed chunks
    (:data:`Part`) in input order. With ``jobs`` None the parser stays in this process until
    ``PARALLEL_THRESHOLD`` sources are waiting (a small input never pays for workers), then
    starts one pool for the rest of the stream. The walk, the workers' parsing and this
    process's unpickling overlap. Memory stays bounded: at most ``2 * jobs + 1`` chunks are in
    flight, and members of archives (held as bytes) are sent off before more than
    ``max_archive_bytes`` of them wait here.
    """

    def __init__(
        self,
        jobs: int | None,
        limits: Limits,
        expand_related: bool,
        yaml_backend: str,
        chunk_size: int,
    ) -> None:
        self.jobs = jobs
        self.args = (limits, expand_related, yaml_backend)
        self.chunk_size = chunk_size
        self.max_held = limits.max_archive_bytes
        self.waiting: list[Source] = []
        self.waiting_bytes = 0
        self.pool: Any = None
        self.workers = 1
        self.in_flight: deque[tuple[Any, int]] = deque()  # (async result, bytes it holds)
        self.in_flight_bytes = 0

    def __enter__(self) -> _ChunkParser:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()  # also when the consumer stops early: no orphan workers
            self.pool.join()
            self.pool = None

    @property
    def held_bytes(self) -> int:
        """Bytes of archive members read but not yet parsed (waiting here or in flight)."""
        return self.waiting_bytes + self.in_flight_bytes

    def add(self, source: Source) -> Iterator[Part]:
        self.waiting.append(source)
        self.waiting_bytes += len(source.data) if source.data is not None else 0
        if self.pool is None and self.jobs != 1:
            if self.jobs is not None or len(self.waiting) >= PARALLEL_THRESHOLD:
                self._start_pool(self.jobs or os.cpu_count() or 1)
        if self.pool is None:
            if self.jobs == 1 or self.waiting_bytes >= self.max_held:
                while len(self.waiting) >= self.chunk_size or self.waiting_bytes >= self.max_held:
                    yield self._parse_here(self._take())
            return
        while len(self.waiting) >= self.chunk_size or (
            self.waiting and self.held_bytes >= self.max_held
        ):
            yield from self._submit(self._take())
        yield from self._ready()

    def _start_pool(self, jobs: int) -> None:
        if jobs <= 1:
            self.jobs = 1
            return
        # fork: workers start in milliseconds with everything imported; they only parse.
        self.pool = multiprocessing.get_context("fork").Pool(jobs)
        self.workers = jobs

    def drain(self) -> Iterator[Part]:
        """Everything added so far, parsed, in order (before a JSON Lines stream; at the end)."""
        while self.waiting:
            chunk = self._take()
            if self.pool is None:
                yield self._parse_here(chunk)
            else:
                yield from self._submit(chunk)
        while self.in_flight:
            yield self._collect()

    def _take(self) -> list[Source]:
        """The next chunk: up to chunk_size sources, cut early once it holds max_held bytes."""
        count, size = 0, 0
        for source in self.waiting[: self.chunk_size]:
            count += 1
            size += len(source.data) if source.data is not None else 0
            if size >= self.max_held:
                break
        chunk = self.waiting[:count]
        del self.waiting[:count]
        self.waiting_bytes -= size
        return chunk

    def _parse_here(self, chunk: list[Source]) -> Part:
        return _parse_chunk_to_columns(chunk, *self.args)

    def _submit(self, chunk: list[Source]) -> Iterator[Part]:
        size = sum(len(source.data) for source in chunk if source.data is not None)
        while self.in_flight and (
            len(self.in_flight) > 2 * self.workers or self.in_flight_bytes + size > self.max_held
        ):
            yield self._collect()  # back-pressure: wait for the oldest chunk
        result = self.pool.apply_async(_parse_chunk_to_columns, (chunk, *self.args))
        self.in_flight.append((result, size))
        self.in_flight_bytes += size

    def _ready(self) -> Iterator[Part]:
        while self.in_flight and self.in_flight[0][0].ready():
            yield self._collect()

    def _collect(self) -> Part:
        result, size = self.in_flight.popleft()
        self.in_flight_bytes -= size
        return result.get()


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

    chunk_size = max(1, min(batch_size, CHUNK_SIZE))
    batches = _Rebatcher(batch_size, report)
    with _ChunkParser(jobs, limits, expand_related, yaml_backend, chunk_size) as parser:
        for item in iter_sources(paths, limits):
            if isinstance(item, LoadError):
                batches.add_errors([item])
            elif item.kind == "jsonl":
                # Streamed in this process, so a single huge JSON Lines dump stays in flat memory.
                for part in parser.drain():
                    yield from batches.add(part)
                yield from batches.flush()
                yield from _stream_batches(
                    item, batch_size, limits, expand_related, batches.take_errors(), report
                )
            else:
                for part in parser.add(item):
                    yield from batches.add(part)
        for part in parser.drain():
            yield from batches.add(part)
    yield from batches.flush()


class _Rebatcher:
    """Merge parsed chunks (in order) into batches of about ``batch_size`` rows.

    Chunks are kept as columns and turned into one frame per batch: building a frame per
    chunk and concatenating them cost this process more than unpickling the chunks.
    """

    def __init__(self, batch_size: int, report: Callable[[list[LoadError]], None]) -> None:
        self.batch_size = batch_size
        self.report = report
        self.parts: list[dict[str, Any]] = []
        self.errors: list[LoadError] = []
        self.rows = 0

    def add_errors(self, errors: list[LoadError]) -> None:
        self.report(errors)
        self.errors.extend(errors)

    def take_errors(self) -> list[LoadError]:
        errors, self.errors = self.errors, []
        return errors

    def add(self, part: Part) -> Iterator[Batch]:
        columns, errors = part
        self.add_errors(errors)
        rows = len(columns["id"])
        if rows:
            self.parts.append(columns)
            self.rows += rows
        if self.rows >= self.batch_size:
            yield from self.flush()

    def flush(self) -> Iterator[Batch]:
        if self.parts:
            yield Batch(_columns_to_frame(_merge_columns(self.parts)), self.take_errors())
        elif self.errors:
            yield Batch(empty_frame(), self.take_errors())
        self.parts, self.rows = [], 0


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
        batch_size=sys.maxsize,  # one frame for everything (a JSON Lines file adds its own)
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
