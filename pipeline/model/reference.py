"""What a typical training record looks like to the model: the baseline of explanations.

Stored in the artifact by ``score train`` so that an explanation measures a record against
the training data, never against whatever else is being scored.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def split_pipeline(model: Any) -> tuple[Any, Any] | None:
    """(feature steps, final estimator) of a fitted sklearn Pipeline, else None."""
    steps = getattr(model, "steps", None)
    if not steps or len(steps) < 2:
        return None
    return model[:-1], model[-1]


def feature_names(prep: Any, width: int) -> list[str]:
    try:
        names = [str(n) for n in prep.get_feature_names_out()]
    except Exception:  # any transformer without names: degrade to positions
        names = []
    return names if len(names) == width else [f"f{i}" for i in range(width)]


def dense_features(X: Any) -> np.ndarray | None:
    """Features as a float array, or None when they are sparse (not densified: may be huge)."""
    if hasattr(X, "tocsr"):
        return None
    return np.asarray(X, dtype=float)


def feature_medians(model: Any, frame: pd.DataFrame) -> dict[str, float]:
    """Per-feature medians of ``model``'s feature steps over ``frame`` (the explanation baseline).

    ``score train`` stores this in the artifact metadata as ``explain_reference`` (computed on
    the training rows) so explanations never depend on what is being scored.
    """
    parts = split_pipeline(model)
    if parts is None or frame.empty:
        return {}
    prep, _ = parts
    raw = prep.transform(frame)
    names = feature_names(prep, raw.shape[1])
    X = dense_features(raw)
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
