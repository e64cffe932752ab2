"""`score predict`: formats, exit statuses, refusal before anything is touched, write-back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import (
    SCORE,
    api_object,
    feed_page,
    rule_record,
    to_markdown,
    train_tiny_model,
    write,
    write_corpus,
    write_json,
    write_rule_jsonl,
)
from typer.testing import CliRunner

from pipeline.artifact import load_artifact, save_artifact
from pipeline.cli import app
from pipeline.load import load_records
from pipeline.model import train_and_save

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-model")
    return train_tiny_model(root / "train", root / "quality.joblib")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """New records of the site the model was trained on (its folder is named "train" too)."""
    write_corpus(tmp_path / "train", 8, unscored=(5,))
    return tmp_path / "train"


def predict(*args: object):
    return runner.invoke(app, ["predict", *map(str, args)])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_every_output_format_holds_one_row_per_record(model, site, tmp_path, suffix) -> None:
    out = tmp_path / f"scores{suffix}"
    result = predict(site, "--model", model, "--out", out)
    assert result.exit_code == 0, result.output
    table = {
        ".csv": pd.read_csv,
        ".jsonl": lambda p: pd.read_json(p, lines=True),
        ".parquet": pd.read_parquet,
    }[suffix](out)
    assert len(table) == 8
    for column in ("id", "source", "url", "title", "provider_domain", "quality", "quality_pred"):
        assert column in table.columns
    assert table["quality"].isna().sum() == 1
    assert "8 rows from 8 records" in result.stderr


def test_without_out_json_lines_go_to_stdout(model, site) -> None:
    result = predict(site, "--model", model)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 8 and all(isinstance(r["quality_pred"], float) for r in rows)
    assert rows[0]["url"] == "https://ign.com/news/0"


def test_bad_inputs_beside_good_ones_exit_1_and_every_good_record_is_scored(
    model, site, tmp_path
) -> None:
    (site / "broken.md").write_text("no front matter here\n")
    feed = tmp_path / "page.json"
    feed.write_text(json.dumps({"page": 1, "value": [api_object(20), "not a record"]}))
    errors = tmp_path / "errors.jsonl"
    out = tmp_path / "out.jsonl"
    result = predict(
        site, feed, tmp_path / "missing.md", "--model", model, "-o", out, "--errors", errors
    )
    assert result.exit_code == 1
    assert len(pd.read_json(out, lines=True)) == 9
    reported = [json.loads(line) for line in errors.read_text().splitlines()]
    assert len(reported) == 3
    assert {Path(r["source"]).name for r in reported} == {"broken.md", "page.json[1]", "missing.md"}
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 3
    assert "Traceback" not in result.output


def test_missing_model_exits_2_before_anything_is_touched(site, tmp_path) -> None:
    before = snapshot(site)
    out = tmp_path / "out.csv"
    result = predict(site, "--model", tmp_path / "nope.joblib", "-o", out, "--write-back")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")
    assert not out.exists() and snapshot(site) == before
    assert list(tmp_path.iterdir()) == [site]


def test_tampered_model_exits_2_before_anything_is_touched(model, site, tmp_path) -> None:
    tampered = tmp_path / "tampered.joblib"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    (tmp_path / "tampered.joblib.sha256").write_text(
        model.with_name(model.name + ".sha256").read_text().replace(model.name, tampered.name)
    )
    before = snapshot(site)
    out = tmp_path / "out.csv"
    result = predict(site, "--model", tampered, "-o", out, "--write-back")
    assert result.exit_code == 2
    assert "sha256" in result.stderr or "digest" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists() and snapshot(site) == before


class Broken:
    """A model saved by older code: it loads, but predicting fails on any record."""

    def predict(self, frame):
        raise AttributeError("'Regressor' object has no attribute 'anchor_index'")


def test_a_model_this_code_cannot_run_exits_2(site, tmp_path) -> None:
    path = save_artifact(Broken(), tmp_path / "broken.joblib")
    before = snapshot(site)
    result = predict(site, "--model", path, "--write-back")
    assert result.exit_code == 2
    assert "anchor_index" in result.stderr and result.stderr.count("\n") == 1
    assert snapshot(site) == before


@pytest.mark.parametrize(
    "options",
    [
        ["--out", "scores.xlsx"],
        ["--errors", "errors.xlsx"],
        ["--write-back", "--write-field", "quality"],
        ["--write-field", "quality_pred"],
        ["--write-back", "--write-field", "bad key"],
        ["--write-back", "--write-field", "title"],
        ["--write-back", "--write-field", "heat"],
        ["--write-back", "--only-missing", "--write-field", "excerpt"],
        ["--level", "1.5", "--interval"],
        ["--engine", "spark"],
        ["--batch-size", "0"],
    ],
)
def test_usage_errors_exit_2_and_touch_nothing(model, site, tmp_path, options) -> None:
    before = snapshot(site)
    result = predict(site, "--model", model, *options)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert snapshot(site) == before


def test_interval_without_calibration_exits_2(site, tmp_path) -> None:
    from pipeline.artifact import load_artifact

    path = train_tiny_model(tmp_path / "t", tmp_path / "m.joblib", calibrated=False)
    bare = save_artifact(load_artifact(path).model, tmp_path / "bare.joblib")
    result = predict(site, "--model", bare, "--interval")
    assert result.exit_code == 2
    assert "no calibrated prediction intervals" in result.stderr


def test_interval_and_explain_add_columns(model, site, tmp_path) -> None:
    out = tmp_path / "o.jsonl"
    result = predict(site, "--model", model, "-o", out, "--interval", "--explain", "--top", "2")
    assert result.exit_code == 0, result.output
    table = pd.read_json(out, lines=True)
    assert (table["quality_low"] <= table["quality_pred"]).all()
    assert (table["quality_pred"] <= table["quality_high"]).all()
    assert table["why"].notna().all() and table["reference"].notna().all()
    for row in table.itertuples():  # exact: the contributions add up to the prediction
        total = row.reference + sum(c["points"] for c in row.contributions)
        assert abs(total - row.quality_pred) < 0.5


def test_only_missing_with_write_back_fills_quality_only_where_absent(model, site, tmp_path):
    before = snapshot(site)
    out = tmp_path / "o.csv"
    result = predict(site, "--model", model, "-o", out, "--only-missing", "--write-back")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 1
    after = snapshot(site)
    changed = [name for name in after if after[name] != before[name]]
    assert changed == ["0005.md"]
    assert b"\nquality: " in after["0005.md"]
    assert "files written back: 1" in result.stderr


def test_write_back_default_field_and_not_writable_note(model, site, tmp_path) -> None:
    feed = tmp_path / "page.json"
    feed.write_text(json.dumps({"page": 1, "value": [api_object(30)]}))
    result = predict(site, feed, "--model", model, "-o", tmp_path / "o.jsonl", "--write-back")
    assert result.exit_code == 0, result.output
    assert all(b"\nquality_pred: " in data for data in snapshot(site).values())
    assert "1 records not written back" in result.stderr


def test_progress_is_silent_when_stderr_is_not_a_terminal(model, site, tmp_path) -> None:
    result = predict(site, "--model", model, "-o", tmp_path / "o.jsonl")
    assert "\r" not in result.stderr and "rec/s" not in result.stderr
    assert result.stderr.count("\n") == 1  # just the summary line


def test_jsonl_from_stdin(model) -> None:
    lines = "".join(json.dumps(api_object(i)) + "\n" for i in range(3))
    result = runner.invoke(app, ["predict", "-", "--model", str(model)], input=lines)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3


def test_a_worker_killed_midway_is_one_line_and_no_output(model, site, tmp_path, monkeypatch):
    """The OOM killer taking a worker must end the run with a clear error, not a hang or a
    traceback, and must not leave a half-written output in place."""
    import os
    import signal

    from pipeline.predict import engines

    real = engines._score_part

    def dies_on_the_second_unit(scorer, part):
        if any(source.endswith("0003.md") for source in part[0]["source"]):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(scorer, part)

    monkeypatch.setattr(engines, "_score_part", dies_on_the_second_unit)
    out = tmp_path / "scores.csv"
    result = predict(site, "--model", model, "--out", out, "--jobs", "2", "--batch-size", "2")
    assert result.exit_code == 1, result.output
    assert "worker process died" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".scores")] == []


def test_a_reader_that_stops_early_ends_the_run_quietly(model, tmp_path) -> None:
    """`score predict ... | head -1`: no 'Broken pipe' error line, no traceback."""
    import subprocess

    write_corpus(tmp_path / "many", 800)
    proc = subprocess.Popen(
        [*SCORE, "predict", str(tmp_path / "many"), "--model", str(model), "--batch-size", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["quality_pred"] is not None
    proc.stdout.close()  # as `head -1` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Broken pipe" not in stderr and "Traceback" not in stderr, stderr


def test_predict_in_process_keeps_the_callers_objects_collectable(model, site, tmp_path):
    """Run in-process (a notebook, CliRunner), predict must not gc.freeze the caller's heap:
    a reference cycle the caller drops later must still be freed."""
    import gc
    import weakref

    class Node:
        pass

    node = Node()
    node.me = node  # a cycle: only the collector frees it
    alive = weakref.ref(node)
    result = predict(site, "--model", model, "--out", tmp_path / "scores.csv")
    assert result.exit_code == 0, result.output
    del node
    gc.collect()
    assert alive() is None
    assert gc.get_freeze_count() == 0


# ---- the net: what `score predict` writes is what the model predicts ------------------------
@pytest.fixture(scope="module")
def rule_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model, trained on records that follow the aggregator's rule."""
    root = tmp_path_factory.mktemp("rule-model")
    frame = load_records([str(write_rule_jsonl(root / "news" / "train.jsonl", 240))]).frame
    return train_and_save(frame, root / "quality.joblib", importance=False).path


