"""The engines of `score predict`: this machine's worker processes, or a Dask cluster.

Both parse a share of the input and score it where it was parsed (:class:`Scorer` travels to
the workers once), and both yield :class:`ScoredBatch` in input order, so the driver writes
identical tables whichever engine ran.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.choices import DEFAULT_BATCH_SIZE
from pipeline.errors import LoadError, ScoringError, one_line
from pipeline.limits import DEFAULT_LIMITS
from pipeline.load.columns import columns_to_frame
from pipeline.load.units import Part, Unit, iter_parts, iter_units, parse_unit
from pipeline.predict.scorer import ScoredBatch, Scorer


def local_batches(
    scorer: Scorer,
    paths: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int | None = None,
) -> Iterator[ScoredBatch]:
    """Parse and score the input unit by unit, in input order (see :func:`iter_parts`).

    Each unit (``batch_size`` files, or as many lines of a JSON Lines dump) is scored where
    it was parsed: in forked workers when the input is large (``jobs`` None: all cores), so
    only the few output columns cross between processes. Each worker predicts on one thread:
    the workers already fill the cores.
    """
    yield from iter_parts(
        paths,
        jobs=jobs,
        chunk_size=batch_size,
        finish=functools.partial(_score_part, scorer),
        setup=_one_thread_per_worker,
    )


def _score_part(scorer: Scorer, part: Part) -> ScoredBatch:
    columns, errors = part
    frame = columns_to_frame(columns)
    out, score_errors = scorer.score(frame)
    return ScoredBatch(out, [*errors, *score_errors], len(frame))


_THREAD_LIMIT: Any = None


def _one_thread_per_worker() -> None:
    """Worker setup: OpenMP/BLAS pools of one thread (kept referenced for the worker's life)."""
    global _THREAD_LIMIT
    from threadpoolctl import threadpool_limits

    _THREAD_LIMIT = threadpool_limits(limits=1)


def score_unit(unit: Unit, scorer: Scorer) -> ScoredBatch:
    """Dask task: parse a share of the input and score it (as the local engine does)."""
    return _score_part(scorer, parse_unit(unit))


def dask_batches(
    scorer: Scorer,
    paths: Sequence[str],
    *,
    scheduler: str | None = None,
    workers: int = 2,
    chunk: int = DEFAULT_BATCH_SIZE,
    client: Any = None,
) -> Iterator[ScoredBatch]:
    """Score on a Dask cluster: the scorer is sent once, each task parses and scores a share.

    Results come back in input order; at most a few tasks per worker are in flight, so the
    driver's memory stays bounded. Without ``scheduler`` (or ``client``) a LocalCluster of
    ``workers`` processes is started for the run and closed afterwards.
    """
    from distributed import Client, LocalCluster

    own_cluster = own_client = None
    if client is None:
        if scheduler is None:
            own_cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = own_client = Client(own_cluster)
        else:
            try:
                client = own_client = Client(scheduler, timeout="10s")
            except (OSError, ValueError) as exc:  # TimeoutError is an OSError
                reason = one_line(f"{type(exc).__name__}: {exc}", 200)
                raise ScoringError(
                    f"cannot reach the Dask scheduler {scheduler} ({reason})"
                ) from exc
    try:
        yield from _gather_in_order(client, scorer, paths, chunk)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _gather_in_order(
    client: Any, scorer: Scorer, paths: Sequence[str], chunk: int
) -> Iterator[ScoredBatch]:
    shared = client.scatter(scorer, broadcast=True)
    window = max(2, 3 * len(client.scheduler_info().get("workers", {}) or [0]))
    pending: deque[Any] = deque()
    for part in iter_units(paths, DEFAULT_LIMITS, chunk):
        if isinstance(part, LoadError):
            pending.append(ScoredBatch(scorer.empty(), [part], 0))
        else:
            pending.append(client.submit(score_unit, part, shared, pure=False))
        while len(pending) > window:
            yield _result(pending.popleft())
    while pending:
        yield _result(pending.popleft())


def _result(item: Any) -> ScoredBatch:
    return item if isinstance(item, ScoredBatch) else item.result()
