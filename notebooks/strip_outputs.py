"""Strip outputs from notebooks before committing them (or, with --check, fail if any remain).

Why: an executed notebook carries the corpus's text (titles, URLs in tables) and PNG blobs;
neither belongs in the repository, and both drown a diff. Usage, from the repo root:

    .venv/bin/python notebooks/strip_outputs.py notebooks/explore.ipynb          # strip in place
    .venv/bin/python notebooks/strip_outputs.py --check notebooks/explore.ipynb  # exit 1 if dirty

tests/test_notebook.py makes the same check in CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

# Cell metadata keys that change on every run and say nothing about the content.
VOLATILE_CELL_KEYS: tuple[str, ...] = ("execution", "collapsed", "scrolled", "ExecuteTime")


def is_dirty(notebook: nbformat.NotebookNode) -> bool:
    """True when any code cell has outputs or an execution count."""
    return any(
        cell.get("outputs") or cell.get("execution_count") is not None
        for cell in notebook.cells
        if cell.cell_type == "code"
    )


def strip(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs, execution counts and run-time cell metadata (in place; returned)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
    notebook.metadata.pop("widgets", None)
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if dirty")
    args = parser.parse_args(argv)
    dirty = []
    for path in args.notebooks:
        notebook = nbformat.read(path, as_version=4)
        if not is_dirty(notebook):
            continue
        dirty.append(path)
        if not args.check:
            nbformat.write(strip(notebook), path)
            print(f"stripped {path}")
    if args.check and dirty:
        print("notebooks with outputs: " + ", ".join(map(str, dirty)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
