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
from pipeline.features.observations import record_observations
from pipeline.model import scoring_model, train
from pipeline.model.estimator import training_rows
from pipeline.model.evaluation import BASELINES, EvaluationResult, summary_table
from pipeline.model.importance import holdout_importance
from pipeline.predict.explain import explain_dataset, summarise, typical_record

SUMMARY_NAME = "summary.md"
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
    columns = ["protocol", "estimator", "mae", "rmse", "r2", "spearman", "n"]
    columns += [c for c in ("coverage", "median_width") if c in table]
    table = table[columns].copy()
    table["n"] = table["n"].astype(int)
    return markdown_table(table)


def _reading(results: Mapping[str, EvaluationResult]) -> list[str]:
    """One sentence per protocol: the model against the best baseline."""
    lines = []
    for name, result in results.items():
        model = result.metrics["model"]["mae"]
        baselines = {k: result.metrics[k]["mae"] for k in BASELINES if k in result.metrics}
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


def dataset_attributions(frame: pd.DataFrame) -> pd.DataFrame:
    """Field attributions over the records: a model fitted on them explains up to 300 of each
    site against a typical training record (what `score predict --explain` gives per row)."""
    rows = training_rows(frame).reset_index(drop=True)
    model = train(rows)
    reference = typical_record(rows, record_observations(rows), model.predict(rows))
    explanation, sites = explain_dataset(scoring_model(model), rows, reference)
    return summarise(explanation.contributions, sites)


def write_report(
    results: dict[str, EvaluationResult], frame: pd.DataFrame, directory: Path
) -> Path:
    """Write charts and ``summary.md`` for ``results`` into ``directory``; return the summary.

    Files: ``metrics.png`` (MAE per protocol, model vs baselines), ``coverage.png`` (interval
    coverage per novelty class), ``few_shot.png`` (with the few-shot protocol),
    ``predicted_vs_actual.png``, ``error_by_provider_<protocol>.png``, ``attributions.png``
    (what each record field moves), ``permutation_importance.png`` (for developers), and
    ``summary.md`` linking them with the tables.
    """
    if not results:
        raise ValueError("no evaluation results to report")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    first = next(iter(results.values()))

    def keep(name: str, figure: object) -> str:
        plots.save(figure, directory / name)  # type: ignore[arg-type]
        return name

    rows = training_rows(frame)
    metrics_chart = keep("metrics.png", plots.metrics_by_protocol(summary_table(results)))
    lines = [
        "# Evaluation report",
        "",
        f"Seed {first.seed}; {len(rows):,} scored records from {rows['site'].nunique()} "
        f"site(s), {rows['provider_domain'].nunique()} provider domains; intervals at "
        f"{first.level:g}.",
        "",
        "## Metrics (out-of-fold, model beside the baselines)",
        "",
        "MAE and RMSE in quality points (lower is better); R² and Spearman ρ unitless. "
        "`shared_rule` is what the sites share alone: the rule's prices and the providers' "
        "shared tiers, without any site's own part.",
        "",
        metrics_markdown(results),
        "",
        *_reading(results),
        "",
        f"![MAE per protocol]({metrics_chart})",
        "",
    ]
    for name in ("site", "few-shot"):
        if name in results:
            lines += [
                f"## {name}, per fold",
                "",
                markdown_table(results[name].fold_table().reset_index()),
                "",
            ]
    if "few-shot" in results:
        chart = keep("few_shot.png", plots.few_shot_curve(results["few-shot"].fold_table()))
        lines += [f"![Few-shot curve]({chart})", ""]
    classes = {name: r.class_table() for name, r in results.items() if len(r.class_table())}
    if classes:
        lines += ["## Intervals per novelty class", ""]
        for name, table in classes.items():
            lines += [f"{name}:", "", markdown_table(table.reset_index()), ""]
        chart = keep("coverage.png", plots.coverage_by_class(classes, first.level))
        lines += [f"![Coverage per novelty class]({chart})", ""]
    predicted = keep(
        "predicted_vs_actual.png",
        plots.predicted_vs_actual({k: r.predictions for k, r in results.items()}),
    )
    lines += ["## Predicted vs actual", "", f"![Predicted vs actual]({predicted})", ""]
    lines += ["## Error by provider", ""]
    for name, result in results.items():
        chart = keep(
            f"error_by_provider_{name}.png",
            plots.error_by_provider(result.predictions, title=f"Error by provider ({name})"),
        )
        lines += [f"![Error by provider, {name}]({chart})", ""]
    lines += _attribution_section(frame, keep)
    lines += _importance_section(frame, first.seed, keep)
    name, result = next(iter(results.items()))
    errors = largest_errors(result.predictions, frame, n=10)
    shown = errors[[c for c in ("y", "pred", "error", "provider", "fold", "title") if c in errors]]
    if "title" in shown:
        shown = shown.assign(title=shown["title"].astype(str).str.slice(0, 80))
    lines += [f"## Largest errors ({name})", "", markdown_table(shown, digits=1), ""]
    summary = directory / SUMMARY_NAME
    summary.write_text("\n".join(lines), encoding="utf-8")
    return summary


def _attribution_section(frame: pd.DataFrame, keep: object) -> list[str]:
    lines = ["## What moves the predictions", ""]
    try:
        table = dataset_attributions(frame)
    except ValueError as exc:  # too few records to fit
        return [*lines, f"Not measured: {exc}.", ""]
    chart = keep("attributions.png", plots.field_attributions(table))  # type: ignore[operator]
    return [
        *lines,
        "Mean absolute points each record field adds against a typical training record (the "
        "same contributions as `score predict --explain`), and their signed mean per site.",
        "",
        markdown_table(table.reset_index().rename(columns={"index": "field"}), digits=2),
        "",
        f"![Field attributions]({chart})",
        "",
    ]


def _importance_section(frame: pd.DataFrame, seed: int, keep: object) -> list[str]:
    """For developers: how much accuracy shuffling each field's columns costs."""
    lines = ["## For developers: permutation importance", ""]
    try:
        importance = holdout_importance(frame, seed=seed)
    except ValueError as exc:  # too few records for a time split: say so, do not fail
        return [*lines, f"Not measured: {exc}.", ""]
    chart = keep("permutation_importance.png", plots.feature_importance(importance))  # type: ignore[operator]
    return [
        *lines,
        "Fitted on the older 80 %, shuffled on the newest 20 % of each site "
        f"({importance.attrs['n']:,} records): the MAE increase when a field's columns are "
        "shuffled.",
        "",
        f"![Permutation importance]({chart})",
        "",
        markdown_table(importance[["group", "columns", "mae_increase", "std"]]),
        "",
    ]
