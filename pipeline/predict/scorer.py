"""Turn a frame of records into output rows: predictions, intervals, explanations.

A :class:`Scorer` holds the model and the options, is picklable, and is the only thing the
engines (:mod:`pipeline.predict.engines`) need: each unit of input is scored where it was
parsed, and only its output rows travel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import LoadError, ScoringError, one_line
from pipeline.load.columns import records_to_frame
from pipeline.model.calibration import halfwidths
from pipeline.model.data import with_site
from pipeline.predict.explain import Explainer

# Output columns, in order. Interval and explanation columns are appended when asked for.
ID_COLUMNS: tuple[str, ...] = ("id", "source", "site", "url", "title", "provider_domain")
PRED, NOVELTY = "quality_pred", "novelty"
LOW, HIGH = "quality_low", "quality_high"
# Scores are whole numbers: predictions are written to text with one decimal (full in Parquet).
WHY, CONTRIBUTIONS, REFERENCE = "why", "contributions", "reference"
# Scores are whole numbers: predictions are written to text with one decimal (full in Parquet).
SCORE_DECIMALS = {PRED: 1, LOW: 1, HIGH: 1, REFERENCE: 1}
MAX_FAILURES_IN_A_ROW = 20  # a model failing on this many records in a row is broken itself


def check_model_predicts(model: Any) -> None:
    """Predict one synthetic record, so a model this code cannot run fails before any input.

    Raises :class:`ScoringError` with a one-line reason (e.g. an artifact saved by an older
    version of the model code whose attributes no longer match).
    """
    record = {
        "title": "Check",
        "url": "https://example.com/check",
        "provider_domain": "example.com",
        "image_count": 0,
        "topics": [],
        "related": [],
        "related_count": 0,
    }
    frame = records_to_frame([record])
    try:
        pred = np.asarray(model.predict(frame), dtype=float).ravel()
    except Exception as exc:
        reason = one_line(f"{type(exc).__name__}: {exc}", 200)
        raise ScoringError(f"the model cannot predict with this code ({reason})") from exc
    if pred.shape != (1,):
        raise ScoringError(f"the model returned {pred.shape[0]} predictions for 1 record")


@dataclass
class Scorer:
    """Everything needed to turn a frame of records into output rows; picklable for workers.

    ``model``: a :class:`~pipeline.model.estimator.ScoringModel` (rows get their novelty) or
    any fitted estimator with ``predict``; ``site``: every record's site (``--site``);
    ``level`` and ``calibration``: intervals at that level (None: no interval columns).
    """

    model: Any
    only_missing: bool = False
    site: str | None = None
    level: float | None = None
    calibration: Any = None
    explainer: Explainer | None = None

    def score(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[LoadError]]:
        """Output rows for ``frame`` and an error for each record the model could not score."""
        if self.only_missing:
            frame = frame.loc[frame["quality"].isna()]
        frame = with_site(frame.reset_index(drop=True), self.site)
        table, errors = self._predict_all(frame)
        keep = table["pred"].notna().to_numpy()
        if not keep.all():
            frame = frame.loc[keep].reset_index(drop=True)
            table = table.loc[keep].reset_index(drop=True)
        out = frame[[*ID_COLUMNS, "quality"]].copy()
        out[PRED] = table["pred"].to_numpy(dtype=float)
        out[NOVELTY] = pd.array(table["novelty"].to_numpy(dtype=object), dtype="string")
        if self.level is not None:
            low, high = self._interval(table)
            out[LOW], out[HIGH] = low, high
        if self.explainer is not None:
            self._explain(frame, out)
        return out, errors

    def empty(self) -> pd.DataFrame:
        """A frame with the output columns and dtypes and no rows (for empty outputs)."""
        return self.score(records_to_frame([]))[0]

    def _table(self, frame: pd.DataFrame) -> pd.DataFrame:
        if hasattr(self.model, "predict_table"):
            return self.model.predict_table(frame)
        pred = np.asarray(self.model.predict(frame), dtype=float).ravel()
        if pred.shape != (len(frame),):
            raise ValueError(f"the model returned {pred.shape[0]} predictions for {len(frame)}")
        return pd.DataFrame({"pred": pred, "novelty": [None] * len(frame)})

    def _predict_all(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[LoadError]]:
        """Predict the batch at once; if that fails, row by row so one bad record costs one row."""
        if frame.empty:
            return self._table(frame), []
        try:
            return self._table(frame).reset_index(drop=True), []
        except Exception:
            pass
        rows, errors = [], []
        for i in range(len(frame)):
            try:
                rows.append(self._table(frame.iloc[[i]]))
            except Exception as exc:
                reason = one_line(f"cannot score: {type(exc).__name__}: {exc}", 200)
                if len(errors) == i and i + 1 >= MAX_FAILURES_IN_A_ROW:  # none has worked yet
                    raise ScoringError(f"the model fails on every record ({reason})") from exc
                errors.append(LoadError(str(frame["source"].iloc[i]), reason))
                rows.append(pd.DataFrame({"pred": [np.nan], "novelty": [None]}))
        return pd.concat(rows, ignore_index=True), errors

    def _interval(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        pred = table["pred"].to_numpy(dtype=float)
        if not len(table):
            return pred, pred
        model = self.model
        regressor = model.regressor
        adapted = getattr(model, "adapted", None)
        checks = adapted.checks if adapted is not None else {}
        rare = {site: params.rare_providers for site, params in regressor.sites_.items()}
        width = halfwidths(table, self.calibration, self.level, checks=checks, rare_providers=rare)
        low, high = regressor.bounds_
        return np.clip(pred - width, low, high), np.clip(pred + width, low, high)

    def _explain(self, frame: pd.DataFrame, out: pd.DataFrame) -> None:
        assert self.explainer is not None
        try:
            explained = self.explainer.explain(frame, out[PRED].to_numpy(dtype=float))
        except Exception:  # an explanation must never cost the prediction
            explained = None
        if explained is None:
            out[WHY] = pd.Series([None] * len(out), dtype="string")
            out[CONTRIBUTIONS] = pd.Series([None] * len(out), dtype=object)
            out[REFERENCE] = pd.array([None] * len(out), dtype="Float64")
            return
        out[WHY] = pd.Series(explained.why, dtype="string")
        out[CONTRIBUTIONS] = pd.Series(
            [
                [{**c, "points": round(c["points"], 2)} for c in listed]  # to 0.01 point
                for listed in explained.contributions
            ],
            dtype=object,
        )
        out[REFERENCE] = pd.array([explained.reference] * len(out), dtype="Float64")


@dataclass
class ScoredBatch:
    """Scored output rows of part of the input (in input order), and the errors found there."""

    frame: pd.DataFrame
    errors: list[LoadError] = field(default_factory=list)
    records: int = 0  # records read (before --only-missing filtering)
