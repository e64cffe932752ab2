"""Run every evaluation protocol on the corpus and print model vs baselines.

Usage (from the repository root)::

    .venv/bin/python bench/evaluate.py [--corpus ../shared/corpus] [--site diablo4]
                                       [--kind ridge] [--seed 0] [--json FILE]

Protocols on ``--site``: random (5-fold, URL-grouped), time (oldest 80 % -> newest 20 %),
provider (5 folds grouped by provider domain), each in the default setting and in the strict
one (test articles also removed from training records' related lists); then site (train on
one site, test on the other, both directions) over every site folder of the corpus.
Estimators: the model, the global-mean and provider-mean baselines, and ``prior_rule`` (the
structure-adjusted provider prior alone, i.e. the model's anchor without its correction).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import model as M
from pipeline.load import load_records

TARGETS = {"random": 1.3, "time": 2.0, "provider": 3.5}


def _rows(result: M.EvaluationResult, label: str, seconds: float) -> list[dict[str, object]]:
    out = []
    for estimator, values in result.metrics.items():
        out.append(
            {
                "protocol": label,
                "estimator": estimator,
                "mae": values["mae"],
                "rmse": values["rmse"],
                "r2": values["r2"],
                "spearman": values["spearman"],
                "n": values["n"],
                "seconds": round(seconds, 1),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus")
    )
    parser.add_argument("--site", default="diablo4")
    parser.add_argument("--kind", default=M.DEFAULT_KIND, choices=M.KINDS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the table as JSON records")
    parser.add_argument("--skip-site", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning)

    corpus = Path(args.corpus)
    sites = sorted(p for p in corpus.iterdir() if p.is_dir() and any(p.glob("*.md")))
    site_dir = corpus / args.site
    frame = load_records([str(site_dir)], duplicates="mark").frame
    rows: list[dict[str, object]] = []
    runs = [(p, strict) for p in ("random", "time", "provider") for strict in (False, True)]
    for protocol, strict in runs:
        t0 = time.perf_counter()
        res = M.evaluate(frame, protocol, seed=args.seed, kind=args.kind, strict_related=strict)
        label = f"{args.site}:{protocol}" + (" strict" if strict else "")
        rows += _rows(res, label, time.perf_counter() - t0)
        print(f"{label}: model MAE {res.metrics['model']['mae']:.3f}", file=sys.stderr)
    if not args.skip_site and len(sites) > 1:
        both = load_records([str(s) for s in sites], duplicates="mark").frame
        t0 = time.perf_counter()
        res = M.evaluate(both, "site", seed=args.seed, kind=args.kind)
        rows += _rows(res, "site", time.perf_counter() - t0)

    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(f"kind={args.kind} seed={args.seed} corpus={corpus}")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for protocol, target in TARGETS.items():
        mae = table.loc[
            (table["protocol"] == f"{args.site}:{protocol}") & (table["estimator"] == "model"),
            "mae",
        ]
        if len(mae):
            verdict = "ok" if float(mae.iloc[0]) <= target else "MISSED"
            print(f"target {protocol}: MAE {float(mae.iloc[0]):.3f} <= {target}: {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
