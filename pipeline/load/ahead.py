"""Parse the start of an input in one forked worker while this process is busy elsewhere.

Why: `score predict` spends about a second of one core importing scikit-learn and unpickling
the model, and that cannot move into the workers (they are forked after it, to inherit the
model; importing it in each would cost that second again per worker). On a 2-core machine the
other core would idle meanwhile. A :class:`ParseAhead` started before the model load has it
parse the first units until :meth:`~ParseAhead.take` is called; then
:func:`pipeline.load.units.iter_parts` hands those parsed units to the scoring workers first (they
only unpickle and score them) and the rest after. Output, its order and errors are the same
as without it.

The worker keeps what it parsed (pickled, one part per unit) and sends it all in one message
when asked. Sent unit by unit instead, each result waited on this process's import, which
holds the GIL: the worker idled 0.1-0.3 s per unit with its pipe full. It is ended, and its
pool's thread joined, before the scoring workers are forked. If it dies (killed), nothing is
lost: its units are parsed by the scoring workers instead.
"""

from __future__ import annotations

import functools
import multiprocessing
import pickle
from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.errors import LoadError, WorkerDiedError
from pipeline.load.units import (
    CHUNK_SIZE,
    PARALLEL_THRESHOLD,
    ParsedUnit,
    ParseSettings,
    Part,
    Unit,
    error_part,
    iter_units,
    merge_parts,
    parse_unit,
    unit_size,
    unit_slice,
)
from pipeline.parallel.pool import OrderedPool

# Units the worker may parse before it is told to stop: 5 units of 2,000 Markdown files take it
# ~1.5 s, more than a model load (~1.2 s; 6,000-7,000 records were parsed by then, measured).
# The head is walked before the worker starts, so it is not made larger than needed. Lines of
# JSON Lines and archive members in the head are held in memory: at most AHEAD_BYTES of them.
AHEAD_UNITS = 5
AHEAD_BYTES = 32 * 1024 * 1024
# Files or lines the worker parses between looks at the stop flag (~40 ms of work): asked to
# stop, it hands over what it has soon, and the rest of that unit goes to the scoring workers.
STOP_EVERY = 250


def _parse_head(
    head: list[Unit | LoadError], settings: ParseSettings, stop: Any, _: object
) -> tuple[list[ParsedUnit], int]:
    """Worker task: parse ``head`` until ``stop`` is set; one parsed unit per unit reached.

    Returns them and, when the last one covers only the start of its unit, how many files or
    lines of it (else 0).
    """
    parsed: list[ParsedUnit] = []
    for item in head:
        if stop.value:
            break
        if isinstance(item, LoadError):
            parsed.append(_pickled(error_part(item), 0))
            continue
        size = unit_size(item)[0]
        pieces = []
        for start in range(0, size, STOP_EVERY):
            if pieces and stop.value:
                parsed.append(_pickled(merge_parts(pieces), start))
                return parsed, start
            pieces.append(parse_unit(unit_slice(item, start, start + STOP_EVERY), settings))
        parsed.append(_pickled(merge_parts(pieces), size))
    return parsed, 0


def _pickled(part: Part, records: int) -> ParsedUnit:
    return ParsedUnit(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL), records)


class ParseAhead:
    """The start of ``paths`` (up to ``units`` units), parsed in one forked worker from now on.

    Nothing is started for an input under ``PARALLEL_THRESHOLD`` files or lines (a fork costs
    more than it saves there): :meth:`take` is then empty and :meth:`rest` is the whole input.
    Use as a context manager, so the worker ends however the caller leaves.
    """

    def __init__(
        self,
        paths: Iterable[str] | str,
        settings: ParseSettings | None = None,
        *,
        chunk_size: int = CHUNK_SIZE,
        units: int = AHEAD_UNITS,
    ) -> None:
        settings = settings or ParseSettings()
        self._units = iter_units(paths, settings.limits, chunk_size)
        self._head: list[Unit | LoadError] = []
        records = held = 0
        while len(self._head) < units and held < AHEAD_BYTES:
            unit = next(self._units, None)
            if unit is None:
                break
            self._head.append(unit)
            if not isinstance(unit, LoadError):
                size, nbytes = unit_size(unit)
                records, held = records + size, held + nbytes
        self._pool: OrderedPool | None = None
        self._taken = False
        self.started = records >= PARALLEL_THRESHOLD  # a worker parses the head
        if self.started:
            self._stop = multiprocessing.get_context("fork").RawValue("b", 0)
            # The head reaches the worker through fork, not pickled (archive members are bytes).
            task = functools.partial(_parse_head, self._head, settings, self._stop)
            try:
                self._pool = OrderedPool(task, 1, fork=True, max_bytes=0)
                for _ in self._pool.submit(None):  # nothing can be ready yet
                    raise AssertionError("a result before the first task")
            except BaseException:  # e.g. Ctrl-C: no caller holds this object to close it yet
                self.close()
                raise

    def take(self) -> list[ParsedUnit]:
        """Stop the worker after its current piece; the units it parsed, in input order.

        The worker ends here. If it died, nothing was parsed ahead: :meth:`rest` is then the
        whole input (a crash that recurs will be met, and reported, by whoever parses it).
        """
        if self._taken:
            raise RuntimeError("ParseAhead.take() called twice")
        self._taken = True
        if self._pool is None:
            return []
        self._stop.value = 1
        try:
            ((parsed, covered),) = self._pool.drain()
        except WorkerDiedError:
            return []
        finally:
            self.close()
        reached = len(parsed)
        rest = self._head[reached:]  # what the worker did not reach...
        if covered:  # ... and the end of the unit it was stopped in
            rest.insert(0, unit_slice(self._head[reached - 1], covered))
        self._head = rest
        return parsed

    def rest(self) -> Iterator[Unit | LoadError]:
        """The units not parsed ahead, in input order (call after :meth:`take`)."""
        if not self._taken:
            raise RuntimeError("ParseAhead.rest() before take()")
        head, self._head = self._head, []
        yield from head
        yield from self._units

    def close(self) -> None:
        """End the worker (parts not taken are dropped)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
