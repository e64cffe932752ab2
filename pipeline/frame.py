"""Records to DataFrames: the schema applied, batches streamed, duplicates and related rows.

The one-shot :func:`load_records` is built on the streaming :func:`iter_batches`, so a dump far
larger than memory can be scored batch by batch with flat memory, and a small corpus loads in
one call. Parsing runs in forked worker processes when the input is large.
"""

from __future__ import annotations

import functools
import itertools
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import pandas as pd

from pipeline.errors import LoadError, StrictModeError
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.pool import OrderedPool
from pipeline.records import (
    LinesChunk,
    Record,
    jsonl_chunks,
    parse_lines,
    parse_source,
    related_rows,
)
from pipeline.schema import COLUMNS
from pipeline.sources import Source, iter_sources

DuplicateRule = Literal["mark", "drop", "keep"]
DEFAULT_BATCH_SIZE = 2_000
PARALLEL_THRESHOLD = 2_000  # files or JSON Lines lines; fewer: workers cost more than they save
CHUNK_SIZE = 250  # files (or lines) per worker task when loading


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
    return columns_to_frame(_records_to_columns(records))


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


def columns_to_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """The frame of a parsed unit's columns (see :func:`parse_unit`)."""
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object) if isinstance(values, list) else values
            for name, values in columns.items()
        }
    )


Unit = list[Source] | LinesChunk  # what one task parses: some files, or lines of one JSONL
Part = tuple[dict[str, Any], list[LoadError]]  # a parsed unit: typed columns and its errors


@dataclass(frozen=True)
class ParsedUnit:
    """A unit parsed already (ahead, in another worker), pickled: only finishing is left.

    It travels as bytes, so the process that hands it on never unpickles it.
    """

    data: bytes  # the pickled Part
    records: int  # files or lines it was parsed from


@dataclass(frozen=True)
class ParseSettings:
    """How records are parsed (the same in this process and in every worker)."""

    limits: Limits = DEFAULT_LIMITS
    expand_related: bool = False
    yaml_backend: str = "auto"


def parse_unit(unit: Unit, settings: ParseSettings = ParseSettings()) -> Part:
    """Parse one unit into typed columns (cheap to send back from a worker) and its errors."""
    records: list[Record] = []
    errors: list[LoadError] = []
    if isinstance(unit, LinesChunk):
        items: Iterable[Record | LoadError] = parse_lines(unit, settings.limits)
    else:
        items = (
            item
            for source in unit
            for item in parse_source(source, settings.limits, yaml_backend=settings.yaml_backend)
        )
    for item in items:
        if isinstance(item, LoadError):
            errors.append(item)
        else:
            records.append(item)
            if settings.expand_related:
                records.extend(related_rows(item))
    return _records_to_columns(records), errors


def error_part(error: LoadError) -> Part:
    """The part of an input error found while walking: no rows, the error in its place."""
    return _records_to_columns([]), [error]


def unit_size(unit: Unit) -> tuple[int, int]:
    """(files or lines, bytes of archive members or lines held in memory) of one unit."""
    if isinstance(unit, LinesChunk):
        return len(unit.items), unit.nbytes
    return len(unit), sum(len(source.data) for source in unit if source.data is not None)


def unit_slice(unit: Unit, start: int, stop: int | None = None) -> Unit:
    """Files or lines ``start:stop`` of ``unit``, as a unit of their own (line numbers kept)."""
    if isinstance(unit, LinesChunk):
        items = unit.items[start:stop]
        return replace(unit, first_line=unit.first_line + start, items=items)
    return unit[start:stop]


def merge_parts(parts: list[Part]) -> Part:
    """One part from consecutive parts: columns joined, errors in order."""
    return _merge_columns([columns for columns, _ in parts]), [e for _, errs in parts for e in errs]


def _parse_and_finish(
    settings: ParseSettings, finish: Callable[[Part], Any] | None, unit: Unit | ParsedUnit
) -> Any:
    if isinstance(unit, ParsedUnit):
        part: Part = pickle.loads(unit.data)
    else:
        part = parse_unit(unit, settings)
    return part if finish is None else finish(part)


def iter_parts(
    paths: Iterable[str] | str,
    settings: ParseSettings = ParseSettings(),
    *,
    jobs: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    finish: Callable[[Part], Any] | None = None,
    setup: Callable[[], None] | None = None,
    ahead: ParsedAhead | None = None,
) -> Iterator[Any]:
    """Parse the input unit by unit, in input order, here or in forked workers; yield each part.

    A unit is up to ``chunk_size`` files, or as many lines of one JSON Lines source (so a
    single huge dump is parsed in parallel too, while this process only splits its lines).
    ``finish`` (e.g. scoring) runs on each part where it was parsed, so only its result
    crosses between processes; ``setup`` runs once in each worker. With ``jobs`` None, workers
    start only once ``PARALLEL_THRESHOLD`` files or lines wait (a small input never pays for
    them; a JSON array or an archive counts as one file until its members are listed).
    Errors found while walking come out in order too, as parts without rows. With ``ahead``
    (made from the same ``paths``), the units it parsed go first, to be finished like the rest.
    """
    with _StreamParser(settings, jobs, finish, setup) as parser:
        if ahead is None:
            units = iter_units(paths, settings.limits, chunk_size)
        else:
            for parsed in ahead.take():
                yield from parser.add(parsed)
            units = ahead.rest()
        for unit in units:
            yield from parser.add(unit)
        yield from parser.finish()


