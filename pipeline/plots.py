"""Every chart of the project, shared by ``score evaluate --report`` and notebooks/explore.ipynb.

Why one module: a chart drawn in two places drifts apart (a label fixed in one, not the other),
so the report and the notebook both call these functions and nothing else draws.

Each function takes plain data (frames, series, mappings of frames) and returns a
:class:`matplotlib.figure.Figure`. Figures are built without ``pyplot``: no global figure
registry to leak memory in a long report run, and no GUI backend needed -- saving goes through
Agg whatever backend is configured. In a notebook, a returned figure shows inline (after
``%matplotlib inline``). Every chart carries a title, axis labels with units and the counts it
is based on, so it can be read without the code that made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_MPL_VERSION = tuple(int(part) for part in matplotlib.__version__.split(".")[:2])
QUALITY_LABEL = "quality (aggregator points)"
ESTIMATOR_LABELS: dict[str, str] = {
    "model": "model",
    "global_mean": "baseline: global mean",
    "provider_mean": "baseline: provider mean",
}
ESTIMATOR_COLORS: dict[str, str] = {
    "model": "#1f77b4",
    "global_mean": "#bbbbbb",
    "provider_mean": "#ff7f0e",
}


def new_figure(width: float = 9.0, height: float = 5.5) -> Figure:
    """A figure attached to an Agg canvas (PNG output with no display and no pyplot state)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``figure`` as a PNG (creating the folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path


def _empty(figure: Figure, title: str, message: str) -> Figure:
    """A titled figure saying why there is nothing to draw, rather than a blank or a crash."""
    ax = figure.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return figure


def _boxplot(ax: Axes, data: list[np.ndarray], labels: list[str], horizontal: bool = False) -> None:
    """Box plots with a mean marker; tick labels set apart so any matplotlib >= 3.8 works.

    (``boxplot``'s own label and orientation arguments were renamed in 3.9 and 3.10.)
    """
    keywords = {"orientation": "horizontal"} if horizontal else {}
    if horizontal and _MPL_VERSION < (3, 10):
        keywords = {"vert": False}
    ax.boxplot(
        data,
        widths=0.6,
        showmeans=True,
        meanprops={"marker": "D", "markerfacecolor": "white", "markersize": 4},
        **keywords,
    )
    positions = range(1, len(data) + 1)
    if horizontal:
        ax.set_yticks(list(positions), labels)
    else:
        ax.set_xticks(list(positions), labels)


def _numeric(values: Sequence[float] | pd.Series) -> np.ndarray:
    """Floats with missing values dropped (nullable pandas dtypes included)."""
    array = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    return array[~np.isnan(array)]


# ---- the data ---------------------------------------------------------------------------------
def missing_values(frame: pd.DataFrame, title: str = "Missing values per column") -> Figure:
    """Share of rows with no value, per schema column (empty lists and strings count as set)."""
    figure = new_figure(9.0, max(4.0, 0.26 * len(frame.columns) + 1.5))
    if frame.empty:
        return _empty(figure, title, "no records")
    missing = frame.isna().sum().sort_values()
    share = 100.0 * missing / len(frame)
    ax = figure.add_subplot()
    bars = ax.barh(missing.index.astype(str), share.to_numpy(), color="#1f77b4")
    for bar, count in zip(bars, missing.to_numpy(), strict=True):
        ax.text(
            bar.get_width() + 0.5,
            bar.get_y() + bar.get_height() / 2,
            f"{int(count):,}",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, 112)
    ax.set_xlabel(f"rows missing the column (% of {len(frame):,} rows; label = count)")
    ax.set_ylabel("column")
    ax.set_title(f"{title} (n = {len(frame):,} rows)")
    ax.tick_params(axis="y", labelsize=8)
    return figure


def quality_distribution(
    quality: Sequence[float] | pd.Series, title: str = "Distribution of quality"
) -> Figure:
    """Histogram of the target, with mean and median marked (its shape decides the metrics)."""
    values = _numeric(quality)
    figure = new_figure(9.0, 5.0)
    if values.size == 0:
        return _empty(figure, title, "no scored records")
    ax = figure.add_subplot()
    low, high = np.floor(values.min() / 5) * 5, np.ceil(values.max() / 5) * 5 + 5
    ax.hist(values, bins=np.arange(low, high + 5, 5), color="#1f77b4", edgecolor="white")
    mean, median = float(values.mean()), float(np.median(values))
    ax.axvline(mean, color="black", linestyle="--", label=f"mean {mean:.1f}")
    ax.axvline(median, color="#d62728", linestyle=":", label=f"median {median:.1f}")
    ax.set_xlabel(f"{QUALITY_LABEL}, bins of 5")
    ax.set_ylabel("records (count)")
    ax.set_title(f"{title} (n = {values.size:,} scored records)")
    ax.legend()
    return figure


def quality_by_provider(
    providers: Sequence[str] | pd.Series,
    quality: Sequence[float] | pd.Series,
    top: int = 15,
    title: str = "Quality by provider",
) -> Figure:
    """Box plot of quality for the ``top`` providers with the most scored records."""
    data = pd.DataFrame(
        {"provider": pd.Series(providers, dtype=object).to_numpy(), "q": _as_float(quality)}
    ).dropna()
    figure = new_figure(9.0, max(4.0, 0.38 * min(top, data["provider"].nunique()) + 1.8))
    if data.empty:
        return _empty(figure, title, "no scored records")
    counts = data["provider"].value_counts().head(top)
    order = list(counts.index[::-1])  # largest at the top
    ax = figure.add_subplot()
    _boxplot(
        ax,
        [data.loc[data["provider"] == p, "q"].to_numpy() for p in order],
        [f"{p} (n={counts[p]})" for p in order],
        horizontal=True,
    )
    ax.set_xlabel(f"{QUALITY_LABEL}; box = quartiles, line = median, ◇ = mean")
    ax.set_ylabel("provider domain (scored records)")
    shown = int(counts.sum())
    ax.set_title(
        f"{title}: top {len(order)} of {data['provider'].nunique()} providers "
        f"({shown:,} of {len(data):,} records)"
    )
    ax.grid(axis="x", alpha=0.3)
    return figure


def _as_float(values: Sequence[float] | pd.Series) -> np.ndarray:
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)


