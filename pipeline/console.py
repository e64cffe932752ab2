"""The `score` console script (what ``pyproject.toml`` installs)."""

from __future__ import annotations


def main() -> None:
    """Run `score`: the command line, with its signal handling and exit status."""
    from pipeline.cli import run

    run()
