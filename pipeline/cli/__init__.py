"""`score` command line: thin typer wrappers over the library (one module per command group)."""

from __future__ import annotations

from pipeline.cli import _load, _model, _predict  # noqa: F401  (each module registers its commands)
from pipeline.cli._app import app
from pipeline.cli._entry import run

__all__ = ["app", "run"]
