"""The Dask engine scores exactly like the local engine: same rows, same order, same values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import api_object, train_tiny_model, write_corpus
from typer.testing import CliRunner

from pipeline.artifact import load_artifact
from pipeline.cli import app
from pipeline.io.outputs import TableWriter
from pipeline.load.units import iter_units
from pipeline.predict.engines import dask_batches, local_batches
from pipeline.predict.run import PredictOptions, build_scorer, drive
from pipeline.predict.scorer import Scorer

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local, client


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dask-model")
    return train_tiny_model(root / "train", root / "quality.joblib")


@pytest.fixture
def inputs(tmp_path: Path) -> list[str]:
    """Markdown folders, a feed page, a JSON Lines dump and bad files, in a fixed order."""
    write_corpus(tmp_path / "a", 23, unscored=(4, 9))
    write_corpus(tmp_path / "b", 11, start=100)
    (tmp_path / "a" / "zz-broken.md").write_text("no front matter\n")
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"page": 1, "value": [api_object(i) for i in range(200, 207)]}))
    dump = tmp_path / "dump.jsonl"
    lines = [json.dumps(api_object(i, quality=i % 3 == 0)) for i in range(300, 340)]
    dump.write_text("\n".join([*lines[:5], "{not json", *lines[5:]]) + "\n")
    return [str(tmp_path / "a"), str(dump), str(page), str(tmp_path / "b")]


def scored_bytes(batches, scorer: Scorer, out: Path) -> tuple[bytes, list[str]]:
    summary = drive(batches, TableWriter(out), empty=scorer.empty())
    return out.read_bytes(), sorted(str(e) for e in summary.errors)


def test_dask_output_equals_local_output(cluster, model_path, inputs, tmp_path) -> None:
    _, client = cluster
    artifact = load_artifact(model_path)
    options = PredictOptions(interval=True, explain=True)
    scorer, _ = build_scorer(artifact, inputs, options)
    assert scorer.level == 0.9 and scorer.explainer is not None
    local, local_errors = scored_bytes(
        local_batches(scorer, inputs, batch_size=7), scorer, tmp_path / "local.jsonl"
    )
    dask, dask_errors = scored_bytes(
        dask_batches(scorer, inputs, client=client, chunk=5), scorer, tmp_path / "d.jsonl"
    )
    assert local == dask
    assert local.count(b"\n") == 23 + 11 + 7 + 40
    assert local_errors == dask_errors and len(local_errors) == 2


def test_dask_only_missing_equals_local(cluster, model_path, inputs, tmp_path) -> None:
    _, client = cluster
    scorer, _ = build_scorer(load_artifact(model_path), inputs, PredictOptions(only_missing=True))
    local, _ = scored_bytes(local_batches(scorer, inputs), scorer, tmp_path / "l.csv")
    dask, _ = scored_bytes(
        dask_batches(scorer, inputs, client=client, chunk=3), scorer, tmp_path / "d.csv"
    )
    assert local == dask and local.count(b"\n") == 1 + 2 + 26


def test_cli_engine_dask_with_scheduler_matches_local(cluster, model_path, inputs, tmp_path):
    local_cluster, _ = cluster
    runner = CliRunner()
    base = ["predict", *inputs, "--model", str(model_path)]
    local = runner.invoke(app, [*base, "-o", str(tmp_path / "local.parquet")])
    dask = runner.invoke(
        app,
        [
            *base,
            "-o",
            str(tmp_path / "dask.parquet"),
            "--engine",
            "dask",
            "--scheduler",
            local_cluster.scheduler_address,
        ],
    )
    assert local.exit_code == dask.exit_code == 1  # the two bad inputs
    import pandas as pd

    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    )


def test_dask_splits_one_json_lines_dump_across_workers(cluster, model_path, tmp_path) -> None:
    """A single dump is shipped in chunks of lines (tasks any worker can take), not as one
    file for one worker; the rows are the local engine's."""
    _, client = cluster
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(json.dumps(api_object(i)) for i in range(60)) + "\n")
    scorer, _ = build_scorer(load_artifact(model_path), [str(dump)], PredictOptions())
    units = list(iter_units([str(dump)], chunk_size=10))
    assert len(units) == 6 and [u.first_line for u in units] == [1, 11, 21, 31, 41, 51]
    local, _ = scored_bytes(local_batches(scorer, [str(dump)]), scorer, tmp_path / "l.csv")
    dask, _ = scored_bytes(
        dask_batches(scorer, [str(dump)], client=client, chunk=10),
        scorer,
        tmp_path / "d.csv",
    )
    assert local == dask and local.count(b"\n") == 61


def test_dask_scores_standard_input(cluster, model_path, monkeypatch) -> None:
    _, client = cluster
    lines = "\n".join(json.dumps(api_object(i)) for i in range(5)) + "\n"
    base = ["predict", "-", "--model", str(model_path)]
    local = CliRunner().invoke(app, base, input=lines)
    dask = CliRunner().invoke(
        app, [*base, "--engine", "dask", "--scheduler", client.scheduler.address], input=lines
    )
    assert local.exit_code == dask.exit_code == 0, dask.output
    assert local.stdout == dask.stdout and local.stdout.count("\n") == 5


def test_cli_engine_dask_starts_its_own_local_cluster(model_path, tmp_path) -> None:
    write_corpus(tmp_path / "site", 6)
    base = ["predict", str(tmp_path / "site"), "--model", str(model_path)]
    local = CliRunner().invoke(app, base)
    dask = CliRunner().invoke(app, [*base, "--engine", "dask", "--jobs", "1"])
    assert local.exit_code == dask.exit_code == 0, dask.output
    assert local.stdout == dask.stdout and local.stdout.count("\n") == 6
