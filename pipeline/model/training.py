"""Train, check on a holdout, calibrate intervals, and save: what `score train` does.

The saved model is fitted on every scored record; the metrics in its card come from a separate
fit on the older 80 % tested on the newest 20 % (the "time" protocol: the closest to scoring
tomorrow's articles), next to the global-mean and provider-mean baselines on the same split.
The holdout residuals also calibrate split-conformal prediction intervals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.artifact import fingerprint_frame, save_artifact
from pipeline.choices import DEFAULT_KIND
from pipeline.errors import LoadError
from pipeline.features.build import input_columns
from pipeline.model.calibration import INTERVAL_LEVELS, conformal_halfwidth
from pipeline.model.data import load_scored
from pipeline.model.estimator import train, training_rows
from pipeline.model.evaluation import evaluate
from pipeline.model.importance import HOLDOUT_PROTOCOL, holdout_importance
from pipeline.model.reference import feature_medians


@dataclass
class TrainingReport:
    """What a training run produced: the artifact path, its metadata and the holdout table."""

    path: Path
    metadata: dict[str, Any]
    holdout: pd.DataFrame  # estimator x (mae, rmse, r2, spearman, n)


def train_and_save(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    seed: int = 0,
    kind: str = DEFAULT_KIND,
    importance: bool = True,
) -> TrainingReport:
    """Fit on every scored record of ``frame``, evaluate on a time holdout, save the artifact."""
    rows = training_rows(frame)
    if rows.empty:
        raise ValueError("no scored records (with a numeric `quality`) to train on")
    holdout = evaluate(frame, HOLDOUT_PROTOCOL, seed=seed, kind=kind)
    residuals = (holdout.predictions["y"] - holdout.predictions["pred"]).to_numpy()

    fitted = train(frame, seed=seed, kind=kind)
    metadata: dict[str, Any] = {
        "kind": str(kind),
        "seed": seed,
        "n_train": len(rows),
        "training_fingerprint": fingerprint_frame(rows),
        "training_sites": sorted(map(str, rows["site"].dropna().unique())),
        "features": input_columns(),
        "n_features": _n_features(fitted),
        "metrics": {
            f"{HOLDOUT_PROTOCOL}_holdout.{estimator}.{name}": value
            for estimator, values in holdout.metrics.items()
            for name, value in values.items()
            if name in {"mae", "rmse", "r2", "spearman"}
        },
        "holdout": {"protocol": HOLDOUT_PROTOCOL, "n_test": len(residuals)},
        "intervals": {  # levels the holdout is too small to guarantee are left out
            str(level): width
            for level in INTERVAL_LEVELS
            if math.isfinite(width := conformal_halfwidth(residuals, level))
        },
    }
    # The baseline of `score predict --explain`: without it, explanations would be measured
    # against whatever is being scored (a record scored alone would explain nothing).
    metadata["explain_reference"] = feature_medians(fitted, rows)
    if importance:  # measured out of sample: fitted on the older 80 %, shuffled on the newest
        table = holdout_importance(frame, kind=kind, seed=seed)
        metadata["top_features"] = [
            [row.group, round(float(row.mae_increase), 3)] for row in table.itertuples()
        ]
    saved = save_artifact(fitted, path, metadata=metadata)
    return TrainingReport(saved, metadata, holdout.table())


def _n_features(fitted: Any) -> int | None:
    """How many columns the feature steps produce (for the model card)."""
    try:
        return len(fitted[:-1].get_feature_names_out())
    except Exception:  # a step without get_feature_names_out: the count is only informative
        return None


def train_paths(
    paths: Sequence[str],
    model: str | Path,
    *,
    kind: str = DEFAULT_KIND,
    seed: int = 0,
    on_error: Callable[[LoadError], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> TrainingReport:
    """`score train` as one call: read the scored records of ``paths``, fit, check on the time
    holdout, save the artifact at ``model``. ``say`` hears one line on what was read."""
    frame, _ = load_scored(paths, on_error=on_error, say=say)
    return train_and_save(frame, model, seed=seed, kind=kind)
