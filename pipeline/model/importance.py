"""What each group of input columns is worth to the model: permutation importance.

Grouping by input column keeps the answer readable ("the AMP link is worth N points")
whatever the feature steps expand those columns into.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import Pipeline

from pipeline.features.guard import FIELD_COLUMNS, INPUT_COLUMNS
from pipeline.model.estimator import make_model, predict, training_rows
from pipeline.model.splits import splits
from pipeline.schema import TARGET

HOLDOUT_PROTOCOL = "time"  # the closest to scoring tomorrow's articles


FEATURE_GROUPS: dict[str, tuple[str, ...]] = FIELD_COLUMNS


def feature_importance(
    model: Pipeline,
    frame: pd.DataFrame,
    y: Sequence[float] | None = None,
    n_repeats: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Permutation importance of groups of *input columns* (MAE increase when shuffled).

    Grouping by input column keeps the answer readable ("the AMP link is worth N points")
    whatever the feature steps expand those columns into.
    """
    rows = frame if y is not None else training_rows(frame)
    yy = np.asarray(y if y is not None else rows[TARGET].astype(float), dtype=float)
    base = mean_absolute_error(yy, predict(model, rows))
    rng = np.random.RandomState(seed)
    used = set(INPUT_COLUMNS)
    out = []
    for group, cols in FEATURE_GROUPS.items():
        cols = tuple(c for c in cols if c in rows.columns and c in used)
        if not cols:
            continue
        deltas = []
        for _ in range(n_repeats):
            perm = rng.permutation(len(rows))
            shuffled = rows.copy()
            for c in cols:
                shuffled[c] = rows[c].to_numpy()[perm]
            deltas.append(mean_absolute_error(yy, predict(model, shuffled)) - base)
        out.append(
            {
                "group": group,
                "columns": ",".join(cols),
                "mae_increase": float(np.mean(deltas)),
                "std": float(np.std(deltas)),
            }
        )
    return pd.DataFrame(out).sort_values("mae_increase", ascending=False, ignore_index=True)


def holdout_importance(frame: pd.DataFrame, seed: int = 0, n_repeats: int = 3) -> pd.DataFrame:
    """Permutation importance measured on held-out records (the newest 20 % of each site).

    Why not on the training records: a model that memorised its training rows would make
    every column look important there. Fitting on the older 80 % and shuffling columns of the
    newest 20 % asks what each group of inputs is worth on articles the model has not seen.
    The table's ``attrs["n"]`` holds the number of held-out records.
    """
    rows = training_rows(frame).reset_index(drop=True)
    if len(rows) < 2:
        raise ValueError("need at least two scored records to measure importance")
    _, train, test = splits(rows, HOLDOUT_PROTOCOL, seed)[0]
    if len(train) == 0 or len(test) == 0:
        raise ValueError("the time split left no training or no test records")
    y = rows[TARGET].astype(float).to_numpy()
    fitted = make_model().fit(rows.iloc[train], y[train])
    table = feature_importance(fitted, rows.iloc[test], y[test], n_repeats=n_repeats, seed=seed)
    table.attrs["n"] = len(test)
    return table
