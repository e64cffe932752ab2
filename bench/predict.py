"""End-to-end `score predict` throughput and memory, and the feed MAE against the .md twins.

Usage (from the repository root)::

    .venv/bin/python bench/predict.py [--model models/quality.joblib] [--records 20000,100000]
                                      [--plain-sample 500] [--rss 10,100] [--jobs N]
                                      [--repeat 3] [--explain 5000]
    .venv/bin/python bench/predict.py --feed-mae

Compares, in one run: `score predict` end to end (a child process, start-up included) on
copies of the Markdown corpus (diablo4 + power-apps, copied up to each ``--records`` size in a
temp folder deleted afterwards), ``--repeat`` times each (median reported, every run beside
it), against a plain loop over the first ``--plain-sample`` files (``frontmatter.load``, one
row dict, the model's ``predict`` on that one row). Start-up is timed on one record. Each
line shows wall and CPU seconds, the peak RSS of the largest process, and the 1-minute load
average (this machine is shared). The loader alone and the model's batch predict alone are
timed too, to show where time goes. Then ``--explain`` records are scored with and without
`--explain` (alternately, JSON Lines output) and the cost of explaining is printed per record.

Memory: the corpus as JSON API objects, repeated ``--rss`` times into a JSON Lines dump (its
folder names no known site, so the related-entries pre-pass for new sites runs too); the
peak RSS of the process tree (psutil, sampled every 50 ms) should not grow with the dump.

Without ``--model`` (and no models/quality.joblib) a model is trained on the corpus first
(pipeline.model.train_and_save, no importance) and saved in the temp dir. The corpus is
../shared/corpus beside the repository, or $AQ_CORPUS.

``--feed-mae``: score the JSON feed pages (../shared/corpus/feeds/diablo4-api, site set to
diablo4 as `score predict --site diablo4` does) and compare with the known quality of their
.md twins (joined on id), with models trained on: everything (the twins are training data:
in-sample); everything but the twins; the same with the twins also removed from other
records' related lists (their scores reach the model through those lists otherwise); and a
time split (oldest 80 % of scored records, tested on the feed records published after).
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
from pipeline.artifact import load_artifact
from pipeline.load import load_records
from pipeline.load.normalize import normalize
from pipeline.model.data import with_site

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
    print("no model given: training one on the corpus (train_and_save) ...", flush=True)
    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    return M.train_and_save(frame, tmp / "quality.joblib", seed=0, importance=False).path


# ---- measurements ---------------------------------------------------------------------------
# Runs the command given in argv and prints its wall time, its CPU time (user + sys of it and
# every worker it waited for), the peak RSS of its largest process (itself or any worker:
# RUSAGE_CHILDREN covers every waited-for descendant) and its exit.
_TIMED = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(seconds, r.ru_utime + r.ru_stime, r.ru_maxrss, code)
"""


def load() -> str:
    """The 1-minute load average now, for the line being printed."""
    return f"load {os.getloadavg()[0]:.2f}"


