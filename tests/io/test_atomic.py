"""Whole-or-nothing files: one predictable temporary name, taken over after a kill, locked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.io.atomic import AtomicFile, BusyError, temp_name


def test_commit_replaces_and_abort_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    writing = AtomicFile(target)
    writing.file.write(b"new\n")
    assert target.read_text() == "old\n"
    writing.abort()
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["out.csv"]
    writing = AtomicFile(target)
    writing.file.write(b"new\n")
    writing.commit()
    assert target.read_text() == "new\n" and os.listdir(tmp_path) == ["out.csv"]


def test_a_killed_writers_leftover_is_taken_over(tmp_path: Path) -> None:
    """Killed outright, a run leaves its one temporary file; the next run reuses that name,
    so leftovers never pile up."""
    target = tmp_path / "out.jsonl"
    code = (
        "import os, sys; from pipeline.io.atomic import AtomicFile; "
        "f = AtomicFile(sys.argv[1]); f.file.write(b'partial'); f.file.flush(); os._exit(9)"
    )
    for _ in range(3):
        subprocess.run([sys.executable, "-c", code, str(target)], check=False)
    assert os.listdir(tmp_path) == [temp_name("out.jsonl")]
    writing = AtomicFile(target)
    writing.file.write(b"whole\n")
    writing.commit()
    assert os.listdir(tmp_path) == ["out.jsonl"] and target.read_bytes() == b"whole\n"


def test_two_live_writers_of_one_file_are_refused(tmp_path: Path) -> None:
    first = AtomicFile(tmp_path / "x.csv")
    with pytest.raises(BusyError, match="another run is writing"):
        AtomicFile(tmp_path / "x.csv")
    first.commit()


def test_long_names_get_a_temporary_name_that_fits(tmp_path: Path) -> None:
    name = "n" * 250 + ".csv"
    assert len(temp_name(name, folder=tmp_path)) <= 255
    writing = AtomicFile(tmp_path / name)
    writing.file.write(b"ok\n")
    writing.commit()
    assert (tmp_path / name).read_bytes() == b"ok\n"
