"""Loader throughput: the project's loader against a plain `frontmatter.load` loop, same run.

The corpus (diablo4 + power-apps) is copied into a temporary folder enough times to reach
``--records`` (default 10,000), then loaded both ways; the script prints records/s for each and
their ratio. The copies are deleted afterwards.

    python bench/load.py [--records 10000] [--jobs N] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs each")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        files = replicate(args.corpus, args.records, Path(tmp))
        for path in files:  # warm the page cache so both sides read from memory
            Path(path).read_bytes()

        plain_times, ours_times = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            plain_count = plain_loop(files)
            plain_times.append(time.perf_counter() - start)

            start = time.perf_counter()
            result = load_records([tmp], jobs=args.jobs, duplicates="keep")
            ours_times.append(time.perf_counter() - start)
            assert not result.errors, result.errors[:3]
            assert len(result.frame) == plain_count == len(files)

    plain_rate = len(files) / min(plain_times)
    ours_rate = len(files) / min(ours_times)
    print(f"records               {len(files)}")
    print(f"cores                 {os.cpu_count()}")
    print(f"frontmatter.load loop {plain_rate:10.0f} records/s")
    print(f"pipeline loader       {ours_rate:10.0f} records/s  (jobs={args.jobs or 'auto'})")
    print(f"ratio                 {ours_rate / plain_rate:10.1f}x")


if __name__ == "__main__":
    main()
