"""A long run of the loader's property tests (tests/test_properties.py) with many examples.

CI runs each property with ~100 examples (the ``ci`` hypothesis profile, derandomized). This
runs the same properties under the ``long`` profile: random seeds, ``--examples`` per property
(default 2000), health checks off, and prints how many examples ran, how many failed, and how
long it took. A failure prints hypothesis's minimal example and its reproduction blob.

    .venv/bin/python bench/fuzz_properties.py --examples 2000 [--seed 123] [-k json]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_STATS = re.compile(
    r"(?P<passing>\d+) passing(?: examples| test cases)?, (?P<failing>\d+) failing"
    r"(?: examples| test cases)?,? (?:and )?(?P<invalid>\d+) invalid"
)
_TEST = re.compile(r"^tests/test_properties\.py::(\S+):", re.MULTILINE)


def run(examples: int, seed: int | None, select: str | None) -> int:
    """Run the properties; print the totals; return pytest's exit status."""
    env = dict(os.environ, HYPOTHESIS_PROFILE="long", PROPERTY_EXAMPLES=str(examples))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_properties.py",
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
    ]
    if seed is not None:
        command += ["--hypothesis-seed", str(seed)]
    if select:
        command += ["-k", select]
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    totals = {"passing": 0, "failing": 0, "invalid": 0}
    for match in _STATS.finditer(output):
        for key in totals:
            totals[key] += int(match[key])
    tests = sorted(set(_TEST.findall(output)))
    failed = re.findall(r"^FAILED (\S+)", output, re.MULTILINE)
    print(output if proc.returncode else output[-2000:])
    print(
        f"properties: {len(tests)}; examples run: {totals['passing'] + totals['failing']} "
        f"({totals['passing']} passing, {totals['failing']} failing, {totals['invalid']} "
        f"invalid); failed tests: {len(failed)}; time: {elapsed:.0f} s; "
        f"exit status: {proc.returncode}"
    )
    return proc.returncode


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per property")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default random)")
    parser.add_argument("-k", dest="select", default=None, help="pytest -k expression")
    args = parser.parse_args()
    sys.exit(run(args.examples, args.seed, args.select))


if __name__ == "__main__":
    main()
