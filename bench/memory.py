"""Peak memory of `score predict` on hostile-but-legal inputs, beside the normal corpus run.

Usage (from the repository root)::

    .venv/bin/python bench/memory.py [--large-bodies 300] [--blank-lines 40]

Three inputs, each scored by `score predict` in a child process, in the same run:

1. baseline: the Markdown corpus (../shared/corpus/diablo4 + power-apps, or $AQ_CORPUS);
2. large bodies: ``--large-bodies`` records with ~490 KB of body each (within every cap);
3. blank lines: a ``.jsonl.gz`` of the corpus's records as feed objects with ``--blank-lines``
   lines of 8 MiB of spaces between them (small on disk, large inflated).

For each: the peak RSS of the largest process (the kernel's count for the child and its
workers, read when they exit) and its ratio to the baseline. Memory is bounded by the caps
times the units in flight, so the ratios must stay small whatever the inputs hold.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("AQ_CORPUS", ROOT.parent / "shared" / "corpus"))
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
SCORE = [sys.executable, "-c", "from pipeline.console import main; main()"]


def peak_rss(args: list[str]) -> tuple[int, float]:
    """(exit status, peak RSS in MiB of the largest process) of `score ARGS`."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *SCORE, *args], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1]) / 1024


def large_bodies(folder: Path, n: int) -> Path:
    source = next((CORPUS / "diablo4").glob("*.md")).read_text(encoding="utf-8")
    body = ("lorem ipsum dolor sit amet " * 18_200)[:490_000]
    folder.mkdir(parents=True)
    for i in range(n):
        text = source.replace("title: ", f"title: Large {i} ", 1)
        (folder / f"{i:05d}.md").write_text(text + "\n" + body + "\n", encoding="utf-8")
    return folder


def blank_lines(path: Path, n: int) -> Path:
    pages = sorted((CORPUS / "feeds" / "diablo4-api").glob("*.json"))
    items = [item for page in pages for item in json.loads(page.read_text())["value"]]
    blank = b" " * (8 * 1024 * 1024 - 1) + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=6) as out:
        for i, item in enumerate(items):
            out.write(json.dumps(item).encode() + b"\n")
            if i % max(1, len(items) // n) == 0:
                out.write(blank)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large-bodies", type=int, default=300)
    parser.add_argument("--blank-lines", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        model = work / "m.joblib"
        corpus = [str(CORPUS / "diablo4"), str(CORPUS / "power-apps")]
        subprocess.run([*SCORE, "train", *corpus, "--model", str(model)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        cases = {
            "baseline (corpus .md)": corpus,
            f"large bodies ({args.large_bodies} x 490 KB)": [
                str(large_bodies(work / "large", args.large_bodies))
            ],
            f"blank lines ({args.blank_lines} x 8 MiB, .jsonl.gz)": [
                str(blank_lines(work / "blank" / "dump.jsonl.gz", args.blank_lines))
            ],
        }
        base = None
        for name, paths in cases.items():
            out = work / "scores.jsonl"
            status, rss = peak_rss(["predict", *paths, "--model", str(model), "--out", str(out)])
            base = base or rss
            print(f"{name:42s} exit {status}  peak RSS {rss:7.1f} MiB  ratio {rss / base:5.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
