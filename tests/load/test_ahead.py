"""ParseAhead: the start of an input parsed early gives exactly what parsing it later gives."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import (
    feed_page,
    gz,
    jsonl_text,
    make_record,
    to_api_object,
    to_markdown,
    write,
    write_json,
    write_md,
    zip_bytes,
)

import pipeline.load.ahead as ahead_module
from pipeline.load.ahead import ParseAhead
from pipeline.load.columns import columns_to_frame
from pipeline.load.units import iter_parts, parse_unit


@pytest.fixture
def mixed(tmp_path: Path) -> list[str]:
    """Markdown, a feed page, gzip, JSON Lines with a bad line, a zip with a bad member, a bad
    file and a walk error: every kind of unit and error, in a known order."""
    objects = [to_api_object(make_record(i)) for i in range(40, 46)]
    for i in range(9):
        write_md(tmp_path / "a" / f"{i:02d}.md", make_record(i + 1))
    write(tmp_path / "a" / "03_bad.md", "---\ntitle: [\n---\n")
    write_json(tmp_path / "a" / "10.json", feed_page(objects[:2]))
    write(tmp_path / "a" / "11.md.gz", gz(to_markdown(make_record(20))))
    write(tmp_path / "a" / "12.jsonl", jsonl_text(objects[2:]) + "{bad\n")
    members = [(f"m{i}.md", to_markdown(make_record(30 + i))) for i in range(3)]
    write(tmp_path / "a" / "13.zip", zip_bytes([*members, ("bad.md", "no front matter")]))
    return [str(tmp_path / "a"), str(tmp_path / "missing.md")]


def _flatten(parts) -> tuple[pd.DataFrame, list]:
    frames, errors = [], []
    for columns, part_errors in parts:
        frames.append(columns_to_frame(columns))
        errors += part_errors
    return pd.concat(frames, ignore_index=True), errors


def _reference(paths: list[str], chunk_size: int = 2) -> tuple[pd.DataFrame, list]:
    return _flatten(iter_parts(paths, chunk_size=chunk_size, jobs=1))


@pytest.fixture
def low_threshold(monkeypatch):
    monkeypatch.setattr(ahead_module, "PARALLEL_THRESHOLD", 1)


@pytest.mark.parametrize("units", [1, 3, 100])
@pytest.mark.parametrize("wait", [0.0, 0.5])
@pytest.mark.parametrize("stop_every", [1, 250])
def test_parsed_ahead_or_not_the_parts_are_the_same(
    mixed, low_threshold, monkeypatch, units, wait, stop_every
) -> None:
    """Whether the worker is stopped at once, inside a unit (``stop_every`` 1) or after its
    whole head, and whatever part of the input the head is, the rows and errors (walk errors
    included, line numbers kept) come out as without a head start, in input order."""
    monkeypatch.setattr(ahead_module, "STOP_EVERY", stop_every)
    expected_frame, expected_errors = _reference(mixed, chunk_size=3)
    with ParseAhead(mixed, chunk_size=3, units=units) as ahead:
        assert ahead.started
        time.sleep(wait)
        frame, errors = _flatten(iter_parts(mixed, chunk_size=3, jobs=2, ahead=ahead))
    pd.testing.assert_frame_equal(frame, expected_frame)
    assert errors == expected_errors
    assert [e.source.rsplit("/", 1)[-1] for e in errors] == [
        "03_bad.md",
        "12.jsonl:5",
        "13.zip::bad.md",
        "missing.md",
    ]


def test_a_worker_stopped_inside_a_unit_hands_over_its_start(
    mixed, low_threshold, monkeypatch
) -> None:
    """The parsed start of the unit comes out of take(), its end out of rest()."""
    monkeypatch.setattr(ahead_module, "STOP_EVERY", 1)
    monkeypatch.setattr(ahead_module, "parse_unit", _slow_parse)
    with ParseAhead(mixed, chunk_size=3, units=2) as ahead:
        time.sleep(0.6)  # the worker is inside its first unit (0.4 s per file)
        units = ahead.take()
        rest = list(ahead.rest())
    parts = [pickle.loads(unit.data) for unit in units]
    parsed = sum(len(columns["source"]) + len(errors) for columns, errors in parts)
    assert 1 <= parsed < 3 and [unit.records for unit in units] == [parsed]
    assert len(rest[0]) == 3 - parsed  # the end of the first unit
    assert len(rest[1]) == 3  # the next unit, untouched


def _slow_parse(unit, settings):
    time.sleep(0.4 * len(unit))
    return parse_unit(unit, settings)


def test_given_time_the_worker_parses_the_whole_head(mixed, low_threshold) -> None:
    with ParseAhead(mixed, chunk_size=2, units=3) as ahead:
        future = ahead._pool.in_flight[0][0]
        deadline = time.monotonic() + 60
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        parsed = ahead.take()
        parts = [pickle.loads(unit.data) for unit in parsed]
        assert [unit.records for unit in parsed] == [2, 2, 2]
        assert [len(columns["source"]) + len(errors) for columns, errors in parts] == [2, 2, 2]
        assert next(ahead.rest())  # the rest starts after the head


def test_a_small_input_starts_no_worker(mixed) -> None:
    """Under PARALLEL_THRESHOLD files or lines a fork costs more than it saves."""
    with ParseAhead(mixed, chunk_size=2) as ahead:
        assert not ahead.started
        assert multiprocessing.active_children() == []
        frame, errors = _flatten(iter_parts(mixed, chunk_size=2, ahead=ahead))
    expected_frame, expected_errors = _reference(mixed)
    pd.testing.assert_frame_equal(frame, expected_frame)
    assert errors == expected_errors


def test_misuse_is_refused(mixed, low_threshold) -> None:
    with ParseAhead(mixed, chunk_size=2) as ahead:
        with pytest.raises(RuntimeError, match="before take"):
            next(ahead.rest())
        ahead.take()
        with pytest.raises(RuntimeError, match="twice"):
            ahead.take()


def test_leaving_without_taking_ends_the_worker(mixed, low_threshold) -> None:
    with ParseAhead(mixed, chunk_size=2, units=100) as ahead:
        assert ahead.started and multiprocessing.active_children()
    assert multiprocessing.active_children() == []


def test_a_killed_worker_costs_nothing_but_its_head_start(mixed, low_threshold, monkeypatch):
    """Its units are parsed by the scoring side instead: same rows, same errors."""

    def dies(unit, settings):
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(ahead_module, "parse_unit", dies)
    expected_frame, expected_errors = _reference(mixed, chunk_size=3)
    with ParseAhead(mixed, chunk_size=3) as ahead:
        time.sleep(0.2)
        frame, errors = _flatten(iter_parts(mixed, chunk_size=3, jobs=2, ahead=ahead))
    pd.testing.assert_frame_equal(frame, expected_frame)
    assert errors == expected_errors
    assert multiprocessing.active_children() == []
