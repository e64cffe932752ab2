"""Batch ``model.predict`` cost per record, step by step, optionally against an older commit.

Usage (from the repository root)::

    .venv/bin/python bench/model_predict.py [--rows 2000] [--repeat 15] [--against REV]
                                            [--clock perf|process]

A model is trained (pipeline.model.train) on the corpus (../shared/corpus/diablo4 +
power-apps, or $AQ_CORPUS), the corpus frame is repeated to ``--rows`` rows, and each step of
the fitted pipeline is timed on that batch: the guard, every ColumnTransformer part on its own
columns, the ColumnTransformer as a whole (its parts plus its own overhead), the remaining
steps, the final regressor, and the whole ``predict``. Times are best-of-``--repeat``
``perf_counter`` (the machine is shared: the minimum is the least disturbed run; ``--clock
process`` uses this process's CPU time instead), in milliseconds per record.

``--against REV`` exports ``pipeline/`` at git revision REV into a temp dir and runs this same
benchmark there in a child process (training its own model with that code), then prints both
columns and the ratio old/new. It also checks that predictions are unchanged: the old model
predicted by the new code, and the new model, against the old model predicted by the old code
(``np.allclose(rtol=0, atol=1e-9)``); loading the old model here also shows that an artifact
saved by REV still loads and predicts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The child process of --against imports the exported old package instead.
sys.path.insert(0, os.environ.get("AQ_BENCH_CODE", str(ROOT)))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline import model as M  # noqa: E402
from pipeline.load import load_records  # noqa: E402

CORPUS = Path(os.environ.get("AQ_CORPUS", ROOT.parent / "shared" / "corpus"))
SITES = ("diablo4", "power-apps")


def batch(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """The frame repeated (fresh index) and cut to ``rows`` rows."""
    copies = -(-rows // len(frame))
    return pd.concat([frame] * copies, ignore_index=True).iloc[:rows].reset_index(drop=True)


CLOCK = time.perf_counter  # --clock process: time.process_time (CPU time of this process)


def best_ms_per_record(fn: Callable[[], object], rows: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = CLOCK()
        fn()
        best = min(best, CLOCK() - start)
    return best * 1000.0 / rows


def step_times(model: Any, X: pd.DataFrame, repeat: int) -> dict[str, float]:
    """ms/record of each pipeline step on ``X`` (each step fed its real input)."""
    n = len(X)
    out: dict[str, float] = {}
    data: Any = X
    for name, step in model.steps[:-1]:
        if name == "features":
            for part, transformer, cols in step.transformers_:
                if part == "remainder" or transformer == "drop":
                    continue
                sub = data[cols]
                out[f"features/{part}"] = best_ms_per_record(
                    lambda t=transformer, s=sub: t.transform(s), n, repeat
                )
        out[name] = best_ms_per_record(lambda s=step, d=data: s.transform(d), n, repeat)
        data = step.transform(data)
    out["regressor"] = best_ms_per_record(lambda: model[-1].predict(data), n, repeat)
    out["predict (total)"] = best_ms_per_record(lambda: model.predict(X), n, repeat)
    return out


def run(rows: int, repeat: int) -> dict[str, Any]:
    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    model = M.train(frame)
    X = batch(frame, rows)
    times = step_times(model, X, repeat)
    return {"model": model, "X": X, "times": times, "pred": np.asarray(model.predict(X))}


def against(rev: str, rows: int, repeat: int, tmp: Path) -> dict[str, Any]:
    """Run this benchmark with ``pipeline/`` as of ``rev`` in a child process."""
    code = tmp / "code"
    code.mkdir()
    archive = subprocess.run(
        ["git", "archive", rev, "pipeline"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    out = tmp / "old.joblib"
    env = {**os.environ, "AQ_BENCH_CODE": str(code)}
    cmd = [sys.executable, __file__, "--rows", str(rows), "--repeat", str(repeat)]
    cmd += ["--clock", "process" if CLOCK is time.process_time else "perf"]
    subprocess.run([*cmd, "--save", str(out)], env=env, check=True)
    return joblib.load(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15, help="best of N runs per step")
    parser.add_argument("--against", metavar="REV", help="git revision to compare with")
    parser.add_argument("--clock", choices=("perf", "process"), default="perf")
    parser.add_argument("--save", type=Path, help=argparse.SUPPRESS)  # child of --against
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "process" else time.perf_counter

    if args.save:  # child: old code, results handed back in a file
        joblib.dump(run(args.rows, args.repeat), args.save)
        return

    with tempfile.TemporaryDirectory(prefix="bench-model-predict-") as tmp:
        old = against(args.against, args.rows, args.repeat, Path(tmp)) if args.against else None
        new = run(args.rows, args.repeat)

    print(f"ms/record on a batch of {args.rows} rows (best of {args.repeat}, {args.clock} clock)")
    if old is None:
        for step, ms in new["times"].items():
            print(f"  {step:<22} {ms:8.4f}")
        return
    print(f"  {'step':<22} {args.against[:10]:>10} {'now':>10} {'old/now':>8}")
    for step, ms in new["times"].items():
        was = old["times"].get(step, float("nan"))
        print(f"  {step:<22} {was:10.4f} {ms:10.4f} {was / ms:8.2f}x")
    X = new["X"]
    checks = {
        "old model, new code": np.asarray(old["model"].predict(X)),
        "new model, new code": new["pred"],
    }
    for label, pred in checks.items():
        same = bool(np.allclose(pred, old["pred"], rtol=0, atol=1e-9))
        diff = float(np.max(np.abs(pred - old["pred"]))) if len(pred) else 0.0
        print(f"  {label} vs old: allclose={same} max|diff|={diff:.3g}")
    print(json.dumps({"rows": args.rows, "repeat": args.repeat, "against": args.against}))


if __name__ == "__main__":
    main()
