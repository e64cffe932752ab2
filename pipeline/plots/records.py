"""Charts of the records: what is missing, how quality spreads, by provider and structure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.plots.common import QUALITY_LABEL, boxplot, empty, new_figure, numeric


def missing_values(frame: pd.DataFrame, title: str = "Missing values per column") -> Figure:
    """Share of rows with no value, per schema column (empty lists and strings count as set)."""
    figure = new_figure(9.0, max(4.0, 0.26 * len(frame.columns) + 1.5))
    if frame.empty:
        return empty(figure, title, "no records")
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
    values = numeric(quality)
    figure = new_figure(9.0, 5.0)
    if values.size == 0:
        return empty(figure, title, "no scored records")
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
        return empty(figure, title, "no scored records")
    counts = data["provider"].value_counts().head(top)
    order = list(counts.index[::-1])  # largest at the top
    ax = figure.add_subplot()
    boxplot(
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
        return empty(figure, title, "no scored records")
    q = _as_float(scored["quality"])
    groups = structure_groups(scored)
    axes = figure.subplots(1, len(groups), sharey=True)
    for ax, (name, labels) in zip(np.atleast_1d(axes), groups.items(), strict=True):
        levels = sorted(labels.unique(), key=str)
        data = [q[(labels == level).to_numpy()] for level in levels]
        boxplot(
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
        return empty(figure, title, "no providers")
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
