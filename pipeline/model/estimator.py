"""The model as a scikit-learn Pipeline, and the calls every stage makes on it.

``make_model()`` is guard -> :class:`~pipeline.model.site_rule.SiteRuleRegressor`: the guard
drops every target-side column before the model sees the frame. Scoring goes through
:func:`scoring_model`, which also takes in what the scored related entries of the records
being scored say of sites the model knows little of (:meth:`SiteRuleRegressor.adapt`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from pipeline.features.guard import TargetSideGuard
from pipeline.model.site_rule import AdaptedModel, SiteRuleRegressor
from pipeline.schema import TARGET


def make_model(**params: Any) -> Pipeline:
    """Unfitted pipeline: guard -> site rule regressor (``params`` go to the regressor)."""
    return Pipeline([("guard", TargetSideGuard()), ("model", SiteRuleRegressor(**params))])


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows usable for training: scored main records, duplicates dropped."""
    keep = frame[TARGET].notna()
    if "is_related" in frame.columns:
        keep &= ~frame["is_related"].fillna(False).astype(bool)
    if "is_duplicate" in frame.columns:
        keep &= ~frame["is_duplicate"].fillna(False).astype(bool)
    return frame.loc[keep]


def train(frame: pd.DataFrame, **params: Any) -> Pipeline:
    """Fit the model on every scored, non-duplicate record of ``frame``."""
    rows = training_rows(frame)
    if rows.empty:
        raise ValueError("no scored records to train on")
    return make_model(**params).fit(rows, rows[TARGET].astype(float).to_numpy())


def predict(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Predicted quality for each row of ``frame``, each row on its own."""
    return np.asarray(model.predict(frame), dtype=float)


class ScoringModel:
    """A fitted pipeline together with what the records being scored said of their sites.

    Picklable (it travels to the scoring workers once); :meth:`predict_table` gives each
    row's prediction, novelty and whether related entries were used.
    """

    def __init__(self, model: Pipeline, adapted: AdaptedModel | None = None) -> None:
        self.model = model
        self.adapted = adapted

    @property
    def regressor(self) -> SiteRuleRegressor:
        return self.model[-1]

    def predict_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        X = self.model[:-1].transform(frame)
        if self.adapted is None:
            return self.regressor.predict_table(X)
        return self.adapted.predict_table(X)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_table(frame)["pred"].to_numpy(dtype=float)


def scoring_model(model: Pipeline, evidence: pd.DataFrame | None = None) -> ScoringModel:
    """The model ready to score, with the related entries of ``evidence`` (the records to
    be scored, or a sample of them) taken in for the sites it knows little of."""
    if evidence is None or evidence.empty:
        return ScoringModel(model)
    return ScoringModel(model, model[-1].adapt(model[:-1].transform(evidence)))


def refit_sites(model: Pipeline, frame: pd.DataFrame) -> Pipeline:
    """A copy of ``model`` whose sites of the scored records of ``frame`` are re-estimated
    on top of the shared part (the few-shot fast path: no full retrain)."""
    rows = training_rows(frame)
    if rows.empty:
        raise ValueError("no scored records to learn a site from")
    X = model[:-1].transform(rows)
    regressor = model[-1].refit_sites(X, rows[TARGET].astype(float).to_numpy())
    return Pipeline([*model.steps[:-1], ("model", regressor)])
