"""Run every evaluation protocol on the corpus and print the model against its baselines.

Usage (from the repository root)::

    .venv/bin/python bench/evaluate.py [--corpus ../shared/corpus] [--sites diablo4,power-apps]
                                       [--protocols random,time,provider,site,few-shot]
                                       [--strict] [--seed 0] [--json FILE]

Reads the scored records of every site folder of the corpus (or ``--sites``), as `score
evaluate` does by default, and runs each protocol with ``pipeline.model.evaluate`` (``--strict``
also runs random, time and provider with the test articles removed from the training records'
related lists). Compares on identical splits: the model against ``global_mean``,
``provider_mean`` and ``shared_rule`` (MAE, RMSE, R², Spearman ρ; the model's interval
coverage and width), then per held-out site (site) and per site and shots (few-shot).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import model as M
from pipeline.choices import DEFAULT_SHOTS
from pipeline.model.data import load_scored
from pipeline.model.evaluation import ESTIMATORS

STRICT_PROTOCOLS = ("random", "time", "provider")


def site_folders(corpus: Path, names: str | None) -> list[Path]:
    if names:
        return [corpus / name.strip() for name in names.split(",") if name.strip()]
    return sorted(p for p in corpus.iterdir() if p.is_dir() and any(p.glob("*.md")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus")
    )
    parser.add_argument("--sites", default=None, help="site folders (default: every one)")
    parser.add_argument("--protocols", default=",".join(M.PROTOCOLS))
    parser.add_argument("--strict", action="store_true", help="also the strict-related runs")
    parser.add_argument("--shots", default=",".join(map(str, DEFAULT_SHOTS)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the table as JSON records")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning)

    if not Path(args.corpus).is_dir():
        sys.exit(f"no corpus at {args.corpus} (use --corpus)")
    folders = site_folders(Path(args.corpus), args.sites)
    frame, errors = load_scored([str(p) for p in folders])
    scored = M.training_rows(frame)
    print(
        f"corpus {args.corpus}: {len(frame)} records, {len(scored)} scored non-duplicate "
        f"({', '.join(f'{k} {v}' for k, v in scored['site'].value_counts().items())}); "
        f"bad inputs {len(errors)}; seed {args.seed}; {os.cpu_count()} cores"
    )
    shots = tuple(int(s) for s in args.shots.split(",") if s.strip())
    runs = [(p.strip(), False) for p in args.protocols.split(",") if p.strip()]
    if args.strict:
        runs += [(p, True) for p, _ in runs if p in STRICT_PROTOCOLS]

    rows: list[dict[str, object]] = []
    folds: dict[str, pd.DataFrame] = {}
    for protocol, strict in runs:
        label = protocol + (" strict" if strict else "")
        start = time.perf_counter()
        result = M.evaluate(frame, protocol, seed=args.seed, strict_related=strict, shots=shots)
        seconds = time.perf_counter() - start
        for estimator in ESTIMATORS:
            values = result.metrics[estimator]
            rows.append(
                {
                    "protocol": label,
                    "estimator": estimator,
                    **{k: values.get(k) for k in ("mae", "rmse", "r2", "spearman", "n")},
                    "coverage": values.get("coverage"),
                    "median_width": values.get("median_width"),
                    "seconds": round(seconds, 1),
                }
            )
        if protocol in ("site", "few-shot"):
            folds[label] = result.fold_table()
        print(
            f"{label}: model MAE {result.metrics['model']['mae']:.3f} "
            f"[{seconds:.1f} s, load {os.getloadavg()[0]:.2f}]",
            file=sys.stderr,
            flush=True,
        )

    table = pd.DataFrame(rows)
    wide = table.pivot(index="protocol", columns="estimator", values="mae")
    wide = wide.reindex([r["protocol"] for r in rows[:: len(ESTIMATORS)]])[list(ESTIMATORS)]
    best = wide[list(ESTIMATORS[1:])].min(axis=1)
    wide["model/best baseline"] = wide["model"] / best
    float_format = lambda v: f"{v:.3f}"  # noqa: E731
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print("\nMAE (quality points), model vs baselines on identical splits:")
        print(wide.to_string(float_format=float_format))
        print("\nAll metrics:")
        print(table.to_string(index=False, float_format=float_format))
        for label, fold_table in folds.items():
            print(f"\n{label}, per fold (MAE of each estimator):")
            print(fold_table.to_string(float_format=float_format))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
