"""Train, check on a holdout, calibrate intervals, and save: what `score train` does.

The saved model is fitted on every scored record; the metrics in its card come from a separate
fit on the older 80 % tested on the newest 20 % of each site (the "time" protocol: the closest
to scoring tomorrow's articles), next to the baselines on the same split. Its intervals are
calibrated per novelty class from refits on the training records
(:mod:`pipeline.model.calibration`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from pipeline.artifact import fingerprint_frame, load_artifact, save_artifact
from pipeline.choices import DEFAULT_MIN_RECORDS
from pipeline.errors import LoadError, UnusableDataError
from pipeline.features.guard import INPUT_COLUMNS
from pipeline.features.observations import record_observations
from pipeline.model.calibration import INTERVAL_LEVELS, calibrate
from pipeline.model.data import load_scored
from pipeline.model.estimator import refit_sites, train, training_rows
from pipeline.model.evaluation import evaluate
from pipeline.model.importance import HOLDOUT_PROTOCOL, holdout_importance
from pipeline.predict.explain import typical_record
from pipeline.schema import TARGET


@dataclass
class TrainingReport:
    """What a training run produced: the artifact path, its metadata, the holdout table, and
    the inputs it learned from (the paths, and the bad inputs skipped)."""

    path: Path
    metadata: dict[str, Any]
    holdout: pd.DataFrame  # estimator x (mae, rmse, r2, spearman, n)
    paths: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)


def _fit(frame: pd.DataFrame, seed: int) -> Pipeline:
    """Fit and calibrate on every scored record; a fit that fails is unusable data, one line."""
    rows = training_rows(frame)
    try:
        with np.errstate(all="raise"):
            model = train(frame)
            calibration = calibrate(
                model[-1], model[:-1].transform(rows), rows[TARGET].astype(float).to_numpy(), seed
            )
    except (ValueError, ArithmeticError, FloatingPointError, np.linalg.LinAlgError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise UnusableDataError(f"cannot learn from these records ({reason})") from None
    model[-1].calibration_ = calibration
    return model


def train_and_save(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    seed: int = 0,
    importance: bool = True,
    min_records: int = DEFAULT_MIN_RECORDS,
    sources: Sequence[str] = (),
) -> TrainingReport:
    """Fit on every scored record of ``frame``, evaluate on a time holdout, save the artifact.

    Refuses (:class:`UnusableDataError`) fewer than ``min_records`` scored records.
    """
    rows = training_rows(frame)
    if len(rows) < max(min_records, 2):
        raise UnusableDataError(
            f"{len(rows)} scored records to learn from, fewer than the minimum {min_records} "
            "(--min-records)"
        )
    holdout = evaluate(frame, HOLDOUT_PROTOCOL, seed=seed, intervals=False)
    fitted = _fit(frame, seed)
    regressor = fitted[-1]
    sites = rows["site"].astype(object).fillna("unknown").value_counts().sort_index()
    metadata: dict[str, Any] = {
        "seed": seed,
        "n_train": len(rows),
        "training_fingerprint": fingerprint_frame(rows),
        "training_paths": list(sources),
        "sites": {str(name): int(count) for name, count in sites.items()},
        "features": list(INPUT_COLUMNS),
        "rule_prices": {name: round(value, 3) for name, value in regressor.coef_.items()},
        "metrics": {
            f"{HOLDOUT_PROTOCOL}_holdout.{estimator}.{name}": value
            for estimator, values in holdout.metrics.items()
            for name, value in values.items()
            if name in {"mae", "rmse", "r2", "spearman"}
        },
        "holdout": {"protocol": HOLDOUT_PROTOCOL, "n_test": len(holdout.predictions)},
        "intervals": _interval_summary(regressor.calibration_),
        # The reference of `score predict --explain`: a typical training record, so that an
        # explanation never depends on what else is being scored.
        "explain_reference": typical_record(rows, record_observations(rows), fitted.predict(rows)),
    }
    if importance:  # measured out of sample: fitted on the older 80 %, shuffled on the newest
        table = holdout_importance(frame, seed=seed)
        metadata["top_features"] = [
            [row.group, round(float(row.mae_increase), 3)] for row in table.itertuples()
        ]
    saved = save_artifact(fitted, path, metadata=metadata)
    return TrainingReport(saved, metadata, holdout.table(), list(sources))


def _interval_summary(calibration: Any) -> dict[str, dict[str, float]]:
    """Half-width per interval class and level, pooled over sites (for the model card)."""
    out: dict[str, dict[str, float]] = {}
    for cls in sorted(calibration.classes()):
        out[cls] = {}
        for level in INTERVAL_LEVELS:
            width = calibration.halfwidth(cls, "*", level)
            out[cls][str(level)] = round(width, 2) if math.isfinite(width) else None
    return out


def train_paths(
    paths: Sequence[str],
    model: str | Path,
    *,
    seed: int = 0,
    site: str | None = None,
    base: str | Path | None = None,
    min_records: int = DEFAULT_MIN_RECORDS,
    on_error: Callable[[LoadError], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> TrainingReport:
    """`score train` as one call: read the scored records of ``paths`` (their site ``site``
    when given), fit, check on the time holdout, save the artifact at ``model``.

    With ``base`` (an artifact), only the sites of the new records are re-estimated on top of
    it (seconds; :func:`~pipeline.model.estimator.refit_sites`). ``say`` hears one line on
    what was read.
    """
    frame, errors = load_scored(paths, site=site, on_error=on_error, say=say)
    if base is not None:
        report = _refit_base(frame, Path(base), Path(model), list(paths))
    else:
        report = train_and_save(frame, model, seed=seed, min_records=min_records, sources=paths)
    report.errors = errors
    return report


def _refit_base(frame: pd.DataFrame, base: Path, path: Path, sources: list[str]) -> TrainingReport:
    """The few-shot fast path: the base model with the new records' sites re-estimated."""
    artifact = load_artifact(base)
    try:
        model = refit_sites(artifact.model, frame)
    except (AttributeError, TypeError) as exc:
        raise UnusableDataError(f"{base}: cannot refit its sites ({exc})") from None
    except ValueError as exc:
        raise UnusableDataError(str(exc)) from None
    rows = training_rows(frame)
    metadata = {
        key: value
        for key, value in artifact.metadata.items()
        if key not in {"created_at", "model_class"}
        and not key.endswith("_version")
        and key != "format"
    }
    sites = dict(metadata.get("sites", {}))
    for name, count in rows["site"].astype(object).fillna("unknown").value_counts().items():
        sites[str(name)] = sites.get(str(name), 0) + int(count)
    metadata.update(
        sites=sites,
        base_model=str(base),
        refit_paths=sources,
        refit_records=len(rows),
        training_paths=[*metadata.get("training_paths", []), *sources],
    )
    saved = save_artifact(model, path, metadata=metadata)
    return TrainingReport(saved, metadata, pd.DataFrame(), sources)
