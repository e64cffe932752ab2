"""Records to DataFrames: the stream of batches, and the one-shot load built on it.

The one-shot :func:`load_records` is built on the streaming :func:`iter_batches`, so a dump far
larger than memory can be scored batch by batch with flat memory, and a small corpus loads in
one call. Parsing runs in forked worker processes when the input is large.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.choices import DEFAULT_BATCH_SIZE, DuplicateRule
from pipeline.errors import ErrorReport, LoadError, StrictModeError
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.load.columns import columns_to_frame, empty_frame, merge_columns
from pipeline.load.duplicates import mark_duplicates
from pipeline.load.units import CHUNK_SIZE, ParseSettings, Part, as_path_list, iter_parts


@dataclass
class Batch:
    """One batch of the stream: the records read so far as a frame, and the errors beside them."""

    frame: pd.DataFrame
    errors: ErrorReport = field(default_factory=ErrorReport)


@dataclass
class LoadResult:
    """Everything a load produced: the frame of good records and the report of bad inputs
    (every one counted, the first ``MAX_HELD_ERRORS`` held: pass ``on_error`` for all)."""

    frame: pd.DataFrame
    errors: ErrorReport = field(default_factory=ErrorReport)

    @property
    def ok(self) -> bool:
        return not self.errors


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
        self.errors = ErrorReport()
        self.rows = 0

    def add_errors(self, errors: list[LoadError]) -> None:
        self.report(errors)
        self.errors.extend(errors)

    def take_errors(self) -> ErrorReport:
        errors, self.errors = self.errors, ErrorReport()
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
            yield Batch(columns_to_frame(merge_columns(self.parts)), self.take_errors())
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
    paths = as_path_list(paths)
    frames: list[pd.DataFrame] = []
    errors = ErrorReport()
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