def test_predictions_are_the_saved_models_own_row_by_row(rule_model, tmp_path) -> None:
    """Records of the trained site with AMP links, images, topics, videos and related entries,
    in three formats: every `quality_pred` is what the saved model predicts for that loaded
    record: exactly in Parquet, to one decimal in JSON Lines."""
    inputs = tmp_path / "news"
    for i in range(300, 312):
        write(inputs / f"{i}.md", to_markdown(rule_record(i, quality=i % 2 == 0)))
    write_json(inputs / "page.json", feed_page([rule_record(i) for i in range(312, 324)]))
    write_rule_jsonl(inputs / "dump.jsonl", 12, start=324)
    out = tmp_path / "scores.jsonl"
    result = predict(inputs, "--model", rule_model, "--out", out)
    assert result.exit_code == 0, result.output
    rows = pd.read_json(out, lines=True, dtype={"id": str})
    frame = load_records([str(inputs)], duplicates="keep").frame
    expected = load_artifact(rule_model).model.predict(frame)
    assert len(rows) == len(frame) == 36
    by_source = dict(zip(frame["source"], expected, strict=True))
    for source, got in zip(rows["source"], rows["quality_pred"], strict=True):
        assert got == round(by_source[source], 1), source
    assert predict(inputs, "--model", rule_model, "--out", tmp_path / "s.parquet").exit_code == 0
    exact = pd.read_parquet(tmp_path / "s.parquet")
    for source, got in zip(exact["source"], exact["quality_pred"], strict=True):
        assert got == by_source[source], source
    # The net is only as good as the model's reactions: each field moves this model.
    base = {k: v for k, v in rule_record(400, quality=False).items() if k not in DROPPED}
    base.update(type="article", title="Story 400: Patch notes", topics=["Patch"])
    variants = [
        {**base, "ampWebUrl": "https://alpha.com/amp/x"},
        {**base, "images": [{"url": "https://alpha.com/x.jpg"}]},
        {**base, "type": "video", "originalUrl": "https://youtube.com/watch?v=1"},
        {**base, "topics": ["Nothing named"]},
    ]
    pair = load_records([str(write_json(tmp_path / "news" / "v.json", [base, *variants]))]).frame
    moved = load_artifact(rule_model).model.predict(pair)
    assert all(abs(moved[k] - moved[0]) > 5 for k in range(1, len(moved))), moved


