"""Run the exploration notebook headless; write an executed copy (notebook and HTML).

Usage (from the repository root)::

    .venv/bin/python notebooks/execute.py OUT_DIR [--records PATH] [--fast]

Writes ``OUT_DIR/explore.ipynb`` (with every output: tables, printed findings, charts),
``OUT_DIR/explore.html`` (the same, to open in a browser) and ``OUT_DIR/figures/*.png``. The
committed ``notebooks/explore.ipynb`` is only read, never written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "explore.ipynb"


def execute(out: Path, records: str | None = None, fast: bool = False) -> tuple[Path, Path]:
    """Execute a copy of the notebook in its own folder (relative paths as in Jupyter); save
    the executed copy and its HTML rendering under ``out``."""
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    settings = {"EXPLORE_FIGURES": str((out / "figures").resolve())}
    if records is not None:
        settings["EXPLORE_RECORDS"] = str(Path(records).resolve())
    if fast:
        settings["EXPLORE_FAST"] = "1"
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=1800,
        resources={"metadata": {"path": str(HERE)}},
    )
    saved = dict(os.environ)
    os.environ.update(settings)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    executed = out / "explore.ipynb"
    nbformat.write(notebook, executed)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    page = out / "explore.html"
    page.write_text(html, encoding="utf-8")
    return executed, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the executed copy (made if missing)")
    parser.add_argument("--records", help="records to explore (default: ../shared/corpus)")
    parser.add_argument("--fast", action="store_true", help="2 folds, one importance repeat")
    args = parser.parse_args()
    if args.out.resolve() == HERE:
        sys.exit("error: choose a folder other than notebooks/ (the committed notebook stays clean)")
    try:
        executed, page = execute(args.out, args.records, args.fast)
    except ImportError as exc:
        sys.exit(f"error: {exc.name} is missing: pip install -e '.[dev]'")
    print(f"wrote {executed} and {page}")


if __name__ == "__main__":
    main()
