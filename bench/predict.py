"""End-to-end `score predict` throughput and memory, and the feed MAE against the .md twins.

Usage (from the repository root)::

    .venv/bin/python bench/predict.py [--model models/quality.joblib] [--records 20000,100000]
                                      [--plain-sample 500] [--rss 10,100] [--jobs N]
                                      [--repeat 3]
    .venv/bin/python bench/predict.py --feed-mae

Throughput: the Markdown corpus (../shared/corpus/diablo4 + power-apps) is copied into a temp
dir until there are >= each of ``--records`` files (deleted afterwards) and scored by `score
predict` in a child process (wall clock, start-up included; nothing samples the run meanwhile,
its peak RSS comes from the kernel's count at exit), ``--repeat`` times: the median is
reported, with every run's rate beside it, since this machine's speed changes within seconds.
Start-up (Python, pandas and scikit-learn imports, model load and check: 1.6-2 s) is timed on
one record and also reported apart, since at 20,000 records it is a large share of the run.
In the same run a plain loop (``frontmatter.load`` each file, build one row dict,
``model.predict`` one row) runs over the first ``--plain-sample`` files; its rate is per
record, so the sample only limits the run time. The model's own batch ``predict`` and the
loader alone are timed too, to show where time goes.

Memory: the corpus is converted to JSON API objects and repeated 10x and 100x (~180k records)
into a JSON Lines dump; the peak RSS of the `score predict` process tree (psutil, sampled
every 50 ms) must not grow with the dump.

The corpus is ../shared/corpus beside the repository, or $AQ_CORPUS.
Without ``--model`` (and no models/quality.joblib) a model is trained on the corpus first
(pipeline.model.train, ~30 s) and saved in the temp dir.

``--feed-mae``: score the 36 JSON feed pages (../shared/corpus/feeds/diablo4-api, 883 records)
and compare to the known quality of their .md twins (joined on id), with models trained on:
everything (the twins are training data: an in-sample number); everything but the twins; the
same with the twins also removed from other records' related lists (their scores leak through
the provider prior otherwise); and a time split (oldest 80 % of scored records, tested on the
feed records published after the cut).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import model as M
from pipeline.artifact import load_artifact, save_artifact
from pipeline.load import load_records
from pipeline.load.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("AQ_CORPUS", ROOT.parent / "shared" / "corpus"))
SITES = ("diablo4", "power-apps")
FEED = CORPUS / "feeds" / "diablo4-api"


def corpus_files() -> list[Path]:
    files = sorted(p for site in SITES for p in (CORPUS / site).glob("*.md"))
    if not files:
        sys.exit(f"no corpus at {CORPUS} (set AQ_CORPUS)")
    return files


CONSOLE = "from pipeline.console import main; main()"  # what the `score` script runs


def score_command() -> list[str]:
    script = Path(sys.executable).with_name("score")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", CONSOLE]


# ---- setup ----------------------------------------------------------------------------------
def copy_corpus(files: list[Path], target: Path, records: int) -> int:
    """Copies of the corpus (site folders kept, so the `site` column is right) up to ``records``."""
    copies = -(-records // len(files))
    for i in range(copies):
        for site in SITES:
            folder = target / f"copy{i:03d}" / site
            folder.mkdir(parents=True)
            for path in files:
                if path.parent.name == site:
                    shutil.copyfile(path, folder / path.name)
    return copies * len(files)


def api_objects(files: list[Path]) -> list[str]:
    """Each Markdown record as one JSON API object line (front matter keys + content)."""
    import frontmatter

    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    lines = []
    for path in files:
        post = frontmatter.load(path)
        lines.append(json.dumps({**plain(post.metadata), "content": post.content}))
    return lines


def get_model(path: str | None, tmp: Path) -> Path:
    if path:
        return Path(path)
    default = ROOT / "models" / "quality.joblib"
    if default.exists():
        return default
    print("no model given: training one on the corpus (pipeline.model.train) ...", flush=True)
    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    return save_artifact(M.train(frame, seed=0), tmp / "quality.joblib")


# ---- measurements ---------------------------------------------------------------------------
# Runs the command given in argv and prints its wall time, the peak RSS of its largest process
# (itself or any worker: RUSAGE_CHILDREN covers every waited-for descendant) and its exit.
_TIMED = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def timed_predict(args: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS of the largest process (MiB), exit) of one `score predict`.

    Nothing watches the run meanwhile: a psutil sampler of the process tree every 50 ms took
    ~0.4 s of CPU per 10 s (measured), CPU that a 2-core run then lacks. A fresh wrapper
    process per run, so that the peak is this run's alone.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _TIMED, *score_command(), "predict", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, max_kib, code = proc.stdout.split()
    return float(seconds), int(max_kib) // 1024, int(code)


def run_predict(args: list[str]) -> tuple[float, int, int, int]:
    """(seconds, peak RSS of the largest process, peak RSS of the process tree (MiB), exit).

    The tree (the command plus its parser/scoring workers) is sampled every 50 ms with psutil
    (resource.getrusage(RUSAGE_CHILDREN) would only give the largest process, cumulated over
    every child this script ever ran).
    """
    import psutil

    start = time.perf_counter()
    child = psutil.Popen([*score_command(), "predict", *args], stdout=subprocess.DEVNULL)
    tree_peak = single_peak = 0
    while child.poll() is None:
        total = 0
        try:
            for proc in [child, *child.children(recursive=True)]:
                rss = proc.memory_info().rss
                total += rss
                single_peak = max(single_peak, rss)
        except psutil.Error:
            pass  # a worker ended between listing and reading
        tree_peak = max(tree_peak, total)
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    return seconds, single_peak // 2**20, tree_peak // 2**20, child.returncode


def plain_loop(files: list[Path], model: Any) -> float:
    """Records/s of the naive way: parse each file, one row dict, predict one row at a time."""
    import frontmatter

    start = time.perf_counter()
    for path in files:
        post = frontmatter.load(path)
        row = normalize(post.metadata, post.content, str(path), path.parent.name)
        model.predict(pd.DataFrame([row]))
    return len(files) / (time.perf_counter() - start)


def model_only(model: Any, frame: pd.DataFrame) -> float:
    """Records/s of the model's batch predict alone (frame already loaded, batches of 2000)."""
    frame = pd.concat([frame] * max(1, -(-2000 // len(frame))), ignore_index=True).head(2000)
    model.predict(frame)  # warm-up
    start = time.perf_counter()
    model.predict(frame)
    return len(frame) / (time.perf_counter() - start)


def loader_only(folders: list[str], jobs: int | None) -> float:
    start = time.perf_counter()
    result = load_records(folders, jobs=jobs, duplicates="keep")
    return len(result.frame) / (time.perf_counter() - start)


def machine_check() -> float:
    """Seconds for a fixed pure-Python loop: how fast this (shared, noisy) machine runs now.

    Absolute records/s move with it (the same code measured 25-40 % slower in a busy hour);
    the ratios against the plain loop, measured in the same run, do not.
    """
    start = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    return time.perf_counter() - start


def throughput(options: argparse.Namespace, tmp: Path, model_path: Path) -> None:
    files = corpus_files()
    sizes = sorted(int(size) for size in options.records.split(","))
    copies = tmp / "copies"
    copy_corpus(files, copies, sizes[-1])
    folders = sorted(str(folder) for folder in copies.iterdir())
    jobs = ["--jobs", str(options.jobs)] if options.jobs else []
    model = load_artifact(model_path).model
    plain = plain_loop(files[: options.plain_sample], model)
    # Start-up (imports, model load and checks, no parsing to speak of): one record.
    repeat = max(1, options.repeat)
    startups = [
        timed_predict(
            [str(files[0]), "--model", str(model_path), "-o", str(tmp / "one.csv"), *jobs]
        )[0]
        for _ in range(repeat)
    ]
    startup = statistics.median(startups)
    print(f"corpus: {len(files)} Markdown files, copied into folders of {len(files)}")
    print(
        f"plain loop (frontmatter + one-row predict, {options.plain_sample} files): "
        f"{plain:,.1f} records/s"
    )
    print(
        f"score predict start-up (one record): {startup:.2f} s (median of {repeat}: "
        f"{', '.join(f'{s:.2f}' for s in startups)})"
    )
    for size in sizes:
        use = folders[: -(-size // len(files))]
        n = len(use) * len(files)
        runs = [
            timed_predict([*use, "--model", str(model_path), "-o", str(tmp / "scores.csv"), *jobs])
            for _ in range(repeat)
        ]
        seconds = statistics.median(run[0] for run in runs)
        rate = n / seconds
        codes = sorted({run[2] for run in runs})
        print(
            f"score predict, {n:,} records: {seconds:.1f} s = {rate:,.0f} records/s end to end, "
            f"median of {repeat} runs ({', '.join(f'{n / run[0]:,.0f}' for run in runs)}; "
            f"{rate / plain:,.0f}x the plain loop; {n / (seconds - startup):,.0f} records/s "
            f"after start-up; exit {', '.join(map(str, codes))}; peak RSS "
            f"{max(run[1] for run in runs)} MiB largest process)"
        )
    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    predict_rate = model_only(model, frame)
    load_rate = loader_only(folders[: -(-sizes[0] // len(files))], options.jobs)
    print(
        f"where time goes: loader alone {load_rate:,.0f} records/s (all cores); model batch "
        f"predict alone {predict_rate:,.0f} records/s (one core, batches of 2,000)"
    )
    print("targets: >= 10x the plain loop, >= 10,000 records/s end to end")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; a fixed "
        f"20M-step Python loop took {machine_check():.2f} s (compare it across runs)"
    )


def memory(options: argparse.Namespace, tmp: Path, model_path: Path) -> None:
    factors = [int(f) for f in options.rss.split(",") if f.strip()]
    if not factors:  # --rss "": throughput only
        return
    lines = api_objects(corpus_files())
    for factor in factors:
        dump = tmp / f"dump{factor}.jsonl"
        with open(dump, "w", encoding="utf-8") as fh:
            for _ in range(factor):
                fh.write("\n".join(lines) + "\n")
        n = factor * len(lines)
        seconds, rss, tree, rc = run_predict(
            [str(dump), "--model", str(model_path), "-o", str(tmp / "dump-scores.csv")]
        )
        print(
            f"JSONL dump {factor}x = {n:,} records ({dump.stat().st_size / 2**20:,.0f} MiB): "
            f"peak RSS {rss} MiB largest process, {tree} MiB all; "
            f"{seconds:.1f} s = {n / seconds:,.0f} records/s (exit {rc})"
        )
        dump.unlink()


# ---- feed MAE -------------------------------------------------------------------------------
def feed_mae() -> None:
    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    feed = load_records([str(FEED)]).frame
    known = frame.drop_duplicates("id").set_index("id")["quality"]
    y = feed["id"].map(known).astype(float).to_numpy()
    has_twin = ~np.isnan(y)
    print(f"feed: {len(feed)} records, {int(has_twin.sum())} with a .md twin of known quality")
    twins = frame["id"].isin(set(feed["id"]))
    without = frame[~twins]
    cutoff = M.training_rows(frame)["published_at"].quantile(0.8)
    newer = (feed["published_at"] >= cutoff).to_numpy()
    setups = [
        ("all records (the twins are training data: in-sample)", frame, has_twin),
        ("without the twins", without, has_twin),
        (
            "without the twins, and twins removed from other records' related lists",
            M.strip_test_articles(without, feed),
            has_twin,
        ),
        (
            f"time split: trained on records before {cutoff:%Y-%m-%d} (oldest 80 %), "
            "tested on the feed records published after",
            M.strip_test_articles(frame[frame["published_at"] < cutoff], feed[newer]),
            has_twin & newer,
        ),
    ]
    for label, train_frame, mask in setups:
        start = time.perf_counter()
        model = M.train(train_frame, seed=0)
        err = np.abs(M.predict(model, feed)[mask] - y[mask])
        print(
            f"MAE {err.mean():6.2f} (median {np.median(err):.2f}, n={len(err)}; trained on "
            f"{len(M.training_rows(train_frame))}) - {label} [{time.perf_counter() - start:.0f} s]"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="artifact to score with (default: train one)")
    parser.add_argument(
        "--records", default="20000,100000", help="dump sizes (records, comma-separated)"
    )
    parser.add_argument("--plain-sample", type=int, default=500)
    parser.add_argument(
        "--rss", default="10,100", help="JSON Lines dump sizes as corpus multiples ('' for none)"
    )
    parser.add_argument("--jobs", type=int, default=None, help="score predict --jobs")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each size (and of start-up); the median"
    )
    parser.add_argument("--feed-mae", action="store_true", help="only the feed MAE")
    options = parser.parse_args()
    if options.feed_mae:
        feed_mae()
        return
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as name:
        tmp = Path(name)
        model_path = get_model(options.model, tmp)
        throughput(options, tmp, model_path)
        memory(options, tmp, model_path)


if __name__ == "__main__":
    main()
