"""The quality model: estimator factory, training, evaluation protocols and baselines.

Why this shape: on diablo4 the aggregator's ``quality`` is (exactly, for 1,500 records) an
additive rule found by exploring the corpus::

    67 + 20·[image] + 20·[AMP link] − ⌊(len(title) − 70) / 2⌋₊ − 15·[title names no topic]
       + 17·[each further topic named in the title] + provider tier (0, +40, +90; videos +50)

(power-apps follows the same terms plus other tiers, e.g. −50). So the provider step computes
a rule-like *anchor* -- structure terms priced by a fixed-effects ridge plus the provider's
structure-adjusted level, learned from training records **and** their scored related entries
-- and the final estimator (HistGradientBoosting by default; "ridge" for comparison) learns
only a correction to it. Evaluation: the prior is learned inside each
training fold and the related lists of test records never feed training; ``strict_related``
also removes test articles that reappear in training records' related lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from pipeline._compat import hgb_binned_predict
from pipeline.choices import DEFAULT_KIND, KINDS
from pipeline.features.build import ANCHOR_INDEX, build_features
from pipeline.schema import TARGET

QUALITY_RANGE: tuple[float, float] = (11.0, 189.0)


_CONTROLLERS: dict[type, ThreadpoolController] = {}


def _thread_limit(estimator: Any, n_threads: int | None) -> Any:
    """``threadpool_limits(n_threads)`` without re-scanning the loaded libraries every call.

    Building a ThreadpoolController walks every shared library of the process (~2.4 ms, about
    the cost of predicting 100 rows), so one is kept per estimator class, made at that class's
    first fit/predict -- by then its OpenMP/BLAS libraries are loaded.
    """
    controller = _CONTROLLERS.get(type(estimator))
    if controller is None:
        controller = _CONTROLLERS[type(estimator)] = ThreadpoolController()
    return controller.limit(limits=n_threads)


class ClippedRegressor(RegressorMixin, BaseEstimator):
    """Wrap a regressor: optionally learn a correction to an anchor column; clip to the scale.

    With ``anchor_index`` set, the inner estimator fits ``y - X[:, anchor_index]`` and the
    prediction is anchor + correction. The anchor is the provider step's rule-like prediction,
    so a regularised correction falls back to it where the data say little (a new site).
    ``n_threads`` caps OpenMP/BLAS threads: on a small, busy machine one thread is several
    times faster than oversubscribed ones (HistGradientBoosting on 1.2k rows: 3 s vs 16 s).
    """

    def __init__(
        self,
        estimator: Any,
        low: float = QUALITY_RANGE[0],
        high: float = QUALITY_RANGE[1],
        anchor_index: int | None = None,
        n_threads: int | None = 1,
    ) -> None:
        self.estimator = estimator
        self.low = low
        self.high = high
        self.anchor_index = anchor_index
        self.n_threads = n_threads

    def _anchor(self, X: Any) -> np.ndarray | float:
        if self.anchor_index is None:
            return 0.0
        col = X[:, self.anchor_index]
        col = col.toarray() if hasattr(col, "toarray") else np.asarray(col)
        return np.asarray(col, dtype=float).ravel()

    def _rest(self, X: Any) -> Any:
        """The correction never sees the anchor itself (no raw-unit column to extrapolate)."""
        if self.anchor_index is None:
            return X
        keep = [i for i in range(X.shape[1]) if i != self.anchor_index]
        return X[:, keep]

    def fit(self, X: Any, y: Any) -> ClippedRegressor:
        target = np.asarray(y, dtype=float) - self._anchor(X)
        estimator = clone(self.estimator)
        with _thread_limit(estimator, self.n_threads):
            self.estimator_ = estimator.fit(self._rest(X), target)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        with _thread_limit(self.estimator_, self.n_threads):
            rest = self._rest(X)
            pred = None
            if isinstance(self.estimator_, HistGradientBoostingRegressor) and self.n_threads == 1:
                pred = hgb_binned_predict(self.estimator_, rest)
            if pred is None:
                pred = self.estimator_.predict(rest)
            pred = pred + self._anchor(X)
        return np.clip(pred, self.low, self.high)


def _regressor(kind: str, seed: int) -> Any:
    if kind == "hgb":
        return HistGradientBoostingRegressor(
            loss="absolute_error",
            learning_rate=0.05,
            max_iter=600,
            max_leaf_nodes=15,
            min_samples_leaf=5,
            l2_regularization=0.0,
            early_stopping=False,
            random_state=seed,
        )
    if kind == "ridge":
        return RidgeCV(alphas=np.logspace(-2, 3, 11))
    raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


def make_model(kind: str = DEFAULT_KIND, seed: int = 0, use_related: bool = True) -> Pipeline:
    """Unfitted pipeline: guard -> features -> (clipped) regressor."""
    features = build_features(
        "linear" if kind == "ridge" else "tree", seed=seed, use_related=use_related
    )
    final = ClippedRegressor(_regressor(kind, seed), anchor_index=ANCHOR_INDEX)
    return Pipeline([*features.steps, ("regressor", final)])


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows usable for training: scored main records, duplicates dropped."""
    keep = frame[TARGET].notna()
    if "is_related" in frame.columns:
        keep &= ~frame["is_related"].fillna(False).astype(bool)
    if "is_duplicate" in frame.columns:
        keep &= ~frame["is_duplicate"].fillna(False).astype(bool)
    return frame.loc[keep]


def train(frame: pd.DataFrame, seed: int = 0, kind: str = DEFAULT_KIND) -> Pipeline:
    """Fit the model on every scored, non-duplicate record of ``frame``."""
    rows = training_rows(frame)
    if rows.empty:
        raise ValueError("no scored records to train on")
    y = rows[TARGET].astype(float).to_numpy()
    return make_model(kind, seed).fit(rows, y)


def predict(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Predicted quality for each row of ``frame`` (any rows, scored or not)."""
    return np.asarray(model.predict(frame), dtype=float)


def anchor_prediction(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """The provider step's rule-like prediction alone (structure terms + provider level).

    Reported next to the model as the "prior_rule" baseline: what the learned correction adds.
    """
    X = model[:-1].transform(frame)
    col = X[:, ANCHOR_INDEX]
    col = col.toarray() if hasattr(col, "toarray") else np.asarray(col)
    final = model[-1]
    return np.clip(np.asarray(col, dtype=float).ravel(), final.low, final.high)
