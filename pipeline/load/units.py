"""Units of work: the input cut into runs of files or chunks of lines, each parsed on its own.

Why units: parsing is most of the cost of loading, and a unit can be parsed anywhere -- here,
in a forked worker, on a Dask worker -- and its typed columns sent back. The walk cuts units
in input order, so the results, put back in that order, are what one process would produce.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from pipeline.errors import LoadError
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.load.columns import merge_columns, records_to_columns
from pipeline.load.normalize import PROBLEMS, Record, related_rows
from pipeline.load.parse import LinesChunk, jsonl_chunks, parse_lines, parse_source
from pipeline.load.sources import Source
from pipeline.load.walk import iter_sources
from pipeline.parallel.stream import OrderedStream

PARALLEL_THRESHOLD = 2_000  # files or JSON Lines lines; fewer: workers cost more than they save
CHUNK_SIZE = 250  # files (or lines) per worker task when loading


def as_path_list(paths: Iterable[str] | str) -> list[str]:
    """One path or many: a bare string is one path, not a sequence of characters."""
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(path) for path in paths]


Unit = list[Source] | LinesChunk  # what one task parses: some files, or lines of one JSONL
Part = tuple[dict[str, Any], list[LoadError]]  # a parsed unit: typed columns and its errors


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
            for problem in item.pop(PROBLEMS, ()):  # kept, with what was wrong in it reported
                errors.append(LoadError(item["source"], problem))
            records.append(item)
            if settings.expand_related:
                records.extend(related_rows(item))
    return records_to_columns(records), errors


def error_part(error: LoadError) -> Part:
    """The part of an input error found while walking: no rows, the error in its place."""
    return records_to_columns([]), [error]


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
    return merge_columns([columns for columns, _ in parts]), [e for _, errs in parts for e in errs]


def _parse_and_finish(
    settings: ParseSettings, finish: Callable[[Part], Any] | None, unit: Unit
) -> Any:
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
) -> Iterator[Any]:
    """Parse the input unit by unit, in input order, here or in forked workers; yield each part.

    A unit is up to ``chunk_size`` files, or as many lines of one JSON Lines source (so a
    single huge dump is parsed in parallel too, while this process only splits its lines).
    ``finish`` (e.g. scoring) runs on each part where it was parsed, so only its result
    crosses between processes; ``setup`` runs once in each worker. With ``jobs`` None, workers
    start only once ``PARALLEL_THRESHOLD`` files or lines wait (a small input never pays for
    them; a JSON array or an archive counts as one file until its members are listed).
    Errors found while walking come out in order too, as parts without rows.
    """
    task = functools.partial(_parse_and_finish, settings, finish)
    stream = OrderedStream(
        task,
        jobs=jobs,
        threshold=PARALLEL_THRESHOLD,
        max_bytes=settings.limits.max_archive_bytes,
        setup=setup,
    )
    with stream:
        for unit in iter_units(paths, settings.limits, chunk_size):
            if isinstance(unit, LoadError):
                part = error_part(unit)
                yield from stream.add_result(part if finish is None else finish(part))
            else:
                records, nbytes = unit_size(unit)
                yield from stream.add(unit, records=records, nbytes=nbytes)
        yield from stream.finish()


def iter_units(
    paths: Iterable[str] | str, limits: Limits = DEFAULT_LIMITS, chunk_size: int = CHUNK_SIZE
) -> Iterator[Unit | LoadError]:
    """The input in order as units of work, for this machine's workers or a cluster's.

    Runs of files are cut every ``chunk_size`` files or ``max_batch_bytes`` (their size on disk,
    or the bytes of archive members the walk read into memory); each JSON Lines source
    becomes chunks of ``chunk_size`` lines or ``max_batch_bytes`` (read here, so one huge dump
    is spread across workers); errors found while walking come in their place. So what one
    unit holds is bounded by the caps, however large each record is.
    """
    chunk_size = max(1, chunk_size)
    cut = min(limits.max_batch_bytes, limits.max_archive_bytes)
    group: list[Source] = []
    held = 0
    for item in iter_sources(as_path_list(paths), limits):
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
        held += len(item.data) if item.data is not None else item.size
        if len(group) >= chunk_size or held >= cut:
            yield group
            group, held = [], 0
    if group:
        yield group
