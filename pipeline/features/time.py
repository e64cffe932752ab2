"""Time features from ``published_at`` (when the article appeared, not a target).

Age is measured against the newest training date stored at fit (``reference_``), never
against the wall clock, so the same model gives the same features tomorrow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

TIME_FEATURES: tuple[str, ...] = (
    "year",
    "month",
    "weekday",
    "hour",
    "days_since_2000",
    "age_days",
)
_EPOCH = pd.Timestamp("2000-01-01", tz="UTC")


def _to_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, errors="coerce")


class TimeFeatures(TransformerMixin, BaseEstimator):
    """Calendar parts and age (days before the newest training record) of ``published_at``."""

    def __init__(self, column: str = "published_at") -> None:
        self.column = column

    def fit(self, X: pd.DataFrame, y: object = None) -> TimeFeatures:
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        ts = _to_utc(X[self.column])
        ref = ts.max()
        self.reference_ = _EPOCH if pd.isna(ref) else ref
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "reference_")
        ts = _to_utc(X[self.column])
        out = np.column_stack(
            [
                ts.dt.year.astype(float),
                ts.dt.month.astype(float),
                ts.dt.day_of_week.astype(float),
                ts.dt.hour.astype(float),
                (ts - _EPOCH).dt.total_seconds().astype(float) / 86400.0,
                (self.reference_ - ts).dt.total_seconds().astype(float) / 86400.0,
            ]
        )
        return np.asarray(out, dtype=float)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "reference_")
        return np.asarray(TIME_FEATURES, dtype=object)
