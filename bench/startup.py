"""Start-up costs of `score predict`, each as an A/B pair run alternately in the same run.

Usage (from the repository root)::

    .venv/bin/python bench/startup.py [--model models/quality.joblib] [--runs 5]
                                      [--records 5000,20000]

1. The exit, on one record: the console entry point (``pipeline.cli.run``: exit handlers,
   flush, then ``os._exit``) against the typer app called directly (``app()``: Python's
   normal interpreter teardown of scipy, scikit-learn and pandas).
2. Parsing ahead, on the Markdown corpus copied up to each of ``--records``: ``--parse-ahead``
   (one worker parses the first records while the model loads) against ``--no-parse-ahead``,
   both through the `score` console script (``pipeline.console.main``).

Each pair runs in child processes, A then B, ``--runs`` times; medians and their ratio are
printed (this machine is noisy: compare within a run, not across runs). The corpus is
../shared/corpus beside the repository, or $AQ_CORPUS.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from predict import CONSOLE, copy_corpus, corpus_files

ROOT = Path(__file__).resolve().parents[1]
RUN = "from pipeline.cli import run; run()"  # the fast exit alone (A/B against APP)
APP = "from pipeline.cli import app; app(prog_name='score')"


def timed(code: str, args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def compare(label: str, a: tuple[str, str, list[str]], b: tuple[str, str, list[str]], runs: int):
    """Run A and B alternately ``runs`` times; print both medians and B/A."""
    times: dict[str, list[float]] = {a[0]: [], b[0]: []}
    for _ in range(runs):
        for name, code, args in (a, b):
            times[name].append(timed(code, args))
    median_a, median_b = (statistics.median(times[name]) for name in (a[0], b[0]))
    print(f"{label}:")
    print(f"  {a[0]:22s} median {median_a:6.2f} s")
    print(f"  {b[0]:22s} median {median_b:6.2f} s")
    print(f"  ratio {median_a / median_b:.2f} ({median_b - median_a:+.2f} s for {b[0]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "quality.joblib"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", default="5000,20000", help="input sizes for parse-ahead")
    options = parser.parse_args()
    files = corpus_files()
    if not Path(options.model).exists():
        sys.exit(f"no model at {options.model} (run `score train`)")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as name:
        tmp = Path(name)
        one = ["predict", str(files[0]), "--model", options.model, "-o", f"{tmp}/one.csv"]
        compare(
            "exit, one record",
            ("fast exit (run)", RUN, one),
            ("plain exit (app)", APP, one),
            options.runs,
        )
        for size in (int(s) for s in options.records.split(",")):
            folder = tmp / f"copies{size}"
            n = copy_corpus(files, folder, size)
            args = ["predict", str(folder), "--model", options.model, "-o", f"{tmp}/out.csv"]
            compare(
                f"parse ahead, {n:,} records",
                ("--parse-ahead", CONSOLE, [*args, "--parse-ahead"]),
                ("--no-parse-ahead", CONSOLE, [*args, "--no-parse-ahead"]),
                options.runs,
            )


if __name__ == "__main__":
    main()