DROPPED = ("ampWebUrl", "images", "related")


# ---- nothing written outside what the user named -----------------------------------------
def test_write_back_through_a_glob_never_reaches_a_linked_tree(model, tmp_path) -> None:
    """`score predict 'd/**/*.md' --only-missing --write-back` with d/link -> another tree:
    the other tree's record is neither scored nor written."""
    write_corpus(tmp_path / "d", 3, unscored=(1,))
    outside = tmp_path / "outside"
    write_corpus(outside, 2, unscored=(0, 1))
    before = snapshot(outside)
    (tmp_path / "d" / "link").symlink_to(outside, target_is_directory=True)
    pattern = str(tmp_path / "d" / "**" / "*.md")
    result = predict(pattern, "--model", model, "--only-missing", "--write-back")
    assert result.exit_code == 0, result.output
    assert "1 rows from 3 records" in result.stderr
    assert snapshot(outside) == before
    assert b"\nquality: " in (tmp_path / "d" / "0001.md").read_bytes()


@pytest.mark.parametrize(
    "outputs",
    [
        ("--out", "train/0000.md"),
        ("--out", "train/scores.jsonl"),
        ("--out", "same.csv", "--errors", "same.csv"),
        ("--errors", "train/errors.jsonl"),
    ],
)
def test_outputs_that_collide_are_refused_before_anything_is_read(
    model, site, tmp_path, monkeypatch, outputs
) -> None:
    monkeypatch.chdir(tmp_path)
    before = snapshot(site)
    result = predict(site, "--model", model, *outputs)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "rows from" not in result.stderr
    assert snapshot(site) == before and not (tmp_path / "same.csv").exists()


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_stop_signal_leaves_no_output_and_says_so(model, tmp_path, signame) -> None:
    import signal
    import subprocess
    import time

    write_corpus(tmp_path / "many", 3000)
    out = tmp_path / "out" / "scores.csv"
    out.parent.mkdir()
    args = [*SCORE, "predict", str(tmp_path / "many"), "--model", str(model), "--out", str(out)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not any(out.parent.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)  # the temporary output exists: the run is writing
    assert proc.poll() is None, "finished before the signal"
    proc.send_signal(getattr(signal, signame))
    _, stderr = proc.communicate(timeout=60)
    number = getattr(signal, signame).value
    assert proc.returncode == 128 + number, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: stopped by {signame}; nothing was left half-written"
    )
    assert "Traceback" not in stderr
    assert list(out.parent.iterdir()) == []


