"""The driver of `score predict`: batches written in order, written back, progress shown."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import api_object, train_tiny_model, write_corpus

from pipeline.artifact import load_artifact
from pipeline.io import writeback
from pipeline.io.outputs import TableWriter
from pipeline.io.writeback import WriteBackPlan
from pipeline.predict.engines import local_batches
from pipeline.predict.run import drive
from pipeline.predict.scorer import Scorer


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("model")
    return load_artifact(train_tiny_model(root / "train", root / "quality.joblib"))


def run(artifact, paths: list[str], out: Path, plan: WriteBackPlan | None, **kw):
    scorer = Scorer(artifact.model, **kw)
    return drive(
        local_batches(scorer, paths, batch_size=2),
        TableWriter(out),
        empty=scorer.empty(),
        plan=plan,
    )


def test_write_back_changes_one_line_and_keeps_every_other_byte(artifact, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    [path] = write_corpus(folder, 1)
    original = path.read_bytes().replace(b"\n", b"\r\n")  # CRLF must survive
    original = original.replace(b"---\r\n", b"---\r\n# a comment\r\n", 1)
    path.write_bytes(original)
    plan = WriteBackPlan("quality_pred", only_if_missing=False)
    summary = run(artifact, [str(folder)], tmp_path / "out.jsonl", plan)
    assert summary.write_back is not None and summary.write_back.written == 1
    new = path.read_bytes()
    pred = pd.read_json(tmp_path / "out.jsonl", lines=True)["quality_pred"].iloc[0]
    added = f"quality_pred: {pred:.1f}\r\n".encode()
    close = original.rindex(b"---\r\n")
    assert new == original[:close] + added + original[close:]


def test_write_back_with_only_missing_sets_quality_where_absent(artifact, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    paths = write_corpus(folder, 4, unscored=(1,))
    before = {p: p.read_bytes() for p in paths}
    plan = WriteBackPlan("quality", only_if_missing=True)
    summary = run(artifact, [str(folder)], tmp_path / "o.csv", plan, only_missing=True)
    assert summary.rows == 1 and summary.write_back.written == 1
    written = paths[1].read_bytes()
    assert b"\nquality: " in written
    value = written.split(b"\nquality: ")[1].split(b"\n")[0]
    assert value.isdigit()  # an integer, like every quality the aggregator writes
    assert all(p.read_bytes() == before[p] for p in paths if p != paths[1])


def test_records_from_json_are_not_writable_and_not_errors(artifact, tmp_path: Path) -> None:
    page = tmp_path / "feed" / "page-1.json"
    page.parent.mkdir()
    page.write_text(json.dumps({"page": 1, "value": [api_object(i) for i in range(3)]}))
    plan = WriteBackPlan("quality_pred", only_if_missing=False)
    summary = run(artifact, [str(page)], tmp_path / "o.jsonl", plan)
    assert summary.rows == 3 and not summary.errors
    assert summary.write_back.not_writable == 3
    assert summary.write_back.example.endswith("page-1.json[0]")


def test_write_back_refusal_is_reported_per_file(artifact, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    paths = write_corpus(folder, 3)
    # a top-level key written twice: readable, but write-back refuses to guess
    text = paths[1].read_text().replace("---\n", "---\nquality_pred: 1\nquality_pred: 2\n", 1)
    paths[1].write_text(text)
    plan = WriteBackPlan("quality_pred", only_if_missing=False)
    summary = run(artifact, [str(folder)], tmp_path / "o.jsonl", plan)
    assert summary.rows == 3 and summary.write_back.written == 2
    [error] = summary.errors
    assert error.source.endswith("0001.md") and "write-back refused" in error.reason


def test_a_crash_midway_leaves_files_updated_or_untouched(
    artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    paths = write_corpus(folder, 6)
    before = {p: p.read_bytes() for p in paths}
    real = writeback.write_back
    calls = []

    def crash_after_three(*args, **kwargs):
        if len(calls) == 3:
            raise RuntimeError("power cut")
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(writeback, "write_back", crash_after_three)
    out = tmp_path / "out.jsonl"
    out.write_text("previous output\n")
    plan = WriteBackPlan("quality_pred", only_if_missing=False)
    with pytest.raises(RuntimeError, match="power cut"):
        run(artifact, [str(folder)], out, plan)
    done = paths[:3]
    for p in paths:
        data = p.read_bytes()
        if p in done:
            assert data.startswith(before[p][: before[p].rindex(b"---")])
            assert data.endswith(b"---\n\nBody text.\n") and b"\nquality_pred: " in data
            assert len(data) > len(before[p])
        else:
            assert data == before[p]
    assert out.read_text() == "previous output\n"  # the output is not half-replaced either
    assert sorted(x.name for x in folder.iterdir()) == [p.name for p in paths]  # no temp files


def test_progress_is_silent_when_disabled(artifact, tmp_path: Path, capsys) -> None:
    write_corpus(tmp_path / "site", 3)
    run(artifact, [str(tmp_path / "site")], tmp_path / "o.jsonl", None)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_bar_on_a_terminal_shows_rate_and_errors(artifact, tmp_path: Path, capsys):
    write_corpus(tmp_path / "site", 3)
    (tmp_path / "site" / "bad.md").write_text("no front matter\n")
    scorer = Scorer(artifact.model)
    drive(
        local_batches(scorer, [str(tmp_path / "site")]),
        TableWriter(tmp_path / "o.jsonl"),
        empty=scorer.empty(),
        progress=True,
    )
    err = capsys.readouterr().err
    assert "rec" in err and "errors=1" in err
