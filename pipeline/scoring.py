"""Batch prediction: score records batch by batch, write one table, optionally write back.

Why this shape
--------------
* **Streaming**: records arrive as frames from :func:`pipeline.frame.iter_batches` (local engine)
  or as per-partition frames scored on Dask workers (dask engine); each scored batch is written
  and dropped, so memory stays flat however large the dump is.
* **One scorer, two engines**: :class:`Scorer` (model + options, picklable) turns a frame of
  records into output rows. The local engine calls it in this process; the dask engine ships it
  once to every worker (``client.scatter``) and calls it there on each partition of input
  sources. Both yield :class:`ScoredBatch` in input order and the same driver
  (:func:`run_predict`) writes them, so both engines produce identical tables.
* **Nothing is touched when the model is wrong**: the CLI loads and checks the artifact (and
  the interval calibration) before any input is read or any output/write-back file is opened.
* **Local parallelism**: each unit of input is parsed and scored in the same forked worker
  (:func:`pipeline.frame.iter_parts`), so records never cross between processes: only the
  output rows do. Workers predict on one thread each; fork is safe here because workers only
  parse and predict (no threads of this process are needed in them).
* **Write-back** is per file and atomic (:func:`pipeline.writeback.write_back`): a crash midway
  leaves every file either fully updated or byte-identical.
"""

from __future__ import annotations

import functools
import math
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import LoadError, one_line
from pipeline.frame import (
    DEFAULT_BATCH_SIZE,
    ParsedAhead,
    Part,
    Unit,
    columns_to_frame,
    iter_batches,
    iter_parts,
    iter_units,
    parse_unit,
    records_to_frame,
)
from pipeline.limits import DEFAULT_LIMITS
from pipeline.outputs import TableWriter
from pipeline.sources import MARKDOWN_SUFFIXES
from pipeline.writeback import WriteBackError, write_back

# Output columns, in order. Interval and explanation columns are appended when asked for.
ID_COLUMNS: tuple[str, ...] = ("id", "source", "site", "url", "title", "provider_domain")
PRED = "quality_pred"
LOW, HIGH, WHY = "quality_low", "quality_high", "why"
DEFAULT_WRITE_FIELD = PRED
DEFAULT_LEVEL = 0.9
DEFAULT_TOP = 3
REFERENCE_ROWS = 512  # records the fallback explanation reference is taken from
DASK_CHUNK = 1_000  # files or JSON Lines lines per Dask task (a predict call costs ~10 ms itself)
MINUS = "\N{MINUS SIGN}"
SUBSTITUTION_ROWS = 50_000  # rows per stacked explanation prediction (memory vs. calls)
MAX_FAILURES_IN_A_ROW = 20  # a model failing on this many records in a row is broken itself


class ScoringError(ValueError):
    """The scoring cannot start (e.g. the model has no interval calibration); one line."""


