"""Loader throughput: the project's loader against a plain `frontmatter.load` loop, same run.

    .venv/bin/python bench/load.py [--records 10000] [--repeat 3] [--jobs N]
                                   [--outputs parquet,jsonl,csv] [--corpus ../shared/corpus]

The Markdown corpus (diablo4 + power-apps) is copied into a temporary folder until there are
at least ``--records`` files (deleted afterwards), then loaded both ways, alternately,
``--repeat`` times; it prints the best records/s of each, their ratio, and the 1-minute load
average after each run (the machine is shared). Then `score load FOLDER --out table.EXT` runs
as users run it (a child process: start-up and writing the table included) for each of
``--outputs``, and its best rate is printed as a ratio to the in-process loader's.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import frontmatter

from pipeline.load import load_records

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def replicate(corpus: Path, target: int, into: Path) -> list[str]:
    """Copy the corpus's Markdown records into ``into`` until there are at least ``target``."""
    originals = sorted(
        glob.glob(str(corpus / "diablo4" / "*.md")) + glob.glob(str(corpus / "power-apps" / "*.md"))
    )
    files: list[str] = []
    copy = 0
    while len(files) < target:
        folder = into / f"copy{copy:03d}"
        folder.mkdir()
        for original in originals:
            destination = folder / os.path.basename(original)
            shutil.copyfile(original, destination)
            files.append(str(destination))
        copy += 1
    return files


def plain_loop(files: list[str]) -> int:
    """What a user would write first: one `frontmatter.load` (PyYAML) per file."""
    return sum(1 for path in files if frontmatter.load(path).metadata)


def score_load(folder: str, out: Path, jobs: int | None) -> float:
    """Seconds of one `score load FOLDER --out OUT` in a child process, as a user runs it."""
    script = Path(sys.executable).with_name("score")
    argv = [str(script), "load", folder, "--out", str(out)]
    if jobs:
        argv += ["--jobs", str(jobs)]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    out.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs each")
    parser.add_argument("--outputs", default="parquet", help="`score load --out` formats")
    args = parser.parse_args()
    outputs = [ext.strip() for ext in args.outputs.split(",") if ext.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        data = Path(tmp) / "records"
        data.mkdir()
        files = replicate(args.corpus, args.records, data)
        for path in files:  # warm the page cache so both sides read from memory
            Path(path).read_bytes()

        plain_times, ours_times, loads = [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            plain_count = plain_loop(files)
            plain_times.append(time.perf_counter() - start)

            start = time.perf_counter()
            result = load_records([str(data)], jobs=args.jobs, duplicates="keep")
            ours_times.append(time.perf_counter() - start)
            assert not result.errors, result.errors[:3]
            assert len(result.frame) == plain_count == len(files)
            loads.append(os.getloadavg()[0])
            print(
                f"run {len(loads)}: plain {len(files) / plain_times[-1]:,.0f} records/s, "
                f"loader {len(files) / ours_times[-1]:,.0f} records/s, load {loads[-1]:.2f}",
                flush=True,
            )
        command_times = {
            ext: min(
                score_load(str(data), Path(tmp) / f"table.{ext}", args.jobs)
                for _ in range(args.repeat)
            )
            for ext in outputs
        }

    plain_rate = len(files) / min(plain_times)
    ours_rate = len(files) / min(ours_times)
    print(f"records               {len(files)}")
    print(f"cores                 {os.cpu_count()}")
    print(f"frontmatter.load loop {plain_rate:10.0f} records/s")
    print(f"pipeline loader       {ours_rate:10.0f} records/s  (jobs={args.jobs or 'auto'})")
    print(f"ratio                 {ours_rate / plain_rate:10.1f}x  (best of {args.repeat} each)")
    for ext, seconds in command_times.items():
        rate = len(files) / seconds
        print(
            f"score load --out .{ext:<8} {rate:8.0f} records/s  (child process, start-up and "
            f"writing included; in-process loader / this: {ours_rate / rate:.2f}x)"
        )
    print(f"load average          {', '.join(f'{value:.2f}' for value in loads)} (after each run)")


if __name__ == "__main__":
    main()
