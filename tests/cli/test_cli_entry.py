"""The `score` entry point: exit statuses, and complete output or one clear line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, SCORE, jsonl_text, make_record, to_api_object

from pipeline.cli._entry import exit_status


def _score(args: list[str], tmp_path: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    return subprocess.run([*SCORE, *args], env=env, cwd=tmp_path, timeout=120, **streams)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (1, 1), (2, 2), (256 + 3, 3)])
def test_exit_status_is_what_sys_exit_would_give(code, status) -> None:
    assert exit_status(code) == status


def test_a_message_exit_prints_it_and_gives_1(capsys) -> None:
    assert exit_status("stopped") == 1
    assert capsys.readouterr().err == "stopped\n"


def test_every_output_line_reaches_a_pipe_and_status_is_kept(tmp_path) -> None:
    """More output than a pipe holds, all of it buffered at exit: nothing is lost."""
    objects = [to_api_object(make_record(i)) for i in range(1, 1201)]
    good = _score(["load", "-"], tmp_path, input=jsonl_text(objects).encode())
    assert good.returncode == 0, good.stderr
    rows = [json.loads(line) for line in good.stdout.decode().splitlines()]
    assert [row["title"] for row in rows] == [o["title"] for o in objects]

    bad = _score(["load", "-"], tmp_path, input=(jsonl_text(objects[:2]) + "[1]\n").encode())
    assert bad.returncode == 1
    assert len(bad.stdout.decode().splitlines()) == 2
    assert bad.stderr.decode().splitlines() == [
        "error: <stdin>:3: line is a JSON list, not a record object"
    ]
    usage = _score(["load", "-", "--duplicates", "some"], tmp_path, input=b"")
    assert usage.returncode == 2 and b"Traceback" not in usage.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_standard_output_that_cannot_be_written_is_an_error(tmp_path) -> None:
    """`score load ... > full-disk`: status 1 and one line, never a silent success."""
    objects = [to_api_object(make_record(i)) for i in (1, 2)]
    with open("/dev/full", "wb") as full:
        proc = _score(["load", "-"], tmp_path, input=jsonl_text(objects).encode(), stdout=full)
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and "No space left" in lines[0], lines


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_help_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path) -> None:
    with open("/dev/full", "wb") as full:
        proc = _score(["--help"], tmp_path, stdout=full)
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert lines == ["error: cannot write standard output ([Errno 28] No space left on device)"]
