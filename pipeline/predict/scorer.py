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
from pipeline.predict.explain import Explainer

# Output columns, in order. Interval and explanation columns are appended when asked for.
ID_COLUMNS: tuple[str, ...] = ("id", "source", "site", "url", "title", "provider_domain")
PRED = "quality_pred"
LOW, HIGH, WHY = "quality_low", "quality_high", "why"
MAX_FAILURES_IN_A_ROW = 20  # a model failing on this many records in a row is broken itself


def _predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(frame), dtype=float).ravel()


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
        pred = _predict(model, frame)
    except Exception as exc:
        reason = one_line(f"{type(exc).__name__}: {exc}", 200)
        raise ScoringError(f"the model cannot predict with this code ({reason})") from exc
    if pred.shape != (1,):
        raise ScoringError(f"the model returned {pred.shape[0]} predictions for 1 record")


@dataclass
class Scorer:
    """Everything needed to turn a frame of records into output rows; picklable for workers."""

    model: Any
    only_missing: bool = False
    halfwidth: float | None = None  # prediction interval half-width, None: no interval
    explainer: Explainer | None = None

    def score(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[LoadError]]:
        """Output rows for ``frame`` and an error for each record the model could not score."""
        if self.only_missing:
            frame = frame.loc[frame["quality"].isna()]
        frame = frame.reset_index(drop=True)
        pred, errors = self._predict_all(frame)
        keep = ~np.isnan(pred)
        if not keep.all():
            frame, pred = frame.loc[keep].reset_index(drop=True), pred[keep]
        out = frame[[*ID_COLUMNS, "quality"]].copy()
        out[PRED] = pred
        if self.halfwidth is not None:
            out[LOW] = pred - self.halfwidth
            out[HIGH] = pred + self.halfwidth
        if self.explainer is not None:
            out[WHY] = pd.Series(self._explain(frame), dtype="string")
        return out, errors

    def empty(self) -> pd.DataFrame:
        """A frame with the output columns and dtypes and no rows (for empty outputs)."""
        return self.score(records_to_frame([]))[0]

    def _predict_all(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[LoadError]]:
        """Predict the batch at once; if that fails, row by row so one bad record costs one row."""
        if frame.empty:
            return np.empty(0), []
        try:
            return _predict(self.model, frame), []
        except Exception:
            pass
        pred = np.full(len(frame), np.nan)
        errors = []
        for i in range(len(frame)):
            try:
                pred[i] = _predict(self.model, frame.iloc[[i]])[0]
            except Exception as exc:
                reason = one_line(f"cannot score: {type(exc).__name__}: {exc}", 200)
                if len(errors) == i and i + 1 >= MAX_FAILURES_IN_A_ROW:  # none has worked yet
                    raise ScoringError(f"the model fails on every record ({reason})") from exc
                errors.append(LoadError(str(frame["source"].iloc[i]), reason))
        return pred, errors

    def _explain(self, frame: pd.DataFrame) -> list[str | None]:
        assert self.explainer is not None
        try:
            return self.explainer.explain(frame)
        except Exception:  # an explanation must never cost the prediction
            return [None] * len(frame)


@dataclass
class ScoredBatch:
    """Scored output rows of part of the input (in input order), and the errors found there."""

    frame: pd.DataFrame
    errors: list[LoadError] = field(default_factory=list)
    records: int = 0  # records read (before --only-missing filtering)
