"""The evaluation report of ``score evaluate --report DIR``: PNG charts and a Markdown summary.

Why a file report: metrics printed in a terminal are read once and lost; a folder of charts
and a summary with the baselines beside the model can be attached to a review or compared
between two runs. The charts come from :mod:`pipeline.plots`, the same functions the
exploration notebook uses, so the two never disagree on how a chart is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import plots
from pipeline.model import (
    EvaluationResult,
    summary_table,
    training_rows,
)
from pipeline.model.importance import holdout_importance

SUMMARY_NAME = "summary.md"
BASELINES: tuple[str, ...] = ("global_mean", "provider_mean", "prior_rule")
ERROR_COLUMNS: tuple[str, ...] = (
    "title",
    "provider_name",
    "provider_domain",
    "type",
    "image_count",
    "amp_url",
    "url",
    "source",
)


def largest_errors(predictions: pd.DataFrame, frame: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` out-of-fold predictions furthest from the truth, joined to their records.

    Why: an aggregate MAE hides whether errors are noise or one systematic miss (a provider
    tier the model does not know, a structure bonus it misses); reading the records tells.
    """
    records = training_rows(frame).drop_duplicates("id").set_index("id")
    columns = [c for c in ERROR_COLUMNS if c in records.columns]
    errors = predictions.assign(error=predictions["pred"] - predictions["y"])
    errors = errors.assign(abs_error=errors["error"].abs())
    top = errors.sort_values("abs_error", ascending=False).head(n)
    joined = top.join(records[columns], on="id")
    return joined.reset_index(drop=True)


def _format_number(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.{digits}f}"
    return str(value)


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub Markdown table (no ``tabulate`` dependency); pipes in cells are escaped."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    lines = [header, rule]
    for row in table.itertuples(index=False):
        cells = [_format_number(v, digits).replace("|", "\\|").replace("\n", " ") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metrics_markdown(results: Mapping[str, EvaluationResult]) -> str:
    """The metrics of every protocol with the baselines, as one Markdown table."""
    table = summary_table(results)
    table = table[["protocol", "estimator", "mae", "rmse", "r2", "spearman", "n"]].copy()
    table["n"] = table["n"].astype(int)
    return markdown_table(table)


def _reading(results: Mapping[str, EvaluationResult]) -> list[str]:
    """One sentence per protocol: the model against the better baseline."""
    lines = []
    for name, result in results.items():
        model = result.metrics["model"]["mae"]
        baselines = {
            k: result.metrics[k]["mae"] for k in BASELINES if k in result.metrics
        }  # prior_rule (the model's anchor alone) too: across sites it beats the model
        best = min(baselines, key=lambda k: baselines[k])
        change = model / baselines[best] - 1 if baselines[best] else float("nan")
        verdict = (
            f"{-change:.0%} lower than" if model < baselines[best] else f"{change:.0%} higher than"
        )
        lines.append(
            f"- **{name}**: model MAE {model:.2f} vs {best.replace('_', ' ')} "
            f"{baselines[best]:.2f} on {int(result.metrics['model']['n']):,} test records "
            f"— {verdict} the best baseline."
        )
    return lines


def write_report(
    results: dict[str, EvaluationResult], frame: pd.DataFrame, directory: Path
) -> Path:
    """Write charts and ``summary.md`` for ``results`` into ``directory``; return the summary.

    Files: ``metrics.png`` (MAE per protocol, model vs baselines), ``predicted_vs_actual.png``,
    ``error_by_provider_<protocol>.png`` per protocol, ``feature_importance.png`` (measured on
    the time holdout), and ``summary.md`` linking them with the metrics table.
    """
    if not results:
        raise ValueError("no evaluation results to report")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    first = next(iter(results.values()))
    written: dict[str, str] = {}

    def keep(name: str, figure: object) -> None:
        plots.save(figure, directory / name)  # type: ignore[arg-type]
        written[name] = name

    keep("metrics.png", plots.metrics_by_protocol(summary_table(results)))
    keep(
        "predicted_vs_actual.png",
        plots.predicted_vs_actual({k: r.predictions for k, r in results.items()}),
    )
    for name, result in results.items():
        keep(
            f"error_by_provider_{name}.png",
            plots.error_by_provider(result.predictions, title=f"Error by provider ({name})"),
        )

    importance = next((r.importances for r in results.values() if r.importances is not None), None)
    importance_note = ""
    if importance is None:
        try:
            importance = holdout_importance(frame, kind=first.kind, seed=first.seed)
            importance_note = (
                f"Fitted on the older 80 %, shuffled on the newest 20 % "
                f"({importance.attrs['n']:,} records)."
            )
        except ValueError as exc:  # too few records for a time split: say so, do not fail
            importance_note = f"Not measured: {exc}."
    if importance is not None:
        keep("feature_importance.png", plots.feature_importance(importance))

    rows = training_rows(frame)
    lines = [
        "# Evaluation report",
        "",
        f"Estimator `{first.kind}`, seed {first.seed}; {len(rows):,} scored records "
        f"from {rows['site'].nunique()} site(s), "
        f"{rows['provider_domain'].nunique()} provider domains.",
        "",
        "## Metrics (out-of-fold, model beside the baselines)",
        "",
        "MAE and RMSE in quality points (lower is better); R² and Spearman ρ unitless.",
        "",
        metrics_markdown(results),
        "",
        *_reading(results),
        "",
        "![MAE per protocol](metrics.png)",
        "",
        "## Predicted vs actual",
        "",
        "![Predicted vs actual](predicted_vs_actual.png)",
        "",
        "## Error by provider",
        "",
        *[f"![Error by provider, {name}](error_by_provider_{name}.png)" for name in results],
        "",
        "## Feature importance",
        "",
        importance_note,
        "",
    ]
    if importance is not None:
        lines += ["![Feature importance](feature_importance.png)", ""]
        lines += [markdown_table(importance[["group", "columns", "mae_increase", "std"]]), ""]
    name, result = next(iter(results.items()))
    errors = largest_errors(result.predictions, frame, n=10)
    shown = errors[[c for c in ("y", "pred", "error", "provider", "fold", "title") if c in errors]]
    shown = (
        shown.assign(title=shown["title"].astype(str).str.slice(0, 80))
        if "title" in shown
        else shown
    )
    lines += [f"## Largest errors ({name})", "", markdown_table(shown, digits=1), ""]
    summary = directory / SUMMARY_NAME
    summary.write_text("\n".join(lines), encoding="utf-8")
    return summary