# ---- prediction intervals -------------------------------------------------------------------
def conformal_halfwidth(residuals: Sequence[float] | np.ndarray, level: float) -> float:
    """Split-conformal half-width: the ceil((n+1)·level)-th smallest absolute residual.

    With residuals from data the model did not train on (held-out or out-of-fold), the interval
    ``pred ± halfwidth`` covers a new record's true value with probability >= ``level``
    (exchangeability). Returns ``inf`` when there are too few residuals for that guarantee.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    r = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    r = r[np.isfinite(r)]
    n = len(r)
    rank = math.ceil((n + 1) * level)
    if n == 0 or rank > n:
        return math.inf
    return float(r[rank - 1])


def interval_halfwidth(metadata: Mapping[str, Any], level: float) -> float:
    """The calibrated half-width at ``level`` from an artifact's metadata.

    Reads ``metadata["intervals"]`` (level -> half-width, keys like "0.9"), else computes it from
    ``metadata["conformal_residuals"]``. Raises :class:`ScoringError` when neither is there.
    """
    intervals = metadata.get("intervals")
    if isinstance(intervals, Mapping):
        for key, value in intervals.items():
            try:
                if math.isclose(float(key), level) and value is not None:
                    return float(value)
            except (TypeError, ValueError):
                continue
    residuals = metadata.get("conformal_residuals")
    if isinstance(residuals, list | tuple) and residuals:
        width = conformal_halfwidth(residuals, level)
        if math.isfinite(width):
            return width
        raise ScoringError(f"too few calibration residuals ({len(residuals)}) for level {level}")
    known = sorted(map(str, intervals)) if isinstance(intervals, Mapping) else []
    hint = f" (it has levels {', '.join(known)})" if known else " (retrain with `score train`)"
    raise ScoringError(f"the model has no calibrated prediction interval at level {level}{hint}")


# ---- explanations ---------------------------------------------------------------------------
def _split_pipeline(model: Any) -> tuple[Any, Any] | None:
    """(feature steps, final estimator) of a fitted sklearn Pipeline, else None."""
    steps = getattr(model, "steps", None)
    if not steps or len(steps) < 2:
        return None
    return model[:-1], model[-1]


def _feature_names(prep: Any, width: int) -> list[str]:
    try:
        names = [str(n) for n in prep.get_feature_names_out()]
    except Exception:  # any transformer without names: degrade to positions
        names = []
    return names if len(names) == width else [f"f{i}" for i in range(width)]


def _dense(X: Any) -> np.ndarray | None:
    """Features as a float array, or None when they are sparse (not densified: may be huge)."""
    if hasattr(X, "tocsr"):
        return None
    return np.asarray(X, dtype=float)


def explain_reference(model: Any, frame: pd.DataFrame) -> dict[str, float]:
    """Per-feature medians of ``model``'s feature steps over ``frame`` (the explanation baseline).

    ``score train`` stores this in the artifact metadata as ``explain_reference`` (computed on
    the training rows) so explanations never depend on what is being scored.
    """
    parts = _split_pipeline(model)
    if parts is None or frame.empty:
        return {}
    prep, _ = parts
    raw = prep.transform(frame)
    names = _feature_names(prep, raw.shape[1])
    X = _dense(raw)
    medians = _sparse_medians(raw) if X is None else [_median(c) for c in X.T]
    return dict(zip(names, medians, strict=True))


def _median(column: np.ndarray) -> float:
    finite = np.isfinite(column)
    return float(np.median(column[finite])) if finite.any() else math.nan


def _sparse_medians(X: Any) -> list[float]:
    """Column medians of a sparse matrix without densifying it (mostly-zero columns give 0)."""
    X = X.tocsc()
    n = X.shape[0]
    medians = []
    for j in range(X.shape[1]):
        start, stop = X.indptr[j], X.indptr[j + 1]
        if 2 * (stop - start) < n:
            medians.append(0.0)
        else:
            medians.append(_median(np.asarray(X[:, j].toarray(), dtype=float).ravel()))
    return medians


@dataclass
class Explainer:
    """Per-record attribution: how much each feature moved the prediction away from a reference.

    For any fitted Pipeline whose steps before the last produce a dense feature matrix, it
    substitutes one feature at a time with its reference value (training median) and records
    the change of the final estimator's prediction, re-predicting only the rows whose value
    differs. That costs up to one extra final-step prediction per feature, but the feature
    steps run once.
    """

    model: Any
    reference: dict[str, float]
    top: int = DEFAULT_TOP
    min_effect: float = 0.5

    def explain(self, frame: pd.DataFrame) -> list[str | None]:
        parts = _split_pipeline(self.model)
        if parts is None or frame.empty:
            return [None] * len(frame)
        prep, final = parts
        raw = prep.transform(frame)
        names = _feature_names(prep, raw.shape[1])
        coef = _linear_coef(final, raw.shape[1])
        if coef is not None:  # exact for a linear final step, sparse or dense
            effects = self._linear_effects(raw, coef, names)
            return [self._describe(None, effects[i], names) for i in range(raw.shape[0])]
        X = _dense(raw)
        if X is None:
            return [None] * len(frame)
        effects = self._effects(final, X, names)
        return [self._describe(X[i], effects[i], names) for i in range(len(X))]

    def _linear_effects(self, X: Any, coef: np.ndarray, names: list[str]) -> np.ndarray:
        """coef·(x − reference); a missing reference is 0 (the training mean once scaled)."""
        ref = np.asarray([self.reference.get(n, 0.0) for n in names], dtype=float)
        ref = np.where(np.isfinite(ref), ref, 0.0)
        if hasattr(X, "multiply"):
            contrib = np.asarray(X.multiply(coef[np.newaxis, :]).toarray(), dtype=float)
        else:
            contrib = np.asarray(X, dtype=float) * coef
        return np.nan_to_num(contrib - coef * ref)

    def _effects(self, final: Any, X: np.ndarray, names: list[str]) -> np.ndarray:
        base = np.asarray(final.predict(X), dtype=float)
        effects = np.zeros_like(X)
        block: list[tuple[int, np.ndarray]] = []
        size = 0
        for j, name in enumerate(names):
            ref = self.reference.get(name, math.nan)
            column = X[:, j]
            same = (column == ref) | (np.isnan(column) & math.isnan(ref))
            rows = np.flatnonzero(~same)
            if len(rows):
                block.append((j, rows))
                size += len(rows)
            if size >= SUBSTITUTION_ROWS or (j == len(names) - 1 and block):
                self._substitute(final, X, base, names, block, effects)
                block, size = [], 0
        return effects

    def _substitute(
        self,
        final: Any,
        X: np.ndarray,
        base: np.ndarray,
        names: list[str],
        block: list[tuple[int, np.ndarray]],
        effects: np.ndarray,
    ) -> None:
        """One final-step prediction for many (feature, rows) substitutions at once.

        Stacking them avoids one call per feature, whose fixed cost dominates small batches.
        """
        parts = []
        for j, rows in block:
            moved = X[rows].copy()
            moved[:, j] = self.reference.get(names[j], math.nan)
            parts.append(moved)
        pred = np.asarray(final.predict(np.vstack(parts)), dtype=float)
        start = 0
        for j, rows in block:
            effects[rows, j] = base[rows] - pred[start : start + len(rows)]
            start += len(rows)

    def _describe(self, row: np.ndarray | None, effects: np.ndarray, names: list[str]) -> str:
        """Top signals as "name=value +n" (value left out for scaled linear features).

        A record no single signal moves by ``min_effect`` points is said to be typical, rather
        than left blank: an empty cell would read as "no explanation".
        """
        order = np.argsort(-np.abs(effects), kind="stable")[: self.top]
        parts = []
        for j in order:
            if abs(effects[j]) < self.min_effect:
                break
            value = "" if row is None else f"={_short(row[j])}"
            parts.append(f"{_label(names[j])}{value} {_signed(effects[j])}")
        return ", ".join(parts) or f"typical: no signal moves it by {self.min_effect:g} or more"


def _linear_coef(final: Any, width: int) -> np.ndarray | None:
    """Per-feature coefficients of a linear final step (or of the estimator it wraps), else None.

    A wrapper that adds an anchor column unchanged to a linear correction fitted on the other
    columns (pipeline.model's ``anchor_index``) is linear too: the anchor's coefficient is 1.
    """
    anchor = getattr(final, "anchor_index", None)
    for candidate in (final, getattr(final, "estimator_", None)):
        coef = getattr(candidate, "coef_", None)
        if coef is None:
            continue
        coef = np.asarray(coef, dtype=float).ravel()
        if coef.shape == (width,) and (candidate is final or anchor is None):
            return coef
        if candidate is not final and isinstance(anchor, int) and coef.shape == (width - 1,):
            return np.insert(coef, anchor, 1.0)
    return None


def _label(name: str) -> str:
    return name.split("__", 1)[-1]


def _short(value: float) -> str:
    if math.isnan(value):
        return "missing"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _signed(effect: float) -> str:
    text = f"{abs(effect):.0f}" if abs(effect) >= 0.95 else f"{abs(effect):.1f}"
    return f"+{text}" if effect >= 0 else f"{MINUS}{text}"


# ---- scoring one frame ----------------------------------------------------------------------
def _predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(frame), dtype=float).ravel()


def check_model_predicts(model: Any) -> None:
    """Predict one synthetic record, so a model this code cannot run fails before any input.

    Raises :class:`ScoringError` with a one-line reason (e.g. an artifact saved by an older
    version of the model code whose attributes no longer match).
    """
    record = {
        "title": "Check",
        "url": "https://example.com/check",
        "provider_domain": "example.com",
        "image_count": 0,
        "topics": [],
        "related": [],
        "related_count": 0,
    }
    frame = records_to_frame([record])
    try:
        pred = _predict(model, frame)
    except Exception as exc:
        reason = one_line(f"{type(exc).__name__}: {exc}", 200)
        raise ScoringError(f"the model cannot predict with this code ({reason})") from exc
    if pred.shape != (1,):
        raise ScoringError(f"the model returned {pred.shape[0]} predictions for 1 record")


@dataclass
class Scorer:
    """Everything needed to turn a frame of records into output rows; picklable for workers."""

    model: Any
    only_missing: bool = False
    halfwidth: float | None = None  # prediction interval half-width, None: no interval
    explainer: Explainer | None = None

    def score(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[LoadError]]:
        """Output rows for ``frame`` and an error for each record the model could not score."""
        if self.only_missing:
            frame = frame.loc[frame["quality"].isna()]
        frame = frame.reset_index(drop=True)
        pred, errors = self._predict_all(frame)
        keep = ~np.isnan(pred)
        if not keep.all():
            frame, pred = frame.loc[keep].reset_index(drop=True), pred[keep]
        out = frame[[*ID_COLUMNS, "quality"]].copy()
        out[PRED] = pred
        if self.halfwidth is not None:
            out[LOW] = pred - self.halfwidth
            out[HIGH] = pred + self.halfwidth
        if self.explainer is not None:
            out[WHY] = pd.Series(self._explain(frame), dtype="string")
        return out, errors

    def empty(self) -> pd.DataFrame:
        """A frame with the output columns and dtypes and no rows (for empty outputs)."""
        return self.score(records_to_frame([]))[0]

    def _predict_all(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[LoadError]]:
        """Predict the batch at once; if that fails, row by row so one bad record costs one row."""
        if frame.empty:
            return np.empty(0), []
        try:
            return _predict(self.model, frame), []
        except Exception:
            pass
        pred = np.full(len(frame), np.nan)
        errors = []
        for i in range(len(frame)):
            try:
                pred[i] = _predict(self.model, frame.iloc[[i]])[0]
            except Exception as exc:
                reason = one_line(f"cannot score: {type(exc).__name__}: {exc}", 200)
                if len(errors) == i and i + 1 >= MAX_FAILURES_IN_A_ROW:  # none has worked yet
                    raise ScoringError(f"the model fails on every record ({reason})") from exc
                errors.append(LoadError(str(frame["source"].iloc[i]), reason))
        return pred, errors

    def _explain(self, frame: pd.DataFrame) -> list[str | None]:
        assert self.explainer is not None
        try:
            return self.explainer.explain(frame)
        except Exception:  # an explanation must never cost the prediction
            return [None] * len(frame)


@dataclass
class ScoredBatch:
    """Scored output rows of part of the input (in input order), and the errors found there."""

    frame: pd.DataFrame
    errors: list[LoadError] = field(default_factory=list)
    records: int = 0  # records read (before --only-missing filtering)


# ---- engines --------------------------------------------------------------------------------
SCORE_CHUNK = 2000  # records parsed and scored per task: a predict call costs ~10 ms on its own


def local_batches(
    scorer: Scorer,
    paths: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int | None = None,
    ahead: ParsedAhead | None = None,
) -> Iterator[ScoredBatch]:
    """Parse and score the input unit by unit, in input order (see :func:`iter_parts`).

    Each unit (up to ``min(batch_size, SCORE_CHUNK)`` files, or as many lines of a JSON Lines
    dump) is scored where it was parsed: in forked workers when the input is large (``jobs``
    None: all cores), so only the few output columns cross between processes. Each worker
    predicts on one thread: the workers already fill the cores. ``ahead``: the start of
    ``paths`` parsed while the model loaded (made with :func:`score_chunk` units); its
    units go to the workers first, to be scored only.
    """
    yield from iter_parts(
        paths,
        jobs=jobs,
        chunk_size=score_chunk(batch_size),
        finish=functools.partial(_score_part, scorer),
        setup=_one_thread_per_worker,
        ahead=ahead,
    )


def score_chunk(batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Files or lines per unit of work when scoring with ``batch_size``."""
    return max(1, min(batch_size, SCORE_CHUNK))


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
    chunk: int = DASK_CHUNK,
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


# ---- write-back -----------------------------------------------------------------------------
def writable_path(source: str) -> Path | None:
    """The Markdown file a record's ``source`` names, if it is a plain file on disk, else None.

    Archive members (``a.tar::x.md``), JSON items (``page.json[3]``), JSON Lines lines
    (``dump.jsonl:7``), gzip files and stdin are not writable.
    """
    if "::" in source or not source.lower().endswith(MARKDOWN_SUFFIXES):
        return None
    path = Path(source)
    return path if path.is_file() else None


@dataclass
class WriteBackPlan:
    """Which front matter field to set, and how (``only_if_missing`` keeps known values)."""

    field: str
    only_if_missing: bool


@dataclass
class WriteBackStats:
    written: int = 0
    unchanged: int = 0
    not_writable: int = 0
    example: str | None = None  # one not-writable source, to name in the summary


def _written_value(field: str, value: float) -> float | int:
    """`quality` is an integer scale in the aggregator's records: write it as one."""
    return round(float(value)) if field == "quality" else float(value)


def write_back_batch(
    frame: pd.DataFrame, plan: WriteBackPlan, stats: WriteBackStats
) -> list[LoadError]:
    """Write each row's prediction into its Markdown file; errors come back as report entries."""
    errors = []
    for source, value in zip(frame["source"], frame[PRED], strict=True):
        path = writable_path(str(source))
        if path is None:
            stats.not_writable += 1
            stats.example = stats.example or str(source)
            continue
        try:
            changed = write_back(
                path,
                plan.field,
                _written_value(plan.field, value),
                only_if_missing=plan.only_if_missing,
            )
        except (WriteBackError, ValueError) as exc:
            errors.append(LoadError(str(source), f"write-back refused: {one_line(exc, 200)}"))
            continue
        if changed:
            stats.written += 1
        else:
            stats.unchanged += 1
    return errors


# ---- the driver -----------------------------------------------------------------------------
@dataclass
class PredictSummary:
    """What a run did: rows written, records read, bad inputs, write-back counts."""

    rows: int = 0
    records: int = 0
    errors: list[LoadError] = field(default_factory=list)
    write_back: WriteBackStats | None = None


def _progress(enabled: bool) -> Any:
    """A tqdm bar on standard error (records/s, errors so far), or None when not on a terminal."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit=" rec", file=sys.stderr, dynamic_ncols=True, leave=False)


def run_predict(
    batches: Iterable[ScoredBatch],
    writer: TableWriter,
    *,
    empty: pd.DataFrame,
    write_back_plan: WriteBackPlan | None = None,
    on_error: Callable[[LoadError], None] | None = None,
    progress: bool = False,
) -> PredictSummary:
    """Write scored batches in order, write predictions back, report errors, show progress.

    The writer is closed (renamed into place) only when every batch went through; on any
    exception it is aborted, so no half-written output replaces an existing file.
    """
    summary = PredictSummary(write_back=WriteBackStats() if write_back_plan else None)
    bar = _progress(progress)
    try:
        with writer:
            for batch in batches:
                _take(batch, writer, summary, write_back_plan, on_error)
                if bar is not None:
                    bar.update(batch.records)
                    bar.set_postfix(errors=len(summary.errors))  # one refresh per batch
            if writer.rows == 0:
                writer.write(empty)
    finally:
        if bar is not None:
            bar.close()
    return summary


def _take(
    batch: ScoredBatch,
    writer: TableWriter,
    summary: PredictSummary,
    plan: WriteBackPlan | None,
    on_error: Callable[[LoadError], None] | None,
) -> None:
    errors = list(batch.errors)
    if len(batch.frame):
        writer.write(batch.frame)
    if plan is not None and summary.write_back is not None and len(batch.frame):
        errors += write_back_batch(batch.frame, plan, summary.write_back)
    summary.rows += len(batch.frame)
    summary.records += batch.records
    summary.errors += errors
    if on_error is not None:
        for error in errors:
            on_error(error)


def reference_from_paths(model: Any, paths: Sequence[str], rows: int = REFERENCE_ROWS) -> dict:
    """Fallback explanation baseline: feature medians over the first ``rows`` input records.

    Used only when the artifact has no ``explain_reference``; both engines call this same
    function, so their explanations agree.
    """
    frames, have = [], 0
    for batch in iter_batches(paths, batch_size=rows, jobs=1):
        frames.append(batch.frame)
        have += len(batch.frame)
        if have >= rows:
            break
    frame = pd.concat(frames, ignore_index=True).head(rows) if frames else records_to_frame([])
    return explain_reference(model, frame)