def timed_predict(args: list[str]) -> tuple[float, float, int, int]:
    """(wall s, CPU s, peak RSS of the largest process (MiB), exit) of one `score predict`.

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
    seconds, cpu, max_kib, code = proc.stdout.split()
    return float(seconds), float(cpu), int(max_kib) // 1024, int(code)


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
    print(f"corpus: {len(files)} Markdown files, copied into folders of {len(files)}")
    print(
        f"plain loop (frontmatter + one-row predict, {options.plain_sample} files): "
        f"{plain:,.1f} records/s ({load()})"
    )
    # Start-up (imports, model load and checks, no parsing to speak of): one record.
    repeat = max(1, options.repeat)
    startups = [
        timed_predict(
            [str(files[0]), "--model", str(model_path), "-o", str(tmp / "one.csv"), *jobs]
        )
        for _ in range(repeat)
    ]
    startup = statistics.median(run[0] for run in startups)
    print(
        f"score predict start-up (one record): {startup:.2f} s wall, "
        f"{statistics.median(run[1] for run in startups):.2f} s CPU (median of {repeat}: "
        f"{', '.join(f'{run[0]:.2f}' for run in startups)}; peak RSS "
        f"{max(run[2] for run in startups)} MiB; exit "
        f"{', '.join(map(str, sorted({run[3] for run in startups})))}; {load()})"
    )
    for size in sizes:
        use = folders[: -(-size // len(files))]
        n = len(use) * len(files)
        runs = []
        for _ in range(repeat):
            runs.append(
                timed_predict(
                    [*use, "--model", str(model_path), "-o", str(tmp / "scores.csv"), *jobs]
                )
            )
            runs[-1] += (os.getloadavg()[0],)
        seconds = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        rate = n / seconds
        codes = sorted({run[3] for run in runs})
        print(
            f"score predict, {n:,} records: {seconds:.1f} s = {rate:,.0f} records/s end to end, "
            f"median of {repeat} runs ({', '.join(f'{n / run[0]:,.0f}' for run in runs)}); "
            f"CPU {cpu:.1f} s; {rate / plain:,.0f}x the plain loop; "
            f"{n / (seconds - startup):,.0f} records/s after start-up; exit "
            f"{', '.join(map(str, codes))}; peak RSS {max(run[2] for run in runs)} MiB largest "
            f"process; load after each run {', '.join(f'{run[4]:.2f}' for run in runs)}"
        )
    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    predict_rate = model_only(model, frame)
    load_rate = loader_only(folders[: -(-sizes[0] // len(files))], options.jobs)
    print(
        f"where time goes: loader alone {load_rate:,.0f} records/s (all cores); model batch "
        f"predict alone {predict_rate:,.0f} records/s (one core, batches of 2,000; {load()})"
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
            f"{seconds:.1f} s = {n / seconds:,.0f} records/s (exit {rc}; {load()})"
        )
        dump.unlink()


def explain_cost(options: argparse.Namespace, tmp: Path, model_path: Path) -> None:
    """`score predict --explain` against plain `score predict` on the same records, same run."""
    if options.explain <= 0:
        return
    copies = tmp / "explain"
    n = copy_corpus(corpus_files(), copies, options.explain)
    folders = sorted(str(folder) for folder in copies.iterdir())
    base = [*folders, "--model", str(model_path), "-o", str(tmp / "explained.jsonl")]
    rates: dict[str, list[float]] = {"plain": [], "--explain": []}
    for _ in range(max(1, options.repeat)):  # alternated, so both see the same machine
        for label, extra in (("plain", []), ("--explain", ["--explain"])):
            seconds, _cpu, _rss, code = timed_predict([*base, *extra])
            if code != 0:
                sys.exit(f"score predict {' '.join(extra)} exited {code}")
            rates[label].append(n / seconds)
    plain, explained = (statistics.median(rates[label]) for label in rates)
    print(
        f"--explain, {n:,} records to JSON Lines: {explained:,.0f} records/s against "
        f"{plain:,.0f} without (median of {len(rates['plain'])}; start-up included); "
        f"explaining costs {(1 / explained - 1 / plain) * 1000:.2f} ms/record, "
        f"{plain / explained:.1f}x the plain run; target >= 200 records/s ({load()})"
    )
    shutil.rmtree(copies)


# ---- feed MAE -------------------------------------------------------------------------------
def feed_mae() -> None:
    frame = load_records([str(CORPUS / s) for s in SITES]).frame
    feed = with_site(load_records([str(FEED)]).frame, "diablo4")  # as `--site diablo4`
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
        model = M.train(train_frame)
        # As `score predict` scores: the feed's related entries taken in for small sites.
        err = np.abs(M.scoring_model(model, feed).predict(feed)[mask] - y[mask])
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
    parser.add_argument(
        "--explain", type=int, default=5000, help="records for the --explain cost (0: skip)"
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
        explain_cost(options, tmp, model_path)
        memory(options, tmp, model_path)


if __name__ == "__main__":
    main()