def structure_groups(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The structural splits shown by :func:`quality_by_structure`, as labelled series."""
    image = pd.to_numeric(frame["image_count"], errors="coerce").fillna(0) > 0
    amp = frame["amp_url"].notna() | frame["cdn_amp_url"].notna()
    return {
        "image": image.map({True: "has image", False: "no image"}),
        "AMP page": amp.map({True: "has AMP", False: "no AMP"}),
        "type": frame["type"].astype(object).fillna("(missing)"),
    }


def quality_by_structure(frame: pd.DataFrame, title: str = "Quality by structure") -> Figure:
    """Quality split by image / AMP link / type: the bonuses the aggregator's rule adds."""
    figure = new_figure(11.0, 4.8)
    scored = frame.loc[frame["quality"].notna()]
    if scored.empty:
        return _empty(figure, title, "no scored records")
    q = _as_float(scored["quality"])
    groups = structure_groups(scored)
    axes = figure.subplots(1, len(groups), sharey=True)
    for ax, (name, labels) in zip(np.atleast_1d(axes), groups.items(), strict=True):
        levels = sorted(labels.unique(), key=str)
        data = [q[(labels == level).to_numpy()] for level in levels]
        _boxplot(
            ax, data, [f"{level}\n(n={len(d):,})" for level, d in zip(levels, data, strict=True)]
        )
        for i, d in enumerate(data, start=1):
            if len(d):
                ax.text(i, float(np.mean(d)), f" {np.mean(d):.0f}", va="bottom", fontsize=8)
        ax.set_title(name)
        ax.set_xlabel(name)
        ax.grid(axis="y", alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel(f"{QUALITY_LABEL}; line = median, ◇ = mean")
    figure.suptitle(f"{title} (n = {len(scored):,} scored records)")
    return figure


def provider_coverage(
    main_providers: Sequence[str] | pd.Series,
    related_providers: Sequence[str] | pd.Series,
    related_is_main: Sequence[bool] | pd.Series | None = None,
    top: int = 15,
    title: str = "What related entries add",
) -> Figure:
    """What scored related entries add: new providers, new articles, observations per provider.

    Left: distinct providers seen only in main records, in both, or only in related entries
    (related-only providers would be unknown to a model trained on main records alone).
    Middle (when ``related_is_main`` is given): related entries that are the same article as
    a main record (a copy: no new information, and a leak if it crosses a train/test split)
    against genuinely new articles. Right: the providers with the most related entries, with
    their main records, related copies and related new articles stacked.
    """
    main = pd.Series(main_providers, dtype=object).reset_index(drop=True)
    related = pd.Series(related_providers, dtype=object).reset_index(drop=True)
    if related_is_main is None:
        copies = pd.Series(False, index=related.index)
    else:
        copies = pd.Series(related_is_main, dtype=object).reset_index(drop=True)
        copies = copies.fillna(False).astype(bool)
    figure = new_figure(14.0, 5.8)
    if main.dropna().empty and related.dropna().empty:
        return _empty(figure, title, "no providers")
    seen_main, seen_related = set(main.dropna()), set(related.dropna())
    kinds = {
        "main only": len(seen_main - seen_related),
        "both": len(seen_main & seen_related),
        "related only": len(seen_related - seen_main),
    }
    with_copies = related_is_main is not None
    ratios = [1.0, 1.0, 2.6] if with_copies else [1.0, 2.6]
    axes = figure.subplots(1, len(ratios), width_ratios=ratios)
    left, right = axes[0], axes[-1]
    bars = left.bar(list(kinds), list(kinds.values()), color=["#1f77b4", "#9467bd", "#2ca02c"])
    left.bar_label(bars, labels=[f"{v:,}" for v in kinds.values()])
    left.set_ylabel("distinct providers (count)")
    left.set_xlabel("where the provider is seen")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_title(f"{len(seen_main | seen_related):,} providers in all", fontsize=10)
    if with_copies:
        middle = axes[1]
        split = {"copy of a\nmain record": int(copies.sum()), "new\narticle": int((~copies).sum())}
        bars = middle.bar(list(split), list(split.values()), color=["#bcbd22", "#2ca02c"])
        middle.bar_label(bars, labels=[f"{v:,}" for v in split.values()])
        middle.set_ylabel("distinct scored related entries (count)")
        middle.set_xlabel("related entry is ...")
        middle.set_title(f"{len(related):,} related entries", fontsize=10)

    counts = pd.DataFrame(
        {
            "main": main.value_counts(),
            "copy": related[copies.to_numpy()].value_counts(),
            "new": related[~copies.to_numpy()].value_counts(),
        }
    ).fillna(0)
    counts["related"] = counts["copy"] + counts["new"]
    shown = (
        counts.loc[counts["related"] > 0]
        .sort_values(["related", "new"], ascending=False)
        .head(top)
        .iloc[::-1]
    )
    if shown.empty:
        right.text(0.5, 0.5, "no related entries", ha="center", transform=right.transAxes)
        right.set_axis_off()
    else:
        y = np.arange(len(shown))
        parts = (
            ("main", "main records", "#1f77b4"),
            ("copy", "related: copy of a main record", "#bcbd22"),
            ("new", "related: new article", "#2ca02c"),
        )
        start = np.zeros(len(shown))
        for column, label, color in parts:
            if column == "copy" and not with_copies:
                continue
            right.barh(y, shown[column], left=start, color=color, label=label)
            start = start + shown[column].to_numpy()
        right.set_yticks(y, [str(p) for p in shown.index], fontsize=8)
        for yi, row in enumerate(shown.itertuples()):
            numbers = (row.main, row.copy, row.new) if with_copies else (row.main, row.new)
            text = " " + " + ".join(str(int(v)) for v in numbers)
            right.text(start[yi], yi, text, va="center", fontsize=8)
        right.set_xlim(0, 1.25 * float(start.max()))
        right.set_xlabel("scored observations (count)")
        right.set_ylabel("provider domain")
        right.set_title(f"{len(shown)} providers with the most related entries", fontsize=10)
        right.legend(loc="lower right", fontsize=8)
    figure.suptitle(f"{title}: {len(main):,} main records, {len(related):,} scored related entries")
    return figure


# ---- the model --------------------------------------------------------------------------------
def metrics_by_protocol(
    table: pd.DataFrame, metric: str = "mae", title: str = "Model vs baselines"
) -> Figure:
    """Grouped bars of one metric per protocol for the model and both baselines.

    ``table`` is :func:`pipeline.model.summary_table` output (protocol, estimator, metrics);
    per-fold rows such as ``model[test=x]`` are left out, only the pooled estimators shown.
    """
    figure = new_figure(9.0, 5.0)
    rows = table.loc[table["estimator"].isin(list(ESTIMATOR_LABELS))]
    if rows.empty:
        return _empty(figure, title, "no evaluation results")
    protocols = list(dict.fromkeys(rows["protocol"]))
    ax = figure.add_subplot()
    width = 0.8 / len(ESTIMATOR_LABELS)
    x = np.arange(len(protocols))
    for i, (estimator, label) in enumerate(ESTIMATOR_LABELS.items()):
        values = [_lookup(rows, protocol, estimator, metric) for protocol in protocols]
        bars = ax.bar(
            x + (i - 1) * width, values, width, label=label, color=ESTIMATOR_COLORS[estimator]
        )
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
        return _empty(figure, title, "no predictions")
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
        return _empty(figure, title, "no predictions")
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
        return _empty(figure, title, "no importances")
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
