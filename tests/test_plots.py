"""pipeline.plots: every chart returns a titled, labelled Figure, and survives empty input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_scored_folder
from matplotlib.figure import Figure

from pipeline import plots
from pipeline.features.providers import provider_keys
from pipeline.load import load_records
from pipeline.model import evaluate, holdout_importance, summary_table, training_rows


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = write_scored_folder(tmp_path_factory.mktemp("records"), n=40)
    return load_records(str(root)).frame


@pytest.fixture(scope="module")
def expanded(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = write_scored_folder(tmp_path_factory.mktemp("records"), n=40)
    return load_records(str(root), expand_related=True).frame


@pytest.fixture(scope="module")
def results(frame: pd.DataFrame) -> dict:
    return {p: evaluate(frame, p, n_splits=2) for p in ("random", "time")}


def titles(figure: Figure) -> list[str]:
    found = [ax.get_title() for ax in figure.axes if ax.get_title()]
    if figure._suptitle is not None:
        found.append(figure._suptitle.get_text())
    return found


def assert_readable(figure: Figure) -> None:
    """A title, and x and y labels on every axes that draws data."""
    assert isinstance(figure, Figure)
    assert titles(figure), "no title"
    drawn = [ax for ax in figure.axes if ax.axison]
    assert drawn, "nothing drawn"
    for ax in drawn:
        assert ax.get_xlabel(), f"axes {ax.get_title()!r} has no x label"
    assert any(ax.get_ylabel() for ax in drawn), "no y label"


def test_data_charts_are_titled_labelled_and_counted(
    frame: pd.DataFrame, expanded: pd.DataFrame
) -> None:
    scored = training_rows(frame)
    related = expanded.loc[expanded["is_related"].fillna(False)]
    charts = {
        "missing": plots.missing_values(frame),
        "distribution": plots.quality_distribution(scored["quality"]),
        "provider": plots.quality_by_provider(provider_keys(scored), scored["quality"], top=3),
        "structure": plots.quality_by_structure(scored),
        "coverage": plots.provider_coverage(
            provider_keys(scored),
            provider_keys(related),
            related["url_key"].isin(set(scored["url_key"])),
        ),
    }
    for name, figure in charts.items():
        assert_readable(figure)
        assert any("n = " in t or "n=" in t or "providers" in t for t in titles(figure)), name
    # the counts shown are the data's counts
    assert f"n = {len(scored):,} scored records" in " ".join(titles(charts["distribution"]))
    provider_ticks = [t.get_text() for t in charts["provider"].axes[0].get_yticklabels()]
    assert len(provider_ticks) == 3 and all("(n=" in t for t in provider_ticks)
    # providers by where they are seen; related entries copy vs new; per-provider stacks
    coverage = charts["coverage"]
    assert len(coverage.axes) == 3
    seen = dict(
        zip(
            [t.get_text() for t in coverage.axes[0].get_xticklabels()],
            [t.get_text() for t in coverage.axes[0].texts],
            strict=True,
        )
    )
    assert seen["related only"] == "2"  # the two providers only related entries mention
    assert len(plots.provider_coverage(["a.com"], ["a.com", "b.com"]).axes) == 2


def test_model_charts_are_titled_and_labelled(frame: pd.DataFrame, results: dict) -> None:
    table = summary_table(results)
    predictions = {name: r.predictions for name, r in results.items()}
    importance = holdout_importance(frame, n_repeats=1)
    figures = [
        plots.metrics_by_protocol(table),
        plots.predicted_vs_actual(predictions),
        plots.error_by_provider(results["random"].predictions, top=3),
        plots.feature_importance(importance),
    ]
    for figure in figures:
        assert_readable(figure)
    panels = [t for t in titles(figures[1]) if "MAE" in t]
    assert len(panels) == 2  # one panel per protocol, each with its n and MAE
    assert "n = " in titles(figures[3])[0]  # held-out count from the table's attrs
    ticks = [t.get_text() for t in figures[0].axes[0].get_xticklabels()]
    assert ticks[0].startswith("random") and "test)" in ticks[0]


def test_site_charts_are_titled_and_labelled(frame: pd.DataFrame) -> None:
    folds = pd.DataFrame(
        {"model_mae": [12.0, 6.5], "provider_mean_mae": [29.4, 25.3], "n": [191, 151]},
        index=["power-apps:k=0", "power-apps:k=40"],
    )
    classes = {"site": pd.DataFrame({"n": [191, 1481], "coverage": [1.0, 0.98],
                                     "median_width": [240.0, 1.0]},
                                    index=["new_site", "new_site_related"])}  # fmt: skip
    summary = pd.DataFrame(
        {"mean_abs_points": [20.0, 9.0], "site-a": [5.0, -3.0], "site-b": [-2.0, 1.0]},
        index=["provider_domain", "images"],
    )
    figures = [
        plots.few_shot_curve(folds),
        plots.coverage_by_class(classes, 0.9),
        plots.field_attributions(summary),
    ]
    for figure in figures:
        assert_readable(figure)
    labels = [t.get_text() for t in figures[1].axes[0].get_yticklabels()]
    assert labels == ["site\nnew_site (n=191)", "site\nnew_site_related (n=1,481)"]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.missing_values(pd.DataFrame()),
        lambda: plots.quality_distribution([]),
        lambda: plots.quality_by_provider([], []),
        lambda: plots.provider_coverage([], []),
        lambda: plots.predicted_vs_actual({}),
        lambda: plots.feature_importance(pd.DataFrame(columns=["group", "mae_increase"])),
        lambda: plots.metrics_by_protocol(pd.DataFrame(columns=["protocol", "estimator"])),
        lambda: plots.few_shot_curve(pd.DataFrame()),
        lambda: plots.coverage_by_class({}, 0.9),
        lambda: plots.field_attributions(pd.DataFrame()),
    ],
)
def test_empty_input_gives_a_titled_figure_not_a_crash(draw: Callable[[], Figure]) -> None:
    figure = draw()
    assert isinstance(figure, Figure) and titles(figure)


def test_save_writes_a_png_and_creates_the_folder(tmp_path: Path) -> None:
    path = plots.save(plots.quality_distribution([80, 87, 87, 107]), tmp_path / "a" / "q.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
