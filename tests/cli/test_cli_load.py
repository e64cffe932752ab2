"""`score load`: outputs, stdin, bad inputs on stderr, exit codes, --strict, no stray files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import REPO, SCORE, jsonl_text, listing, make_record, to_api_object, write, write_md
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.schema import COLUMNS


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def inputs(tmp_path) -> Path:
    folder = tmp_path / "in"
    write_md(folder / "a.md", make_record(1))
    write_md(folder / "b.md", make_record(2))
    write(folder / "c.jsonl", jsonl_text([to_api_object(make_record(3))]))
    return folder


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_load_to_a_file(runner, tmp_path, inputs, suffix):
    out = tmp_path / f"out{suffix}"
    before = listing(tmp_path)
    result = runner.invoke(app, ["load", str(inputs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert listing(tmp_path) == sorted([*before, out.name])  # only the output is new
    if suffix == ".parquet":
        frame = pd.read_parquet(out)
    elif suffix == ".csv":
        frame = pd.read_csv(out)
    else:
        frame = pd.read_json(out, lines=True)
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 3
    assert result.stdout == ""
    assert _lines(result.stderr) == [f"3 records (3 scored, 0 duplicates) -> {out}; bad inputs: 0"]


def test_load_to_stdout(runner, inputs):
    result = runner.invoke(app, ["load", str(inputs / "a.md")])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in _lines(result.stdout)]
    assert len(rows) == 1 and rows[0]["title"] == make_record(1)["title"]
    assert result.stderr == ""


def test_stdin_json_lines(runner):
    objects = [to_api_object(make_record(i)) for i in (1, 2)]
    result = runner.invoke(app, ["load", "-"], input=jsonl_text(objects))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in _lines(result.stdout)]
    assert [r["source"] for r in rows] == ["<stdin>:1", "<stdin>:2"]
    assert [r["title"] for r in rows] == [o["title"] for o in objects]


def test_bad_inputs_are_reported_one_line_each_and_the_rest_written(runner, tmp_path, inputs):
    write(inputs / "empty.md", "")
    write(inputs / "d.jsonl", jsonl_text([to_api_object(make_record(4))]) + "{broken\n")
    missing = tmp_path / "missing.md"
    out = tmp_path / "out.jsonl"
    errors_file = tmp_path / "errors.jsonl"
    result = runner.invoke(
        app, ["load", str(inputs), str(missing), "-o", str(out), "--errors", str(errors_file)]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = _lines(result.stderr)
    assert sorted(lines[:3]) == [
        f"error: {inputs}/d.jsonl:2: invalid JSON at column 2: Expecting property name "
        "enclosed in double quotes",
        f"error: {inputs}/empty.md: empty file",
        f"error: {missing}: no such file or directory",
    ]
    assert lines[3] == f"4 records (4 scored, 0 duplicates) -> {out}; bad inputs: 3"
    assert len(_lines(out.read_text())) == 4
    reported = [json.loads(line) for line in _lines(errors_file.read_text())]
    assert sorted(r["source"] for r in reported) == sorted(
        [f"{inputs}/d.jsonl:2", f"{inputs}/empty.md", str(missing)]
    )


def test_strict_exits_non_zero_with_one_line_and_writes_nothing(runner, tmp_path, inputs):
    write(inputs / "bad.md", "---\ntitle: [unclosed\n---\n")
    out = tmp_path / "out.parquet"
    before = listing(tmp_path)
    result = runner.invoke(app, ["load", str(inputs), "--strict", "-o", str(out)])
    assert result.exit_code == 1
    lines = _lines(result.stderr)
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {inputs}/bad.md: YAML does not parse at line 3")
    assert lines[0].endswith("(--strict)")
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert listing(tmp_path) == before  # no output, no temp file


def test_strict_keeps_an_existing_output_unchanged(runner, tmp_path, inputs):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    result = runner.invoke(
        app, ["load", str(inputs), str(tmp_path / "nope.md"), "--strict", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert out.read_text() == "old\n"
    assert listing(tmp_path) == sorted(["in", "in/a.md", "in/b.md", "in/c.jsonl", "out.csv"])


def test_duplicates_and_related_options(runner, tmp_path):
    write_md(tmp_path / "in" / "a.md", make_record(1))
    write_md(tmp_path / "in" / "b.md", make_record(1))  # same URL and time
    out = tmp_path / "out.jsonl"
    counts = {}
    for rule in ("mark", "drop", "keep"):
        result = runner.invoke(
            app, ["load", str(tmp_path / "in"), "--duplicates", rule, "-o", str(out)]
        )
        assert result.exit_code == 0
        rows = [json.loads(line) for line in _lines(out.read_text())]
        counts[rule] = (len(rows), sum(r["is_duplicate"] for r in rows))
    assert counts == {"mark": (2, 1), "drop": (1, 0), "keep": (2, 0)}
    result = runner.invoke(app, ["load", str(tmp_path / "in" / "a.md"), "--related"])
    rows = [json.loads(line) for line in _lines(result.stdout)]
    assert [r["is_related"] for r in rows] == [False, True]
    result = runner.invoke(app, ["load", str(tmp_path / "in"), "--duplicates", "some"])
    assert result.exit_code == 2
    assert _lines(result.stderr) == [
        "error: Invalid value for '--duplicates': 'some' is not one of 'mark', 'drop', 'keep'. "
        "(see: score load --help)"
    ]


def test_bad_output_path(runner, tmp_path, inputs):
    result = runner.invoke(app, ["load", str(inputs), "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 2
    assert len(_lines(result.stderr)) == 1 and "unknown output format" in result.stderr
    result = runner.invoke(app, ["load", str(inputs), "-o", str(tmp_path / "no" / "out.csv")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_real_process_strict_stdin(tmp_path):
    """A real process (one: start-up is slow): stdin JSON Lines, --strict, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    objects = [to_api_object(make_record(i)) for i in (1, 2)]
    bad = subprocess.run(
        [*SCORE, "load", "--strict", "-", "-o", "out.csv"],
        input=jsonl_text(objects[:1]) + "[1]\n" + jsonl_text(objects[1:]),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert bad.returncode == 1
    assert _lines(bad.stderr) == [
        "error: <stdin>:2: line is a JSON list, not a record object (--strict)"
    ]
    assert bad.stdout == ""
    assert listing(tmp_path) == []


@pytest.mark.parametrize("name", ["errors.txt", "no/errors.jsonl"])
def test_bad_errors_path_is_refused_before_loading(runner, tmp_path, inputs, name):
    out = tmp_path / "out.csv"
    before = listing(tmp_path)
    result = runner.invoke(
        app, ["load", str(inputs), "-o", str(out), "--errors", str(tmp_path / name)]
    )
    assert result.exit_code == 2
    assert len(_lines(result.stderr)) == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert listing(tmp_path) == before


def test_a_crash_during_loading_leaves_no_temp_file(runner, tmp_path, inputs, monkeypatch):
    import pipeline.load.export as load_module

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(load_module, "load_records", crash)
    out = tmp_path / "out.parquet"
    before = listing(tmp_path)
    result = runner.invoke(app, ["load", str(inputs), "-o", str(out)])
    assert result.exit_code == 130  # the conventional status of an interrupt
    assert listing(tmp_path) == before


def test_score_load_starts_without_scikit_learn():
    """`score load` (and --help) must not pay for importing scikit-learn and SciPy (~1 s)."""
    probe = "import sys, pipeline.cli; print(sorted({'sklearn', 'scipy'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _file_size_cap(limit: int):
    """preexec_fn: writes past ``limit`` bytes fail with EFBIG (a full disk, without root)."""
    import resource
    import signal

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("command", ["load", "predict"])
@pytest.mark.parametrize("records", [12, 400])
def test_an_output_that_cannot_be_written_is_one_line_and_leaves_no_file(
    tmp_path, command, records
):
    """The disk fills while the output is written (400 records) or when its last buffer is
    flushed at the close (12): status 1, one line, no partial or temporary file left."""
    objects = [to_api_object(make_record(i)) for i in range(1, records + 1)]
    write(tmp_path / "in" / "dump.jsonl", jsonl_text(objects))
    args = [command, str(tmp_path / "in"), "-o", str(tmp_path / "out" / "rows.csv")]
    if command == "predict":
        from helpers import train_tiny_model

        model = train_tiny_model(tmp_path / "train", tmp_path / "model" / "quality.joblib")
        args += ["--model", str(model)]
    (tmp_path / "out").mkdir()
    proc = subprocess.run(
        [*SCORE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        timeout=120,
        preexec_fn=_file_size_cap(1024),
    )
    assert proc.returncode == 1, proc.stderr
    assert len(_lines(proc.stderr)) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "File too large" in proc.stderr
    assert listing(tmp_path / "out") == []


def test_a_file_name_with_a_newline_cannot_forge_an_error_line(runner, tmp_path):
    write_md(tmp_path / "in" / "good.md")
    write(tmp_path / "in" / "x.md\nerror: nothing wrong here.md", "no front matter\n")
    result = runner.invoke(app, ["load", str(tmp_path / "in"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {tmp_path / 'in'}/x.md\\nerror: nothing wrong here.md: "
        "no front matter (the file must start with a '---' line)"
    ]