class ParsedAhead(Protocol):
    """The start of an input parsed already (see :class:`pipeline.ahead.ParseAhead`)."""

    def take(self) -> list[ParsedUnit]:
        """The units parsed ahead, in order (stops the parsing ahead)."""

    def rest(self) -> Iterator[Unit | LoadError]:
        """The units not parsed ahead, in order."""


def iter_units(
    paths: Iterable[str] | str, limits: Limits = DEFAULT_LIMITS, chunk_size: int = CHUNK_SIZE
) -> Iterator[Unit | LoadError]:
    """The input in order as units of work, for this machine's workers or a cluster's.

    Runs of files are cut every ``chunk_size`` files, or as soon as the archive members among
    them hold ``max_archive_bytes`` (members are read into memory by the walk); each JSON Lines
    source becomes chunks of ``chunk_size`` lines (read here, so one huge dump is spread
    across workers); errors found while walking come in their place.
    """
    chunk_size = max(1, chunk_size)
    group: list[Source] = []
    held = 0
    for item in iter_sources(_as_path_list(paths), limits):
        if isinstance(item, LoadError) or item.kind == "jsonl":
            if group:
                yield group
                group, held = [], 0
            if isinstance(item, LoadError):
                yield item
            else:
                yield from jsonl_chunks(item, limits, chunk_size)
            continue
        group.append(item)
        held += len(item.data) if item.data is not None else 0
        if len(group) >= chunk_size or held >= limits.max_archive_bytes:
            yield group
            group, held = [], 0
    if group:
        yield group


class _StreamParser:
    """Sends units to an :class:`OrderedPool`, chosen lazily: in this process for a small input.

    Memory stays bounded: files on disk are read by the workers; archive members (held here
    as bytes) wait at most ``max_archive_bytes`` before the pool is chosen, and the pool keeps
    at most ``2 x jobs + 1`` units and ``max_archive_bytes`` of members in flight. So about
    twice ``max_archive_bytes`` of archive members at most are held at once, whatever the
    number of archives.
    """

    def __init__(
        self,
        settings: ParseSettings,
        jobs: int | None,
        finish: Callable[[Part], Any] | None,
        setup: Callable[[], None] | None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.finish_part = finish
        self.setup = setup
        self.max_held = settings.limits.max_archive_bytes
        self.queued: list[tuple[Any, int, bool]] = []  # before the pool: (item, bytes, done)
        self.queued_records = 0
        self.queued_bytes = 0
        self.pool: OrderedPool | None = None

    def __enter__(self) -> _StreamParser:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.close()  # also when the consumer stops early: no orphan workers

    @property
    def held_bytes(self) -> int:
        """Bytes of archive members read but not yet parsed (queued or in flight)."""
        in_pool = self.pool.held_bytes if self.pool is not None else 0
        return self.queued_bytes + in_pool

    def add(self, unit: Unit | ParsedUnit | LoadError) -> Iterator[Any]:
        if isinstance(unit, LoadError):
            yield from self._put_error(unit)
        elif isinstance(unit, ParsedUnit):
            yield from self._submit(unit, len(unit.data), unit.records)
        else:
            records, nbytes = unit_size(unit)
            yield from self._submit(unit, nbytes, records)

    def finish(self) -> Iterator[Any]:
        if self.pool is None:
            yield from self._start_pool(self.jobs or 1)
        assert self.pool is not None
        yield from self.pool.drain()

    def _put_error(self, error: LoadError) -> Iterator[Any]:
        part = error_part(error)
        value = part if self.finish_part is None else self.finish_part(part)
        if self.pool is None:
            self.queued.append((value, 0, True))
        else:
            yield from self.pool.put_result(value)

    def _submit(self, unit: Unit | ParsedUnit, nbytes: int, records: int) -> Iterator[Any]:
        if self.pool is not None:
            yield from self.pool.submit(unit, nbytes)
            return
        self.queued.append((unit, nbytes, False))
        self.queued_records += records
        self.queued_bytes += nbytes
        if (
            self.jobs is not None
            or self.queued_records >= PARALLEL_THRESHOLD
            or self.queued_bytes >= self.max_held
        ):
            yield from self._start_pool(self.jobs or os.cpu_count() or 1)

    def _start_pool(self, jobs: int) -> Iterator[Any]:
        task = functools.partial(_parse_and_finish, self.settings, self.finish_part)
        self.pool = OrderedPool(task, jobs, max_bytes=self.max_held, setup=self.setup)
        queued, self.queued = self.queued, []
        self.queued_records = self.queued_bytes = 0
        for item, nbytes, done in queued:
            if done:
                yield from self.pool.put_result(item)
            else:
                yield from self.pool.submit(item, nbytes)


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
    returned in each batch. Rows and errors come out in the order of the input, whatever
    ``jobs`` is.
    """

    def report(errors: list[LoadError]) -> None:
        for error in errors:
            if strict:
                raise StrictModeError(error)
            if on_error is not None:
                on_error(error)

    settings = ParseSettings(limits, expand_related, yaml_backend)
    batches = _Rebatcher(batch_size, report)
    chunk_size = max(1, min(batch_size, CHUNK_SIZE))
    for part in iter_parts(paths, settings, jobs=jobs, chunk_size=chunk_size):
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
            yield Batch(columns_to_frame(_merge_columns(self.parts)), self.take_errors())
        elif self.errors:
            yield Batch(empty_frame(), self.take_errors())
        self.parts, self.rows = [], 0


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
