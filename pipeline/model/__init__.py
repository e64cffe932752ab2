"""The quality model: the site rule estimator, its training and calibration, evaluation."""

from pipeline.choices import PROTOCOLS
from pipeline.model.calibration import INTERVAL_LEVELS, Calibration, conformal_halfwidth
from pipeline.model.estimator import (
    ScoringModel,
    make_model,
    predict,
    refit_sites,
    scoring_model,
    train,
    training_rows,
)
from pipeline.model.evaluation import EvaluationResult, evaluate, summary_table
from pipeline.model.importance import FEATURE_GROUPS, feature_importance, holdout_importance
from pipeline.model.metrics import global_mean_baseline, metrics, provider_mean_baseline
from pipeline.model.site_rule import SiteRuleRegressor
from pipeline.model.splits import few_shot_splits, splits, strip_test_articles
from pipeline.model.training import TrainingReport, train_and_save

__all__ = [
    "FEATURE_GROUPS",
    "INTERVAL_LEVELS",
    "PROTOCOLS",
    "Calibration",
    "EvaluationResult",
    "ScoringModel",
    "SiteRuleRegressor",
    "TrainingReport",
    "conformal_halfwidth",
    "evaluate",
    "feature_importance",
    "few_shot_splits",
    "global_mean_baseline",
    "holdout_importance",
    "make_model",
    "metrics",
    "predict",
    "provider_mean_baseline",
    "refit_sites",
    "scoring_model",
    "splits",
    "strip_test_articles",
    "summary_table",
    "train",
    "train_and_save",
    "training_rows",
]
