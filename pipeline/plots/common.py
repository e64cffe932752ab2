"""What every chart shares: figures without pyplot, saving, labels, colours.

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

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_MPL_VERSION = tuple(int(part) for part in matplotlib.__version__.split(".")[:2])
QUALITY_LABEL = "quality (aggregator points)"
ESTIMATOR_LABELS: dict[str, str] = {
    "model": "model",
    "global_mean": "baseline: global mean",
    "provider_mean": "baseline: provider mean",
    "shared_rule": "baseline: shared rule (no site part)",
}
ESTIMATOR_COLORS: dict[str, str] = {
    "model": "#1f77b4",
    "global_mean": "#bbbbbb",
    "provider_mean": "#ff7f0e",
    "shared_rule": "#2ca02c",
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


def empty(figure: Figure, title: str, message: str) -> Figure:
    """A titled figure saying why there is nothing to draw, rather than a blank or a crash."""
    ax = figure.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return figure


def boxplot(ax: Axes, data: list[np.ndarray], labels: list[str], horizontal: bool = False) -> None:
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


def numeric(values: Sequence[float] | pd.Series) -> np.ndarray:
    """Floats with missing values dropped (nullable pandas dtypes included)."""
    array = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    return array[~np.isnan(array)]
