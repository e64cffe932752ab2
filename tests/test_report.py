"""pipeline.report.write_report and `score evaluate --report`: the expected files, readable."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_scored_folder
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.load import load_records
from pipeline.model import EvaluationResult, evaluate
from pipeline.report import SUMMARY_NAME, largest_errors, markdown_table, write_report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scored_folder(tmp_path_factory.mktemp("records"), n=40)


@pytest.fixture(scope="module")
def frame(records: Path) -> pd.DataFrame:
    return load_records(str(records)).frame


@pytest.fixture(scope="module")
def results(frame: pd.DataFrame) -> dict[str, EvaluationResult]:
    return {p: evaluate(frame, p, n_splits=2) for p in ("random", "time")}


def test_a_site_and_few_shot_report_draws_the_curve_and_the_folds(tmp_path: Path) -> None:
    records = write_scored_folder(tmp_path / "two", n=120, sites=("site-a", "site-b"))
    frame = load_records(str(records)).frame
    results = {p: evaluate(frame, p, shots=(0, 10)) for p in ("site", "few-shot")}
    summary = write_report(results, frame, tmp_path / "out")
    text = summary.read_text()
    assert (tmp_path / "out" / "few_shot.png").read_bytes()[:8] == PNG
    assert "## site, per fold" in text and "| site-a |" in text
    assert "## few-shot, per fold" in text and "site-b:k=10" in text


def test_write_report_writes_charts_and_summary(
    results: dict[str, EvaluationResult], frame: pd.DataFrame, tmp_path: Path
) -> None:
    directory = tmp_path / "not" / "yet" / "there"
    summary = write_report(results, frame, directory)

    assert summary == directory / SUMMARY_NAME
    expected = {
        "metrics.png",
        "coverage.png",
        "predicted_vs_actual.png",
        "error_by_provider_random.png",
        "error_by_provider_time.png",
        "attributions.png",
        "permutation_importance.png",
        SUMMARY_NAME,
    }
    assert {p.name for p in directory.iterdir()} == expected
    for png in directory.glob("*.png"):
        assert png.read_bytes()[:8] == PNG
    text = summary.read_text()
    for estimator in ("model", "global_mean", "provider_mean", "shared_rule"):
        assert re.search(rf"\| random \| {estimator} \| \d", text), estimator
    # every image the summary links exists
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links and all((directory / link).is_file() for link in links)
    assert "Largest errors" in text
    assert "| images |" in text or "| amp_url |" in text  # attributions name the fields
    assert "For developers: permutation importance" in text


def test_report_without_a_time_split_notes_it_instead_of_failing(tmp_path: Path) -> None:
    one = write_scored_folder(tmp_path / "one", n=1)
    frame = load_records(str(one)).frame
    fake = evaluate(load_records(str(write_scored_folder(tmp_path / "b", n=20))).frame, "time")
    summary = write_report({"time": fake}, frame, tmp_path / "out")
    assert "Not measured" in summary.read_text()
    assert not (tmp_path / "out" / "permutation_importance.png").exists()


def test_largest_errors_joins_the_records(
    results: dict[str, EvaluationResult], frame: pd.DataFrame
) -> None:
    worst = largest_errors(results["random"].predictions, frame, n=3)
    assert len(worst) == 3
    assert worst["abs_error"].is_monotonic_decreasing
    assert worst["title"].notna().all() and worst["url"].notna().all()


def test_markdown_table_escapes_pipes_and_formats_numbers() -> None:
    text = markdown_table(pd.DataFrame({"a": ["x|y"], "b": [1.23456], "n": [1200]}))
    assert text.splitlines() == ["| a | b | n |", "|---|---|---|", "| x\\|y | 1.235 | 1,200 |"]


def test_cli_evaluate_report(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["evaluate", str(records), "--protocol", "time", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / SUMMARY_NAME).is_file() and (out / "predicted_vs_actual.png").is_file()
