"""The `score` console script: one OpenBLAS thread for its own process, unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import REPO, SCORE, write_rule_jsonl

from pipeline.console import BLAS_THREAD_VARIABLES, one_blas_thread


def test_one_blas_thread_when_the_user_set_none() -> None:
    environ = {"PATH": "/bin"}
    one_blas_thread(environ)
    assert environ == {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "1"}


@pytest.mark.parametrize("name", BLAS_THREAD_VARIABLES)
def test_a_thread_count_the_user_set_is_kept(name) -> None:
    environ = {name: "3"}
    one_blas_thread(environ)
    assert environ == {name: "3"}


def test_importing_the_cli_leaves_the_environment_alone() -> None:
    """Only the console script sets it: a program importing pipeline.cli keeps its settings."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    code = "import os, pipeline.cli; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "None"


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
        [str(script), "predict", str(new), "--model", str(model), "--out", "scores.csv"],
    ]
    for command in steps:
        proc = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 5 and scores["quality_pred"].between(11, 189).all()
    assert "5 rows from 5 records" in proc.stderr
