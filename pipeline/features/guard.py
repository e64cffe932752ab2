"""The first step of every model: target-side columns never reach it.

Every step reads only what this step passes on; ``TargetSideGuard`` drops the target-side
columns (schema.NEVER_FEATURES) and refuses a frame that repeats a column name, and
``check_no_target_side`` refuses any list of input columns that names one of them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.schema import NEVER_FEATURES

# The record's fields as the schema names them, and the columns each covers: what
# explanations and importance name (the model reads only these columns).
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "site": ("site",),
    "provider_domain": ("provider_name", "provider_domain", "url"),
    "images": ("image_count",),
    "amp_url": ("amp_url",),
    "title": ("title",),
    "topics": ("topics",),
    "related": ("related",),
}
INPUT_COLUMNS: tuple[str, ...] = tuple(c for cols in FIELD_COLUMNS.values() for c in cols)


class TargetLeakError(ValueError):
    """A target-side column was about to reach the features."""


def check_no_target_side(columns: Iterable[str]) -> None:
    """Raise TargetLeakError if any of ``columns`` is in schema.NEVER_FEATURES."""
    bad = sorted(set(columns) & set(NEVER_FEATURES))
    if bad:
        raise TargetLeakError(f"target-side columns must never be features: {bad}")


def _check_frame(X: object) -> None:
    if not isinstance(X, pd.DataFrame):
        raise TypeError("the feature pipeline expects a pandas DataFrame (schema.COLUMNS)")
    if not X.columns.is_unique:
        repeated = sorted(map(str, set(X.columns[X.columns.duplicated()])))
        raise ValueError(f"the frame repeats column names ({', '.join(repeated)}): one each")


class TargetSideGuard(TransformerMixin, BaseEstimator):
    """First step of every model: drop schema.NEVER_FEATURES columns from the input frame.

    Dropping (rather than trusting each step to ignore them) means that a later step cannot
    read ``quality``/``heat``/``published``/``secured`` even by mistake. A frame must name
    each column once: which of two ``title`` columns a step reads would be a guess.
    """

    def fit(self, X: pd.DataFrame, y: object = None) -> TargetSideGuard:
        _check_frame(X)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.kept_ = [c for c in X.columns if c not in NEVER_FEATURES]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "kept_")
        _check_frame(X)
        return X.drop(columns=[c for c in X.columns if c in NEVER_FEATURES])

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "kept_")
        return np.asarray(self.kept_, dtype=object)
