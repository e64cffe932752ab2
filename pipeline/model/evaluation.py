"""Evaluation protocols: the model and its baselines, fitted and tested on identical splits.

Each fold fits the model on its training records only (its interval calibration too, from
refits inside them), then scores the test records as `score predict` would: each record on
its own, with the related entries of the test records taken in for the sites the model knows
little of (never a record's own score: see :meth:`SiteRuleRegressor.adapt`). The related
lists of test records never feed training; ``strict_related`` also removes test articles
from the training records' related lists (a held-out provider is then truly unseen).
Baselines on the same splits: the global mean, the provider mean, and ``shared_rule`` (what
the sites share alone, without any site's own part).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.choices import DEFAULT_LEVEL
from pipeline.errors import LoadError, UnusableDataError
from pipeline.features.providers import provider_keys
from pipeline.model.calibration import calibrate, halfwidths, interval_class
from pipeline.model.data import load_scored
from pipeline.model.estimator import make_model, scoring_model, training_rows
from pipeline.model.metrics import global_mean_baseline, metrics, provider_mean_baseline
from pipeline.model.splits import few_shot_splits, splits, strip_test_articles
from pipeline.schema import TARGET

ESTIMATORS: tuple[str, ...] = ("model", "global_mean", "provider_mean", "shared_rule")
BASELINES: tuple[str, ...] = ESTIMATORS[1:]


@dataclass
class EvaluationResult:
    """Outcome of one protocol: metrics per estimator, per fold, per interval class, and the
    out-of-fold predictions of every record."""

    protocol: str
    seed: int
    level: float
    metrics: dict[str, dict[str, float]]  # estimator -> mae, rmse, r2, spearman, n (+ coverage)
    predictions: pd.DataFrame  # id, fold, site, provider, novelty, cls, y, pred, low, high, ...
    folds: list[dict[str, Any]] = field(default_factory=list)
    strict_related: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (predictions omitted)."""
        return {
            "protocol": self.protocol,
            "seed": self.seed,
            "level": self.level,
            "strict_related": self.strict_related,
            "metrics": self.metrics,
            "folds": self.folds,
            "classes": self.class_table().reset_index().to_dict("records"),
        }

    def table(self) -> pd.DataFrame:
        """One row per estimator: mae, rmse, r2, spearman, n (coverage and width: the model)."""
        return pd.DataFrame(self.metrics).T.assign(protocol=self.protocol)

    def fold_table(self) -> pd.DataFrame:
        """One row per fold (per held-out site, per site and shots): the model, the baselines,
        the interval coverage."""
        return pd.DataFrame(self.folds).set_index("fold")

    def class_table(self) -> pd.DataFrame:
        """Per interval class: records, the model's MAE, coverage and median width."""
        p = self.predictions
        if "low" not in p:
            return pd.DataFrame()
        inside = (p["y"] >= p["low"]) & (p["y"] <= p["high"])
        g = p.assign(covered=inside, width=p["high"] - p["low"], error=(p["y"] - p["pred"]).abs())
        return g.groupby("cls").agg(
            n=("y", "size"), mae=("error", "mean"), coverage=("covered", "mean"),
            median_width=("width", "median"),
        )  # fmt: skip


