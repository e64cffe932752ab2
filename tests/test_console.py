"""The `score` console script: it runs the command line, and it is what pip installs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from helpers import REPO, SCORE, write_rule_jsonl


def test_the_console_script_runs_the_cli(tmp_path) -> None:
    proc = subprocess.run(
        [*SCORE, "--help"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "predict" in proc.stdout and "train" in proc.stdout


def test_the_installed_score_script_trains_then_predicts(tmp_path) -> None:
    """The script pip installs beside this interpreter, as a user runs it: no PYTHONPATH."""
    script = Path(sys.executable).with_name("score")
    assert script.is_file(), f"{script} is missing: install the project (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    train = write_rule_jsonl(tmp_path / "train" / "scored.jsonl", 120)
    new = write_rule_jsonl(tmp_path / "new" / "dump.jsonl", 5, start=500)
    model = tmp_path / "m.joblib"
    steps = [
        [str(script), "train", str(train), "--model", str(model)],
        [
            str(script),
            "predict",
            str(new),
            "--model",
            str(model),
            "--site=train",
            "-o",
            "scores.csv",
        ],
    ]
    for command in steps:
        proc = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 5 and (scores["novelty"] == "seen").all()
    assert (scores["quality_pred"] - scores["quality"]).abs().max() < 1  # the rule, learned
    assert "5 rows from 5 records" in proc.stderr
