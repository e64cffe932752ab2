"""The `score` console script: settings for the process itself, then the command line.

Why a module outside ``pipeline.cli``: one setting must be made before numpy loads OpenBLAS,
that is before ``pipeline.cli`` (which imports pandas) is imported, and only in the `score`
process: a notebook or a program importing ``pipeline.cli`` keeps its environment as it is.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

# Variables OpenBLAS reads for its thread count (the first one set wins).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread(environ: MutableMapping[str, str]) -> None:
    """One OpenBLAS thread, unless the user chose a thread count.

    The BLAS calls here are tiny (a ridge fit, 1-D dots) and scoring runs one worker process
    per core, so more OpenBLAS threads only cost CPU: each fork stops and restarts them, and a
    started thread spins ~0.1 s waiting for work (~2 % of a 100k-record `score predict`,
    measured with perf). Outputs are the same either way.
    """
    if not any(name in environ for name in BLAS_THREAD_VARIABLES):
        environ["OPENBLAS_NUM_THREADS"] = "1"


def main() -> None:
    """Run `score` (the console script)."""
    one_blas_thread(os.environ)
    from pipeline.cli import run

    run()
