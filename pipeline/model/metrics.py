"""Error metrics, and the baselines every evaluation reports beside the model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score


def metrics(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """MAE, RMSE, R² and Spearman ρ as plain floats."""
    yt, yp = np.asarray(y_true, float), np.asarray(y_pred, float)
    # Constant predictions (the global-mean baseline) have no rank order: rho is undefined.
    # np.ptp, not np.std: the std of equal floats can come out as 1e-14 and let the warning by.
    varies = np.ptp(yp) > 0 and np.ptp(yt) > 0 if len(yt) else False
    rho = spearmanr(yt, yp).statistic if varies else np.nan
    return {
        "mae": float(mean_absolute_error(yt, yp)),
        "rmse": float(np.sqrt(mean_squared_error(yt, yp))),
        "r2": float(r2_score(yt, yp)) if len(yt) > 1 else np.nan,
        "spearman": float(rho),
        "n": len(yt),
    }


def global_mean_baseline(y_train: np.ndarray, n_test: int) -> np.ndarray:
    """Predict the training mean everywhere."""
    return np.full(n_test, float(np.mean(y_train)))


def provider_mean_baseline(
    prov_train: Sequence[str], y_train: np.ndarray, prov_test: Sequence[str]
) -> np.ndarray:
    """Training mean per provider domain, global mean for unseen providers."""
    s = pd.Series(np.asarray(y_train, float)).groupby(np.asarray(prov_train, dtype=object)).mean()
    glob = float(np.mean(y_train))
    return np.asarray([float(s.get(p, glob)) for p in prov_test], dtype=float)