def test_the_tables_score_load_writes_score_exactly_as_the_records_did(rule_model, tmp_path):
    """`score load ... --out T && score predict T` (and `score load | score predict -`): the
    predictions of the original records, for every table format."""
    inputs = tmp_path / "news"
    for i in range(300, 310):
        write(inputs / f"{i}.md", to_markdown(rule_record(i, quality=i % 2 == 0)))
    write_rule_jsonl(inputs / "dump.jsonl", 8, start=320)
    original = predict(inputs, "--model", rule_model)
    assert original.exit_code == 0, original.output
    expected = [json.loads(line)["quality_pred"] for line in original.stdout.splitlines()]
    for suffix in (".jsonl", ".csv", ".parquet"):
        table = tmp_path / f"table{suffix}"
        assert runner.invoke(app, ["load", str(inputs), "--out", str(table)]).exit_code == 0
        again = predict(table, "--model", rule_model)
        assert again.exit_code == 0, again.output
        got = [json.loads(line)["quality_pred"] for line in again.stdout.splitlines()]
        assert got == expected, suffix
    dumped = runner.invoke(app, ["load", str(inputs)]).stdout
    piped = runner.invoke(app, ["predict", "-", "--model", str(rule_model)], input=dumped)
    assert piped.exit_code == 0, piped.output
    assert [json.loads(line)["quality_pred"] for line in piped.stdout.splitlines()] == expected


@pytest.mark.parametrize("command", ["predict", "load"])
def test_a_run_that_read_no_input_writes_nothing(model, tmp_path, command) -> None:
    out = tmp_path / "scores.csv"
    extra = ["--model", str(model)] if command == "predict" else []
    result = runner.invoke(app, [command, str(tmp_path / "missing"), *extra, "--out", str(out)])
    assert result.exit_code == 1
    assert not out.exists() and "nothing written" in result.stderr
    out.write_text("yesterday's scores\n")
    runner.invoke(app, [command, str(tmp_path / "missing"), *extra, "--out", str(out)])
    assert out.read_text() == "yesterday's scores\n"
