"""Composition of the feature steps into one scikit-learn transformer.

Every step reads only the columns named here; ``TargetSideGuard`` runs first and drops the
target-side columns (schema.NEVER_FEATURES), and ``check_no_target_side`` refuses any
composition that selects one of them, so a target can never reach the features.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted

from pipeline.features.prior import PROVIDER_COLUMNS, ProviderPrior
from pipeline.features.structure import STRUCTURE_COLUMNS, StructureFeatures
from pipeline.features.text import TextStats, make_tfidf
from pipeline.features.time import TimeFeatures
from pipeline.schema import NEVER_FEATURES

TEXT_INPUT: tuple[str, ...] = ("title", "excerpt", "body", "topics")
TIME_INPUT: tuple[str, ...] = ("published_at",)
# Standardised features are clipped to +-CLIP_Z so a value never seen in training (a new
# site, a rare flag) cannot push a linear model far outside the scale.
CLIP_Z = 10.0
ANCHOR_INDEX = 0  # position of provider__prior_expected in the feature matrix
PRIOR_CLIP_Z = 3.0  # priors of an unseen site sit far out: keep their pull small


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


class ScaleAfterAnchor(TransformerMixin, BaseEstimator):
    """Median-impute every column; standardise and clip all but the first (the anchor)."""

    def fit(self, X: np.ndarray, y: object = None) -> ScaleAfterAnchor:
        X = np.asarray(X, dtype=float)
        self.n_features_in_ = X.shape[1]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column -> 0 below
            med = np.nanmedian(X, axis=0) if len(X) else np.zeros(X.shape[1])
        self.median_ = np.where(np.isnan(med), 0.0, med)
        filled = np.where(np.isnan(X), self.median_, X)
        self.mean_ = filled.mean(axis=0) if len(X) else np.zeros(X.shape[1])
        sd = filled.std(axis=0) if len(X) else np.ones(X.shape[1])
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.mean_[0], self.scale_[0] = 0.0, 1.0
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "scale_")
        X = np.asarray(X, dtype=float)
        Z = (np.where(np.isnan(X), self.median_, X) - self.mean_) / self.scale_
        Z[:, 1:] = np.clip(Z[:, 1:], -PRIOR_CLIP_Z, PRIOR_CLIP_Z)
        return Z

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "scale_")
        if input_features is None:
            return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        return np.asarray(list(input_features), dtype=object)


class EmptyColumnsToZero(TransformerMixin, BaseEstimator):
    """Set columns that were all-missing at fit to 0 (HistGradientBoosting cannot bin them).

    Other missing values stay NaN: trees route them on their own.
    """

    def fit(self, X: np.ndarray, y: object = None) -> EmptyColumnsToZero:
        X = np.asarray(X, dtype=float)
        self.n_features_in_ = X.shape[1]
        self.empty_ = np.isnan(X).all(axis=0) if len(X) else np.ones(X.shape[1], dtype=bool)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "empty_")
        X = np.array(X, dtype=float, copy=True)
        X[:, self.empty_] = 0.0
        return X

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "empty_")
        if input_features is None:
            return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        return np.asarray(list(input_features), dtype=object)


def input_columns(kind: str = "tree") -> list[str]:
    """The frame columns a model of ``kind`` reads (for docs, tests, permutation groups)."""
    cols = [*TEXT_INPUT, *PROVIDER_COLUMNS, *STRUCTURE_COLUMNS, *TIME_INPUT]
    return list(dict.fromkeys(cols))


def build_features(
    kind: str = "tree", seed: int = 0, use_related: bool = True, tfidf: bool = True
) -> Pipeline:
    """Guard + ColumnTransformer of text, provider, structure and time steps.

    kind="tree": dense numeric features (trees handle NaN and scale themselves).
    kind="linear": the same, imputed and standardised, plus word/char TF-IDF.
    """
    if kind not in ("tree", "linear"):
        raise ValueError(f"kind must be 'tree' or 'linear', not {kind!r}")
    # The provider step comes first so its first output, ``prior_expected`` (the rule-like
    # prediction: structure terms priced by a ridge + the provider's level), is column 0:
    # the anchor the final regressor corrects (ANCHOR_INDEX).
    dense = [
        (
            "provider",
            ProviderPrior(use_related=use_related, random_state=seed),
            list(PROVIDER_COLUMNS),
        ),
        ("text", TextStats(), list(TEXT_INPUT)),
        ("structure", StructureFeatures(), list(STRUCTURE_COLUMNS)),
        ("time", TimeFeatures(), list(TIME_INPUT)),
    ]
    if kind == "linear":
        prep = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            FunctionTransformer(
                np.clip, kw_args={"a_min": -CLIP_Z, "a_max": CLIP_Z}, feature_names_out="one-to-one"
            ),
        )
        # the anchor (first provider output) stays in quality units; the rest is scaled
        dense = [
            (n, make_pipeline(t, ScaleAfterAnchor() if n == "provider" else prep), c)
            for n, t, c in dense
        ]
        if tfidf:
            dense.append(("tfidf", make_tfidf(), ["title", "excerpt"]))
    for _, _, cols in dense:
        check_no_target_side(cols)
    ct = ColumnTransformer(
        dense,
        remainder="drop",
        sparse_threshold=0.3 if kind == "linear" else 0,
        verbose_feature_names_out=True,
    )
    steps = [("guard", TargetSideGuard()), ("features", ct)]
    if kind == "tree":
        steps.append(("empty", EmptyColumnsToZero()))
    return Pipeline(steps)
