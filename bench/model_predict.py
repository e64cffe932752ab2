"""The model's batch ``predict`` against one-row-at-a-time ``predict``, per record, same run.

Usage (from the repository root)::

    .venv/bin/python bench/model_predict.py [--rows 2000] [--one-rows 200] [--repeat 7]
                                            [--clock perf|process]

A model is trained (pipeline.model.train) on the corpus (../shared/corpus/diablo4 +
power-apps, or $AQ_CORPUS); the corpus frame is repeated to ``--rows`` rows. Timed on it:
``pipeline.model.predict`` on the whole batch (best of ``--repeat``), the same on each of the
first ``--one-rows`` rows alone (one DataFrame row per call, best of ``--repeat`` passes), and
``scoring_model(...).predict_table`` on the batch (what `score predict` calls, with the
related-entries step for small sites). Prints ms/record of each and the ratio one-row/batch,
and checks that each row's prediction alone equals its prediction in the batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline import model as M  # noqa: E402
from pipeline.load import load_records  # noqa: E402

CORPUS = Path(os.environ.get("AQ_CORPUS", ROOT.parent / "shared" / "corpus"))
SITES = ("diablo4", "power-apps")
CLOCK = time.perf_counter  # --clock process: time.process_time (CPU time of this process)


def batch(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """The frame repeated (fresh index) and cut to ``rows`` rows."""
    copies = -(-rows // len(frame))
    return pd.concat([frame] * copies, ignore_index=True).iloc[:rows].reset_index(drop=True)


def best_ms_per_record(fn: Callable[[], object], rows: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = CLOCK()
        fn()
        best = min(best, CLOCK() - start)
    return best * 1000.0 / rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows of the batch")
    parser.add_argument("--one-rows", type=int, default=200, help="rows predicted one at a time")
    parser.add_argument("--repeat", type=int, default=7, help="best of N runs")
    parser.add_argument("--clock", choices=("perf", "process"), default="perf")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "process" else time.perf_counter

    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    if frame.empty:
        sys.exit(f"no records in {CORPUS} (set AQ_CORPUS)")
    model = M.train(frame)
    X = batch(frame, args.rows)
    one = [X.iloc[[i]] for i in range(min(args.one_rows, len(X)))]

    M.predict(model, X)  # warm-up
    batch_ms = best_ms_per_record(lambda: M.predict(model, X), len(X), args.repeat)
    one_ms = best_ms_per_record(
        lambda: [M.predict(model, row) for row in one], len(one), args.repeat
    )
    scoring = M.scoring_model(model, X)
    scoring_ms = best_ms_per_record(lambda: scoring.predict_table(X), len(X), args.repeat)

    print(
        f"ms/record (best of {args.repeat}, {args.clock} clock; load "
        f"{os.getloadavg()[0]:.2f}; {os.cpu_count()} cores)"
    )
    print(f"  batch predict ({len(X)} rows)             {batch_ms:9.4f}")
    print(f"  scoring_model.predict_table ({len(X)} rows) {scoring_ms:9.4f}")
    print(f"  one row at a time ({len(one)} rows)          {one_ms:9.4f}")
    print(f"  ratio one-row / batch                  {one_ms / batch_ms:9.1f}x")

    alone = np.concatenate([M.predict(model, row) for row in one])
    together = M.predict(model, X)[: len(one)]
    diff = float(np.max(np.abs(alone - together))) if len(one) else 0.0
    same = bool(np.allclose(alone, together, rtol=0, atol=1e-9))
    print(f"  one-row vs batch predictions: allclose={same} max|diff|={diff:.3g}")


if __name__ == "__main__":
    main()
