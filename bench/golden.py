"""Digests of every output `score` writes on the corpus: to show a change altered none of them.

Usage (from the repository root)::

    .venv/bin/python bench/golden.py --write before.json    # on the old code
    .venv/bin/python bench/golden.py --check before.json    # on the new code: lists differences

Runs the `score` commands through the console entry point, in child processes, on
../shared/corpus (or $AQ_CORPUS): `load` (CSV, JSON Lines, Parquet; --related), `train` on
diablo4 + power-apps, `predict` on the feed pages (every format; --site; --interval and
--explain) and the Markdown records (--only-missing), `--write-back` on a temporary copy of
the records (both fields), and `evaluate` (every protocol, --strict-related, --json). It
compares the sha256 of each output file, written-back file and standard output, and each
exit status. The model file itself is not compared (a pickle names the modules of its
classes); its predictions are. Compare runs made with the same library versions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("AQ_CORPUS", ROOT.parent / "shared" / "corpus"))
SCORE = [sys.executable, "-c", "from pipeline.console import main; main()"]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(name: str, args: list[str], work: Path, results: dict[str, object]) -> None:
    proc = subprocess.run(
        [*SCORE, *args], cwd=work, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    results[f"{name}.status"] = proc.returncode
    results[f"{name}.stdout"] = digest(proc.stdout)
    for path in sorted(work.glob("out-*")):
        results[f"{name}.{path.name}"] = digest(path.read_bytes())
        path.unlink()


def collect(work: Path) -> dict[str, object]:
    results: dict[str, object] = {}
    d4, pa, feeds = CORPUS / "diablo4", CORPUS / "power-apps", CORPUS / "feeds" / "diablo4-api"
    for suffix in ("csv", "jsonl", "parquet"):
        run(
            f"load-{suffix}",
            ["load", str(d4), str(pa), "--out", f"out-load.{suffix}"],
            work,
            results,
        )
    run("load-related", ["load", str(d4), "--related", "--out", "out-load.jsonl"], work, results)
    run("load-feeds", ["load", str(feeds), "--out", "out-load.jsonl"], work, results)
    model = Path("model") / "quality.joblib"  # relative: the temporary folder never shows
    run("train", ["train", str(d4), str(pa), "--model", str(model)], work, results)
    base = ["--model", str(model)]
    for suffix in ("csv", "jsonl", "parquet"):
        out = f"out-predict.{suffix}"
        run(f"predict-feeds-{suffix}", ["predict", str(feeds), *base, "--out", out], work, results)
    site = ["--site", "diablo4"]
    run(
        "predict-feeds-site",
        ["predict", str(feeds), *base, *site, "--out", "out-site.csv"],
        work,
        results,
    )
    extra = ["--interval", "--level", "0.8", "--explain", "--top", "4"]
    run("predict-feeds-explain", ["predict", str(feeds), *base, *extra], work, results)
    run("predict-md", ["predict", str(d4), str(pa), *base, "--out", "out-md.csv"], work, results)
    run("predict-missing", ["predict", str(d4), *base, "--only-missing"], work, results)
    copy = Path("copy") / "diablo4"
    shutil.copytree(d4, work / copy)
    for name, flags in (("quality", ["--only-missing"]), ("pred", [])):
        run(
            f"write-back-{name}",
            ["predict", str(copy), *base, "--write-back", *flags],
            work,
            results,
        )
        for path in sorted((work / copy).iterdir()):
            results[f"write-back-{name}:{path.name}"] = digest(path.read_bytes())
    for protocol in ("random", "time", "provider", "site", "few-shot"):
        args = ["evaluate", str(d4), str(pa), "--protocol", protocol, "--json", "out-eval.json"]
        run(f"evaluate-{protocol}", args, work, results)
    args = ["evaluate", str(d4), "--protocol", "provider", "--strict-related"]
    run("evaluate-strict", [*args, "--json", "out-eval.json"], work, results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, help="record the digests in this JSON file")
    action.add_argument("--check", type=Path, help="compare with digests recorded earlier")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = collect(Path(tmp))
    if args.write is not None:
        args.write.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(f"{len(results)} digests -> {args.write}")
        return 0
    before = json.loads(args.check.read_text())
    differ = sorted(k for k in before.keys() | results.keys() if before.get(k) != results.get(k))
    for key in differ:
        print(f"differs: {key}: {before.get(key)} -> {results.get(key)}")
    print(f"{len(results)} digests, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
