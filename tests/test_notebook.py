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
    "predicted_vs_actual",
    "error_by_provider",
    "feature_importance",
}


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


def test_notebook_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbclient = pytest.importorskip("nbclient")
    records = write_scored_folder(tmp_path / "records", n=48)
    figures = tmp_path / "figures"
    monkeypatch.setenv("EXPLORE_RECORDS", str(records))
    monkeypatch.setenv("EXPLORE_FAST", "1")
    monkeypatch.setenv("EXPLORE_FIGURES", str(figures))
    notebook = read_notebook()
    # which interpreter ran the kernel: it must be this one (the venv), not a system python
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))

    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert notebook.cells[-1].outputs[0]["text"].strip() == sys.prefix
    assert {p.stem for p in figures.glob("*.png")} == CHARTS
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "skip site: needs at least two sites" in text
    images = sum(
        "image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", [])
    )
    assert images == len(CHARTS)  # each chart shown once inline
