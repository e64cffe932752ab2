"""An ordered, bounded pool of forked workers: tasks go out in order and come back in order.

Why not ``multiprocessing.Pool.imap`` or joblib: ``imap`` reads its whole input ahead (a dump of
millions of files would sit in memory as tasks), joblib's fork backend cannot stream results
and its loky backend starts fresh interpreters (~0.6 s to import pandas in each, per run). Here
at most ``2 * jobs + 1`` tasks (and at most ``max_bytes`` of their input) are in flight, so the
caller's walk, the workers and the caller's unpickling overlap with flat memory.

Workers are forked: they start in milliseconds with everything already imported, and the task
and its setup are inherited, not pickled. Fork copies only the calling thread, so a task must
not need this process's other threads or locks they may hold (the progress bar's monitor
thread, for one); parsing and scoring need neither. A worker killed midway is reported
(:class:`~pipeline.errors.WorkerDiedError`), and the workers end with this process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pipeline._compat import executor_processes, kill_executor
from pipeline.errors import WorkerDiedError

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
LIVENESS_POLL = 1.0  # seconds a wait for a result lasts before the workers are looked at
_WORKER_TASK: Callable[[Any], Any] | None = None  # this worker's task, inherited by fork


def _install(task: Callable[[Any], Any], setup: Callable[[], None] | None, parent: int) -> None:
    global _WORKER_TASK
    _end_with_parent(parent)
    # Ctrl-C reaches the whole process group: the parent stops the workers itself, so they
    # must not each die printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):  # not the parent's clean stop: just end
        signal.signal(number, signal.SIG_DFL)
    _WORKER_TASK = task
    if setup is not None:
        setup()


def _end_with_parent(parent: int) -> None:
    """Linux: have the kernel end this worker when its parent dies, even by SIGKILL.

    Otherwise a killed ``score predict`` leaves its workers waiting on a queue for good.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: workers may outlive
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _run(item: Any) -> Any:
    assert _WORKER_TASK is not None
    return _WORKER_TASK(item)


class _Done:
    """A result known without a worker (e.g. an error found while walking), kept in order."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None) -> Any:
        return self.value


class OrderedPool:
    """Apply ``task`` to each submitted item in ``jobs`` forked workers; results in order.

    ``setup`` runs once in each worker (e.g. to limit its threads). ``jobs`` 1 runs each task
    here, at once, unless ``fork`` asks for one worker (to work while this process does
    something else). Use as a context manager: leaving it (also by an exception, or a consumer
    that stops early) terminates the workers.
    """

    def __init__(
        self,
        task: Callable[[Any], Any],
        jobs: int,
        *,
        max_bytes: int,
        setup: Callable[[], None] | None = None,
        fork: bool | None = None,
    ) -> None:
        self.task = task
        self.jobs = jobs
        self.max_bytes = max_bytes
        self.pool: ProcessPoolExecutor | None = None
        if jobs > 1 if fork is None else fork:
            # Forked workers all start at the first submit, before the executor starts its
            # thread (the executor forks them all at once for the fork context). The task
            # (a closure, a bound method holding a model...) reaches them through fork, never
            # pickled; only each item and its result are. Unlike multiprocessing.Pool, which
            # waits forever for the task of a worker killed by the OOM killer, the executor
            # reports a dead worker (BrokenProcessPool).
            self.pool = ProcessPoolExecutor(
                jobs,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_install,
                initargs=(task, setup, os.getpid()),
            )
        self.in_flight: deque[tuple[Any, int]] = deque()  # (future, input bytes)
        self.in_flight_bytes = 0

    def __enter__(self) -> OrderedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the workers now, finished or not (results not taken yet are dropped)."""
        if self.pool is None:
            return
        pool, self.pool = self.pool, None
        kill_executor(pool)
        self.in_flight.clear()
        self.in_flight_bytes = 0

    def submit(self, item: Any, nbytes: int = 0) -> Iterator[Any]:
        """Queue ``item``; yields earlier results that must be taken first (back-pressure)."""
        if self.pool is None:
            self.in_flight.append((_Done(self.task(item)), 0))
            yield from self.ready()
            return
        while not self._has_room(nbytes):
            yield self._collect()
        try:
            future = self.pool.submit(_run, item)
        except BrokenProcessPool:  # a worker died since the last result was taken
            raise _worker_died() from None
        self.in_flight.append((future, nbytes))
        self.in_flight_bytes += nbytes
        yield from self.ready()

    def _has_room(self, nbytes: int) -> bool:
        """Whether one more item of ``nbytes`` fits in flight (an empty pool takes any)."""
        return not self.in_flight or (
            len(self.in_flight) <= 2 * self.jobs and self.in_flight_bytes + nbytes <= self.max_bytes
        )

    def put_result(self, value: Any) -> Iterator[Any]:
        """Queue a result computed here, after everything submitted before it."""
        self.in_flight.append((_Done(value), 0))
        yield from self.ready()

    def ready(self) -> Iterator[Any]:
        """Results that are done, in order, stopping at the first one still running."""
        while self.in_flight and self.in_flight[0][0].done():
            yield self._collect()

    def drain(self) -> Iterator[Any]:
        """Every remaining result, in order (waits for the workers)."""
        while self.in_flight:
            yield self._collect()

    @property
    def held_bytes(self) -> int:
        return self.in_flight_bytes

    def _collect(self) -> Any:
        result, nbytes = self.in_flight.popleft()
        self.in_flight_bytes -= nbytes
        try:
            while True:
                try:
                    return result.result(timeout=LIVENESS_POLL)
                except FuturesTimeout:
                    if self._a_worker_died():
                        raise _worker_died() from None
        except BrokenProcessPool:
            raise _worker_died() from None

    def _a_worker_died(self) -> bool:
        """Whether a worker process has ended (they end only when the pool is shut down).

        The executor reports a dead worker itself, except one killed while sending its
        result: its thread then waits for the rest of that message for good (seen: a hang in
        about 1 run in 10 when a worker was killed). So a long wait looks at the processes.
        """
        return any(process.exitcode is not None for process in executor_processes(self.pool))


def _worker_died() -> WorkerDiedError:
    return WorkerDiedError(
        "a worker process died before finishing its share (killed? out of memory?); "
        "try fewer --jobs or a smaller --batch-size"
    )
