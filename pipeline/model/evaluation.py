"""Evaluation protocols: the model and its baselines, fitted and tested on identical splits.

The prior is learned inside each training fold and the related lists of test records never
feed training; ``strict_related`` also removes test articles that reappear in training
records' related lists.
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

from pipeline.choices import DEFAULT_KIND, PROTOCOLS
from pipeline.errors import LoadError, UnusableDataError
from pipeline.features.providers import provider_keys
from pipeline.model.data import load_scored
from pipeline.model.estimator import anchor_prediction, make_model, predict, training_rows
from pipeline.model.metrics import global_mean_baseline, metrics, provider_mean_baseline
from pipeline.model.splits import splits, strip_test_articles
from pipeline.schema import TARGET


@dataclass
class EvaluationResult:
    """Outcome of one protocol: metrics per estimator and per-record out-of-fold predictions."""

    protocol: str
    kind: str
    seed: int
    metrics: dict[str, dict[str, float]]  # {"model"|"global_mean"|"provider_mean": {...}}
    predictions: pd.DataFrame  # id, fold, provider, site, y, pred, global_mean, provider_mean
    folds: list[dict[str, Any]] = field(default_factory=list)  # per-fold metrics of the model
    importances: pd.DataFrame | None = None
    strict_related: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (predictions omitted)."""
        return {
            "protocol": self.protocol,
            "kind": self.kind,
            "seed": self.seed,
            "metrics": self.metrics,
            "folds": self.folds,
        }

    def table(self) -> pd.DataFrame:
        """One row per estimator: mae, rmse, r2, spearman, n."""
        return pd.DataFrame(self.metrics).T.assign(protocol=self.protocol)


def evaluate(
    frame: pd.DataFrame,
    protocol: str,
    seed: int = 0,
    kind: str = DEFAULT_KIND,
    n_splits: int = 5,
    strict_related: bool = False,
) -> EvaluationResult:
    """Run one protocol; returns metrics for model and baselines on identical splits.

    The related lists of test records never reach training (test rows are only predicted).
    ``strict_related=True`` also removes, from the *training* records' related lists, every
    entry that is itself a test article (same URL) -- the pessimistic setting in which a
    held-out article's own score cannot come back through another record's list.
    """
    rows = training_rows(frame).reset_index(drop=True)
    y = rows[TARGET].astype(float).to_numpy()
    prov = provider_keys(rows).to_numpy(dtype=object)
    parts, fold_stats = [], []
    for name, tr, te in splits(rows, protocol, seed, n_splits):
        train_rows = rows.iloc[tr]
        if strict_related:
            train_rows = strip_test_articles(train_rows, rows.iloc[te])
        model = make_model(kind, seed).fit(train_rows, y[tr])
        pred = predict(model, rows.iloc[te])
        part = pd.DataFrame(
            {
                "id": rows["id"].iloc[te].to_numpy() if "id" in rows else te,
                "fold": name,
                "provider": prov[te],
                "site": rows["site"].iloc[te].to_numpy() if "site" in rows else None,
                "published_at": rows["published_at"].iloc[te].to_numpy(),
                "y": y[te],
                "pred": pred,
                "global_mean": global_mean_baseline(y[tr], len(te)),
                "provider_mean": provider_mean_baseline(prov[tr], y[tr], prov[te]),
                "prior_rule": anchor_prediction(model, rows.iloc[te]),
            }
        )
        parts.append(part)
        fold_stats.append({"fold": name, "n_train": len(tr), **metrics(y[te], pred)})
    preds = pd.concat(parts, ignore_index=True)
    result_metrics = {
        c: metrics(preds["y"], preds[c])
        for c in ("pred", "global_mean", "provider_mean", "prior_rule")
    }
    result_metrics["model"] = result_metrics.pop("pred")
    ordered = {
        k: result_metrics[k] for k in ("model", "global_mean", "provider_mean", "prior_rule")
    }
    if protocol == "site":  # each direction separately too
        for name, g in preds.groupby("fold", sort=True):
            for c, lab in (
                ("pred", "model"),
                ("provider_mean", "provider_mean"),
                ("prior_rule", "prior_rule"),
            ):
                ordered[f"{lab}[{name}]"] = metrics(g["y"], g[c])
    return EvaluationResult(
        str(protocol), str(kind), seed, ordered, preds, fold_stats, strict_related=strict_related
    )


def evaluate_all(
    frame: pd.DataFrame,
    protocols: Sequence[str] = PROTOCOLS,
    seed: int = 0,
    kind: str = DEFAULT_KIND,
) -> dict[str, EvaluationResult]:
    """Every protocol, keyed by name."""
    return {p: evaluate(frame, p, seed=seed, kind=kind) for p in protocols}


def summary_table(results: Mapping[str, EvaluationResult]) -> pd.DataFrame:
    """Long table protocol × estimator with MAE/RMSE/R²/ρ (what bench/evaluate.py prints)."""
    return pd.concat([r.table() for r in results.values()]).rename_axis("estimator").reset_index()


def evaluate_paths(
    paths: Sequence[str],
    protocols: Sequence[str] = ("random",),
    *,
    kind: str = DEFAULT_KIND,
    seed: int = 0,
    strict_related: bool = False,
    json_out: str | Path | None = None,
    report_dir: str | Path | None = None,
    on_error: Callable[[LoadError], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, EvaluationResult]:
    """`score evaluate` as one call: every protocol on the scored records of ``paths``, its
    metrics as JSON at ``json_out``, charts and a summary in ``report_dir``."""
    frame, _ = load_scored(paths, on_error=on_error, say=say)
    results = {}
    for name in dict.fromkeys(protocols):
        try:
            results[str(name)] = evaluate(
                frame, name, seed=seed, kind=kind, strict_related=strict_related
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
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
