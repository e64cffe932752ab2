"""The quality model: the estimator, its training and calibration, evaluation and importance."""

from pipeline.choices import DEFAULT_KIND, KINDS, PROTOCOLS
from pipeline.model.calibration import INTERVAL_LEVELS, conformal_halfwidth
from pipeline.model.estimator import (
    QUALITY_RANGE,
    ClippedRegressor,
    anchor_prediction,
    make_model,
    predict,
    train,
    training_rows,
)
from pipeline.model.evaluation import EvaluationResult, evaluate, evaluate_all, summary_table
from pipeline.model.importance import FEATURE_GROUPS, feature_importance, holdout_importance
from pipeline.model.metrics import global_mean_baseline, metrics, provider_mean_baseline
from pipeline.model.splits import splits, strip_test_articles
from pipeline.model.training import TrainingReport, train_and_save

__all__ = [
    "DEFAULT_KIND",
    "FEATURE_GROUPS",
    "INTERVAL_LEVELS",
    "KINDS",
    "PROTOCOLS",
    "QUALITY_RANGE",
    "ClippedRegressor",
    "EvaluationResult",
    "TrainingReport",
    "anchor_prediction",
    "conformal_halfwidth",
    "evaluate",
    "evaluate_all",
    "feature_importance",
    "global_mean_baseline",
    "holdout_importance",
    "make_model",
    "metrics",
    "predict",
    "provider_mean_baseline",
    "splits",
    "strip_test_articles",
    "summary_table",
    "train",
    "train_and_save",
    "training_rows",
]
