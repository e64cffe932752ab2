"""Charts of the model: protocols beside baselines, errors, sites, intervals, attributions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pipeline.plots.common import (
    ESTIMATOR_COLORS,
    ESTIMATOR_LABELS,
    QUALITY_LABEL,
    empty,
    new_figure,
)


def metrics_by_protocol(
    table: pd.DataFrame, metric: str = "mae", title: str = "Model vs baselines"
) -> Figure:
    """Grouped bars of one metric per protocol for the model and the baselines.

    ``table`` is :func:`pipeline.model.summary_table` output (protocol, estimator, metrics);
    per-fold rows such as ``model[test=x]`` are left out, only the pooled estimators shown.
    """
    figure = new_figure(9.0, 5.0)
    rows = table.loc[table["estimator"].isin(list(ESTIMATOR_LABELS))]
    if rows.empty:
        return empty(figure, title, "no evaluation results")
    protocols = list(dict.fromkeys(rows["protocol"]))
    ax = figure.add_subplot()
    width = 0.8 / len(ESTIMATOR_LABELS)
    x = np.arange(len(protocols))
    for i, (estimator, label) in enumerate(ESTIMATOR_LABELS.items()):
        values = [_lookup(rows, protocol, estimator, metric) for protocol in protocols]
        offset = (i - (len(ESTIMATOR_LABELS) - 1) / 2) * width
        bars = ax.bar(x + offset, values, width, label=label, color=ESTIMATOR_COLORS[estimator])
        ax.bar_label(
            bars, labels=[f"{v:.1f}" if np.isfinite(v) else "" for v in values], fontsize=8
        )
    counts = [int(_lookup(rows, p, "model", "n")) for p in protocols]
    ax.set_xticks(x, [f"{p}\n(n={n:,} test)" for p, n in zip(protocols, counts, strict=True)])
    unit = "quality points" if metric in {"mae", "rmse"} else "unitless"
    ax.set_ylabel(
        f"{metric.upper()} ({unit}); lower is better"
        if unit != "unitless"
        else f"{metric} (unitless)"
    )
    ax.set_xlabel("evaluation protocol (out-of-fold test records)")
    ax.set_title(f"{title}: {metric.upper()} per protocol")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return figure


def _lookup(rows: pd.DataFrame, protocol: str, estimator: str, metric: str) -> float:
    hit = rows.loc[(rows["protocol"] == protocol) & (rows["estimator"] == estimator), metric]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def predicted_vs_actual(
    predictions: Mapping[str, pd.DataFrame], title: str = "Predicted vs actual quality"
) -> Figure:
    """One scatter panel per protocol: out-of-fold prediction against the true quality.

    ``predictions`` maps a protocol name to :attr:`EvaluationResult.predictions` (columns
    ``y`` and ``pred``). Points on the diagonal are exact; the band shows ±10 points.
    """
    names = [name for name, frame in predictions.items() if len(frame)]
    columns = min(2, max(1, len(names)))
    rows = -(-len(names) // columns) if names else 1
    figure = new_figure(5.2 * columns + 0.5, 4.6 * rows + 0.4)
    if not names:
        return empty(figure, title, "no predictions")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        frame = predictions[name]
        y, pred = frame["y"].to_numpy(float), frame["pred"].to_numpy(float)
        low = float(min(y.min(), pred.min())) - 5
        high = float(max(y.max(), pred.max())) + 5
        ax.fill_between(
            [low, high],
            [low - 10, high - 10],
            [low + 10, high + 10],
            color="#dddddd",
            label="±10 points",
        )
        ax.plot([low, high], [low, high], color="black", linewidth=1, label="exact")
        ax.scatter(y, pred, s=9, alpha=0.35, color="#1f77b4", edgecolors="none")
        mae = float(np.mean(np.abs(y - pred)))
        within = float(np.mean(np.abs(y - pred) <= 10)) * 100
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal")
        ax.set_title(f"{name}: n={len(y):,}, MAE {mae:.1f}, {within:.0f}% within ±10", fontsize=10)
        ax.set_xlabel(f"actual {QUALITY_LABEL}")
        ax.set_ylabel(f"predicted {QUALITY_LABEL}")
        ax.legend(loc="upper left", fontsize=8)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    figure.suptitle(f"{title} (out-of-fold, one panel per protocol)")
    return figure


def error_by_provider(
    predictions: pd.DataFrame, top: int = 15, title: str = "Error by provider"
) -> Figure:
    """Mean absolute error of the model and the provider-mean baseline, per provider.

    The ``top`` providers with the most test records; the count is in each label, so a large
    error on three records is not mistaken for a systematic failure.
    """
    figure = new_figure(9.0, max(4.0, 0.4 * top + 1.8))
    if predictions.empty:
        return empty(figure, title, "no predictions")
    frame = predictions.assign(
        model=(predictions["pred"] - predictions["y"]).abs(),
        provider_mean=(predictions["provider_mean"] - predictions["y"]).abs(),
    )
    grouped = frame.groupby("provider", dropna=False).agg(
        n=("y", "size"), model=("model", "mean"), provider_mean=("provider_mean", "mean")
    )
    shown = grouped.sort_values("n", ascending=False).head(top).iloc[::-1]
    ax = figure.add_subplot()
    y = np.arange(len(shown))
    height = 0.4
    for offset, column in ((height / 2, "model"), (-height / 2, "provider_mean")):
        bars = ax.barh(
            y + offset,
            shown[column],
            height,
            color=ESTIMATOR_COLORS[column],
            label=ESTIMATOR_LABELS[column],
        )
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in shown[column]], fontsize=7, padding=2)
    ax.set_yticks(y, [f"{p} (n={n})" for p, n in zip(shown.index, shown["n"], strict=True)])
    ax.set_xlabel("mean absolute error (quality points); lower is better")
    ax.set_ylabel("provider domain (test records)")
    ax.set_title(
        f"{title}: top {len(shown)} of {len(grouped)} providers "
        f"({int(shown['n'].sum()):,} of {len(frame):,} test records)"
    )
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return figure


def feature_importance(
    table: pd.DataFrame, title: str = "Feature importance (permutation)"
) -> Figure:
    """Horizontal bars of :func:`pipeline.model.feature_importance` output, with ±1 std.

    Units are quality points: how much the MAE grows when a group of input columns is
    shuffled, i.e. how much of the model's accuracy that information carries.
    """
    figure = new_figure(9.0, max(4.0, 0.42 * len(table) + 1.8))
    if table.empty:
        return empty(figure, title, "no importances")
    shown = table.sort_values("mae_increase").reset_index(drop=True)
    ax = figure.add_subplot()
    bars = ax.barh(
        [
            f"{g}\n[{c}]" if len(str(c)) < 40 else str(g)
            for g, c in zip(shown["group"], shown["columns"], strict=True)
        ],
        shown["mae_increase"],
        xerr=shown.get("std"),
        color=["#1f77b4" if v > 0 else "#bbbbbb" for v in shown["mae_increase"]],
        capsize=3,
    )
    std = shown["std"].fillna(0) if "std" in shown else pd.Series(0.0, index=shown.index)
    span = float(max((shown["mae_increase"].clip(lower=0) + std).max(), 1e-9))
    for bar, value, spread in zip(bars, shown["mae_increase"], std, strict=True):
        # right of the bar and its error bar, never over the tick labels for values <= 0
        ax.text(
            max(float(value), 0.0) + float(spread) + 0.015 * span,
            bar.get_y() + bar.get_height() / 2,
            f"{value:+.2f}",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(min(0.0, float(shown["mae_increase"].min())) - 0.02 * span, 1.12 * span)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("MAE increase when the group is shuffled (quality points); ±1 std")
    ax.set_ylabel("input column group [columns]")
    ax.tick_params(axis="y", labelsize=8)
    n = f" (n = {int(table.attrs['n']):,} records)" if "n" in table.attrs else ""
    ax.set_title(f"{title}{n}")
    ax.grid(axis="x", alpha=0.3)
    return figure


def few_shot_curve(
    folds: pd.DataFrame, title: str = "A new site, learned from a few records"
) -> Figure:
    """Per site: MAE on its newer records against how many of its oldest records trained the
    model (``k``; 0: the site never seen), beside the provider-mean baseline.

    ``folds`` is :meth:`EvaluationResult.fold_table` of the few-shot protocol (index
    ``site:k=N``, columns ``model_mae``, ``provider_mean_mae``, ``n``).
    """
    figure = new_figure(9.0, 5.0)
    if folds.empty:
        return empty(figure, title, "no few-shot folds")
    parsed = folds.assign(
        site=[str(name).split(":k=")[0] for name in folds.index],
        k=[int(str(name).split(":k=")[1]) for name in folds.index],
    )
    ax = figure.add_subplot()
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf"]
    for i, (site, rows) in enumerate(parsed.groupby("site", sort=True)):
        rows = rows.sort_values("k")
        color = colors[i % len(colors)]
        ax.plot(rows["k"], rows["model_mae"], "o-", color=color, label=f"{site}: model")
        ax.plot(rows["k"], rows["provider_mean_mae"], "s--", color=color, alpha=0.5,
                label=f"{site}: provider mean")  # fmt: skip
        for k, mae, n in zip(rows["k"], rows["model_mae"], rows["n"], strict=True):
            ax.annotate(f"{mae:.1f} (n={int(n)})", (k, mae), textcoords="offset points",
                        xytext=(4, 6), fontsize=8)  # fmt: skip
    ax.set_xlabel("the site's oldest scored records in training (k)")
    ax.set_ylabel("MAE on its newer records (quality points); lower is better")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure


def coverage_by_class(
    classes: Mapping[str, pd.DataFrame], level: float, title: str = "Interval coverage"
) -> Figure:
    """Per protocol and novelty class: the share of records inside their interval, beside the
    level promised, and the median width (label).

    ``classes`` maps a protocol to :meth:`EvaluationResult.class_table` (index: class;
    columns ``n``, ``coverage``, ``median_width``).
    """
    figure = new_figure(9.0, 5.0)
    rows = [
        (protocol, cls, row) for protocol, table in classes.items() for cls, row in table.iterrows()
    ]
    if not rows:
        return empty(figure, title, "no intervals evaluated")
    ax = figure.add_subplot()
    labels = [f"{protocol}\n{cls} (n={int(row['n']):,})" for protocol, cls, row in rows]
    values = [float(row["coverage"]) for _, _, row in rows]
    bars = ax.barh(labels, values, color=["#1f77b4" if v >= level else "#d62728" for v in values])
    for bar, (_, _, row) in zip(bars, rows, strict=True):
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                f"{row['coverage']:.2f}, width {row['median_width']:.1f}", va="center",
                fontsize=8)  # fmt: skip
    ax.axvline(level, color="black", linestyle="--", label=f"level {level:g}")
    ax.set_xlim(0, 1.35)
    ax.set_xlabel("records inside their interval (share); median width in quality points")
    ax.set_ylabel("protocol / novelty class")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title)
    ax.legend(loc="lower right")
    return figure


def field_attributions(
    summary: pd.DataFrame, title: str = "What moves the predictions, by field"
) -> Figure:
    """Mean absolute points per record field (the explanations' contributions), and the signed
    mean per site beside it.

    ``summary``: :func:`pipeline.predict.explain.summarise` output (index: field; columns
    ``mean_abs_points``, then one column of signed mean points per site).
    """
    figure = new_figure(9.5, max(4.0, 0.45 * len(summary) + 2.0))
    if summary.empty:
        return empty(figure, title, "no explanations")
    shown = summary.sort_values("mean_abs_points")
    sites = [c for c in shown.columns if c != "mean_abs_points"]
    left, right = figure.subplots(1, 2, sharey=True)
    left.barh(shown.index, shown["mean_abs_points"], color="#1f77b4")
    left.set_xlabel("mean |points| per record")
    left.set_ylabel("record field")
    left.set_title("how much", fontsize=10)
    height = 0.8 / max(len(sites), 1)
    y = np.arange(len(shown))
    for i, site in enumerate(sites):
        right.barh(y + (i - (len(sites) - 1) / 2) * height, shown[site], height, label=site)
    right.axvline(0, color="black", linewidth=0.8)
    right.set_xlabel("mean points, signed (+: above the reference record)")
    right.set_title("which way, per site", fontsize=10)
    right.legend(fontsize=8)
    figure.suptitle(title)
    return figure