def _fold_splits(
    rows: pd.DataFrame, protocol: str, seed: int, n_splits: int, shots: Sequence[int]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if protocol == "few-shot":
        return few_shot_splits(rows, tuple(shots))
    return splits(rows, protocol, seed, n_splits)


def evaluate(
    frame: pd.DataFrame,
    protocol: str,
    seed: int = 0,
    n_splits: int = 5,
    strict_related: bool = False,
    level: float = DEFAULT_LEVEL,
    shots: Sequence[int] = (0, 10, 20, 40),
    intervals: bool = True,
) -> EvaluationResult:
    """Run one protocol: the model and the baselines on identical splits, with intervals at
    ``level`` calibrated inside each training fold (``intervals=False``: skip them, faster)."""
    rows = training_rows(frame).reset_index(drop=True)
    y = rows[TARGET].astype(float).to_numpy()
    providers = provider_keys(rows).to_numpy(dtype=object)
    parts, folds = [], []
    for name, train, test in _fold_splits(rows, str(protocol), seed, n_splits, shots):
        train_rows = rows.iloc[train]
        if strict_related:
            train_rows = strip_test_articles(train_rows, rows.iloc[test])
        model = make_model().fit(train_rows, y[train])
        test_rows = rows.iloc[test]
        scorer = scoring_model(model, test_rows)
        table = scorer.predict_table(test_rows)
        regressor = model[-1]
        part = pd.DataFrame(
            {
                "id": test_rows["id"].to_numpy(),
                "fold": name,
                "site": table["site"].to_numpy(dtype=object),
                "provider": providers[test],
                "published_at": test_rows["published_at"].to_numpy(),
                "novelty": table["novelty"].to_numpy(dtype=object),
                "cls": interval_class(table),
                "y": y[test],
                "pred": table["pred"].to_numpy(dtype=float),
                "global_mean": global_mean_baseline(y[train], len(test)),
                "provider_mean": provider_mean_baseline(
                    providers[train], y[train], providers[test]
                ),
                "shared_rule": regressor.shared_prediction(model[:-1].transform(test_rows)),
            }
        )
        if intervals:
            calibration = calibrate(regressor, model[:-1].transform(train_rows), y[train], seed)
            checks = scorer.adapted.checks if scorer.adapted is not None else {}
            rare = {s: p.rare_providers for s, p in regressor.sites_.items()}
            width = halfwidths(table, calibration, level, checks=checks, rare_providers=rare)
            part["low"] = np.clip(part["pred"] - width, *regressor.bounds_)
            part["high"] = np.clip(part["pred"] + width, *regressor.bounds_)
        parts.append(part)
        folds.append({"fold": name, "n_train": len(train), **_scores(part)})
    predictions = pd.concat(parts, ignore_index=True)
    summary = _scores(predictions, full=True)
    return EvaluationResult(
        str(protocol), seed, level, summary, predictions, folds, strict_related=strict_related
    )


def _scores(part: pd.DataFrame, full: bool = False) -> Any:
    """Full: the metrics of every estimator; else one fold's row (MAE of each, coverage)."""
    if full:
        out = {
            name: metrics(part["y"], part["pred" if name == "model" else name])
            for name in ESTIMATORS
        }
        if "low" in part:
            out["model"].update(_coverage(part))
        return out
    row = {
        "n": len(part),
        **{
            f"{name}_mae": float(
                np.mean(np.abs(part["y"] - part["pred" if name == "model" else name]))
            )
            for name in ESTIMATORS
        },
    }
    if "low" in part:
        row.update(_coverage(part))
    return row


def _coverage(part: pd.DataFrame) -> dict[str, float]:
    inside = (part["y"] >= part["low"]) & (part["y"] <= part["high"])
    return {
        "coverage": float(inside.mean()),
        "median_width": float((part["high"] - part["low"]).median()),
    }


def summary_table(results: Mapping[str, EvaluationResult]) -> pd.DataFrame:
    """Long table protocol × estimator with MAE/RMSE/R²/ρ (what bench/evaluate.py prints)."""
    return pd.concat([r.table() for r in results.values()]).rename_axis("estimator").reset_index()


def evaluate_paths(
    paths: Sequence[str],
    protocols: Sequence[str] = ("random",),
    *,
    seed: int = 0,
    strict_related: bool = False,
    level: float = DEFAULT_LEVEL,
    shots: Sequence[int] = (0, 10, 20, 40),
    site: str | None = None,
    json_out: str | Path | None = None,
    report_dir: str | Path | None = None,
    on_error: Callable[[LoadError], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, EvaluationResult]:
    """`score evaluate` as one call: every protocol on the scored records of ``paths``, its
    metrics as JSON at ``json_out``, charts and a summary in ``report_dir``."""
    frame, _ = load_scored(paths, site=site, on_error=on_error, say=say)
    results = {}
    for name in dict.fromkeys(protocols):
        try:
            results[str(name)] = evaluate(
                frame, name, seed=seed, strict_related=strict_related, level=level, shots=shots
            )
        except ValueError as exc:  # e.g. the site protocol with a single site
            raise UnusableDataError(f"protocol {name}: {exc}") from None
    if json_out is not None:
        payload = _finite({name: result.to_dict() for name, result in results.items()})
        Path(json_out).write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    if report_dir is not None:
        from pipeline.report import write_report  # plotting is loaded only when asked for

        written = write_report(results, frame, Path(report_dir))
        if say is not None:
            say(f"report: {written}")
    return results


def _finite(value: Any) -> Any:
    """JSON has no NaN: an undefined metric (e.g. ρ of a constant baseline) becomes null."""
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
