"""`score` command line: thin typer wrappers over the library (one module per command group)."""

from __future__ import annotations

import os

# One OpenBLAS thread per `score` process unless the user chose otherwise. Its BLAS calls are
# tiny (a ridge fit, 1-D dots) and scoring runs one worker per core; extra OpenBLAS threads
# only cost CPU: each fork shuts them down and starts them again, and a started thread spins
# ~0.1 s waiting for work (~2 % of a `score predict` of 100k records, measured with perf).
# It must be set before numpy loads OpenBLAS, i.e. before the imports below.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pipeline.cli import _load, _model, _predict  # noqa: F401  (each module registers its commands)
from pipeline.cli._app import app
from pipeline.cli._entry import run

__all__ = ["app", "run"]
