"""Apply a task to a stream of items in order: here for a small input, in a pool for a large one.

Why lazily: forking workers costs more than parsing a few hundred records, and the size of the
input is only known as it is walked. Items wait here until ``threshold`` records or
``max_bytes`` of input are queued (or the caller fixed ``jobs``); only then is the pool
chosen, and the queued items go to it first. Results always come out in input order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from pipeline.parallel.pool import OrderedPool


class OrderedStream:
    """Feed items with :meth:`add` (or ready results with :meth:`add_result`); each call yields
    the results that are ready, in order; :meth:`finish` yields the rest.

    Memory stays bounded: the queue before the pool holds at most ``threshold`` records or
    ``max_bytes``, and the pool keeps at most ``2 x jobs + 1`` items and ``max_bytes`` in
    flight. Use as a context manager: leaving it ends the workers, finished or not.
    """

    def __init__(
        self,
        task: Callable[[Any], Any],
        *,
        jobs: int | None,
        threshold: int,
        max_bytes: int,
        setup: Callable[[], None] | None = None,
    ) -> None:
        self.task = task
        self.jobs = jobs
        self.threshold = threshold
        self.max_bytes = max_bytes
        self.setup = setup
        self.queued: list[tuple[Any, int, bool]] = []  # before the pool: (item, bytes, done)
        self.queued_records = 0
        self.queued_bytes = 0
        self.pool: OrderedPool | None = None

    def __enter__(self) -> OrderedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.close()  # also when the consumer stops early: no orphan workers

    @property
    def held_bytes(self) -> int:
        """Bytes of input queued or in flight (archive members read but not yet parsed)."""
        in_pool = self.pool.held_bytes if self.pool is not None else 0
        return self.queued_bytes + in_pool

    def add(self, item: Any, *, records: int, nbytes: int) -> Iterator[Any]:
        """Queue ``item`` (``records`` files or lines, ``nbytes`` of input held in memory)."""
        if self.pool is not None:
            yield from self.pool.submit(item, nbytes)
            return
        self.queued.append((item, nbytes, False))
        self.queued_records += records
        self.queued_bytes += nbytes
        if (
            self.jobs is not None
            or self.queued_records >= self.threshold
            or self.queued_bytes >= self.max_bytes
        ):
            yield from self._start_pool(self.jobs or os.cpu_count() or 1)

    def add_result(self, value: Any) -> Iterator[Any]:
        """Queue a result known already (e.g. an error found while walking), in its place."""
        if self.pool is None:
            self.queued.append((value, 0, True))
        else:
            yield from self.pool.put_result(value)

    def finish(self) -> Iterator[Any]:
        """Every remaining result, in order."""
        if self.pool is None:
            yield from self._start_pool(self.jobs or 1)
        assert self.pool is not None
        yield from self.pool.drain()

    def _start_pool(self, jobs: int) -> Iterator[Any]:
        self.pool = OrderedPool(self.task, jobs, max_bytes=self.max_bytes, setup=self.setup)
        queued, self.queued = self.queued, []
        self.queued_records = self.queued_bytes = 0
        for item, nbytes, done in queued:
            if done:
                yield from self.pool.put_result(item)
            else:
                yield from self.pool.submit(item, nbytes)
