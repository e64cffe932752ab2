"""notebooks/explore.ipynb: committed clean, paired with its script, and runs end to end.

The run uses a small folder of synthetic records (one site, so the `site` protocol must be
skipped gracefully) in the notebook's fast mode, to stay well under a minute in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from helpers import write_scored_folder

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK = NOTEBOOKS / "explore.ipynb"
SCRIPT = NOTEBOOKS / "explore.py"
CHARTS = {
    "missing_values",
    "quality_distribution",
    "quality_by_provider",
    "quality_by_structure",
    "provider_coverage",
    "metrics_by_protocol",
    "coverage_by_class",
    "predicted_vs_actual",
    "error_by_provider",
    "field_attributions",
    "feature_importance",
}  # few_shot_curve needs two sites: the one-site folder skips it


def read_notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def test_committed_notebook_has_no_outputs() -> None:
    dirty = [
        index
        for index, cell in enumerate(read_notebook().cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"cells {dirty} have outputs: run "
        "`.venv/bin/python notebooks/strip_outputs.py notebooks/explore.ipynb`"
    )


def test_notebook_and_script_are_in_sync() -> None:
    jupytext = pytest.importorskip("jupytext")
    script = jupytext.read(SCRIPT)
    notebook = read_notebook()

    def sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
        return [(c.cell_type, c.source.strip()) for c in nb.cells]

    assert sources(script) == sources(notebook), (
        "explore.py and explore.ipynb differ: run `.venv/bin/jupytext --sync notebooks/explore.py`"
    )


def test_first_cell_sets_the_records_folder() -> None:
    first = read_notebook().cells[0]
    assert first.cell_type == "code" and "EXPLORE_RECORDS" in first.source


def test_notebook_runs_end_to_end_into_a_folder_of_its_own(tmp_path: Path) -> None:
    """`notebooks/execute.py OUT`: an executed copy and its HTML in OUT, every chart saved and
    shown once, tables and findings kept; the committed notebook untouched."""
    pytest.importorskip("nbclient")
    pytest.importorskip("nbconvert")
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        from execute import execute
    finally:
        sys.path.remove(str(NOTEBOOKS))
    committed = NOTEBOOK.read_bytes()
    records = write_scored_folder(tmp_path / "records", n=48)
    out = tmp_path / "run"
    executed, page = execute(out, str(records), fast=True)
    assert NOTEBOOK.read_bytes() == committed
    notebook = nbformat.read(executed, as_version=4)
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert f"python: {sys.prefix}" in text  # the kernel is this interpreter (the venv)
    assert "skip site: needs at least two sites" in text
    assert "skip few-shot: needs at least two sites" in text
    assert {p.stem for p in (out / "figures").glob("*.png")} == CHARTS
    assert sum("image/png" in o.get("data", {}) for o in outputs) == len(CHARTS)
    assert any("text/html" in o.get("data", {}) for o in outputs)  # tables, not only charts
    html = page.read_text(encoding="utf-8")
    assert "mean_abs_points" in html and html.count("<img") >= len(CHARTS)
