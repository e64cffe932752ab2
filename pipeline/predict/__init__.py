"""Scoring with a saved model: :func:`run` is what `score predict` calls."""

from pipeline.predict.run import PredictOptions, PredictSummary, run
from pipeline.predict.scorer import Scorer

__all__ = ["PredictOptions", "PredictSummary", "Scorer", "run"]
