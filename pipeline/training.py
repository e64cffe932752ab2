"""Train, check on a holdout, calibrate intervals, and save: what `score train` does.

The saved model is fitted on every scored record; the metrics in its card come from a separate
fit on the older 80 % tested on the newest 20 % (the "time" protocol: the closest to scoring
tomorrow's articles), next to the global-mean and provider-mean baselines on the same split.
The holdout residuals also calibrate split-conformal prediction intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import model as quality_model
from pipeline.artifact import fingerprint_frame, save_artifact
from pipeline.features.build import input_columns
from pipeline.schema import TARGET
from pipeline.scoring import conformal_halfwidth, explain_reference

INTERVAL_LEVELS: tuple[float, ...] = (0.8, 0.9, 0.95)
HOLDOUT_PROTOCOL = "time"


def holdout_importance(
    frame: pd.DataFrame, kind: str = quality_model.DEFAULT_KIND, seed: int = 0, n_repeats: int = 3
) -> pd.DataFrame:
    """Permutation importance measured on held-out records (the newest 20 %).

    Why not on the training records: a model that memorised its training rows would make
    every column look important there. Fitting on the older 80 % and shuffling columns of the
    newest 20 % asks what each group of inputs is worth on articles the model has not seen.
    The table's ``attrs["n"]`` holds the number of held-out records.
    """
    rows = quality_model.training_rows(frame).reset_index(drop=True)
    if len(rows) < 2:
        raise ValueError("need at least two scored records to measure importance")
    _, train, test = quality_model.splits(rows, HOLDOUT_PROTOCOL, seed)[0]
    if len(train) == 0 or len(test) == 0:
        raise ValueError("the time split left no training or no test records")
    y = rows[TARGET].astype(float).to_numpy()
    fitted = quality_model.make_model(kind, seed).fit(rows.iloc[train], y[train])
    table = quality_model.feature_importance(
        fitted, rows.iloc[test], y[test], n_repeats=n_repeats, seed=seed
    )
    table.attrs["n"] = len(test)
    return table


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
    kind: str = quality_model.DEFAULT_KIND,
    importance: bool = True,
) -> TrainingReport:
    """Fit on every scored record of ``frame``, evaluate on a time holdout, save the artifact."""
    rows = quality_model.training_rows(frame)
    if rows.empty:
        raise ValueError("no scored records (with a numeric `quality`) to train on")
    holdout = quality_model.evaluate(frame, HOLDOUT_PROTOCOL, seed=seed, kind=kind)
    residuals = (holdout.predictions["y"] - holdout.predictions["pred"]).to_numpy()

    fitted = quality_model.train(frame, seed=seed, kind=kind)
    metadata: dict[str, Any] = {
        "kind": kind,
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
    metadata["explain_reference"] = explain_reference(fitted, rows)
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
