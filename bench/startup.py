"""Start-up of `score predict` on one record: the fast-exit entry point against a plain exit.

Usage (from the repository root)::

    .venv/bin/python bench/startup.py [--model models/quality.joblib] [--runs 7]

Runs ``score predict <one corpus record>`` in child processes, alternating the console entry
point (``pipeline.cli.run``: exit handlers, flush, then ``os._exit``) with the typer app called
directly (``app()``: Python's normal interpreter teardown), and prints the median wall time of
each and their ratio. Both load the same model and write the same output; only the exit
differs. The corpus is ../shared/corpus beside the repository, or $AQ_CORPUS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("AQ_CORPUS", ROOT.parent / "shared" / "corpus"))
ENTRIES = {
    "fast exit (run)": "from pipeline.cli import run; run()",
    "plain exit (app)": "from pipeline.cli import app; app(prog_name='score')",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "quality.joblib"))
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    record = next((CORPUS / "diablo4").glob("*.md"), None)
    if record is None or not Path(options.model).exists():
        sys.exit(f"needs a record in {CORPUS}/diablo4 and a model at {options.model}")
    times: dict[str, list[float]] = {name: [] for name in ENTRIES}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        args = ["predict", str(record), "--model", options.model, "-o", f"{tmp}/one.csv"]
        for _ in range(options.runs):
            for name, code in ENTRIES.items():
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-c", code, *args], check=True, stderr=subprocess.DEVNULL
                )
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:18s} median {value:.2f} s over {options.runs} runs")
    fast, plain = medians.values()
    print(f"ratio: the fast exit takes {fast / plain:.2f}x the time ({plain - fast:.2f} s saved)")


if __name__ == "__main__":
    main()
