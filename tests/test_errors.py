"""The error report: every bad input counted and streamed, memory bounded by what is held."""

from __future__ import annotations

import json

from helpers import write

from pipeline import errors as errors_module
from pipeline.errors import ErrorReport, LoadError
from pipeline.load.export import export


def _error(i: int) -> LoadError:
    return LoadError(f"dump.jsonl:{i}", "invalid JSON at column 1: Expecting value")


def test_a_report_counts_every_error_and_holds_only_the_first():
    report = ErrorReport(keep=3)
    for i in range(1, 11):
        report.add(_error(i))
    assert len(report) == 10 and bool(report)
    assert list(report) == [_error(1), _error(2), _error(3)]
    other = ErrorReport(keep=3)
    other.extend([_error(20)])
    other.extend(report)
    assert len(other) == 11 and list(other) == [_error(20), _error(1), _error(2)]
    assert ErrorReport() == [] and not ErrorReport()


def test_millions_of_bad_lines_stream_to_the_file_while_few_are_held(tmp_path, monkeypatch):
    """`score load` of a dump of bad lines: the --errors file has every one, in order; the
    summary counts every one and holds only the cap."""
    monkeypatch.setattr(errors_module, "MAX_HELD_ERRORS", 5)
    dump = write(tmp_path / "in" / "dump.jsonl", "not json\n" * 2_000)
    summary = export([str(dump)], tmp_path / "out.jsonl", errors_out=tmp_path / "errors.jsonl")
    assert len(summary.errors) == 2_000 and len(summary.errors.held) == 5
    rows = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [row["source"] for row in rows] == [f"{dump}:{i}" for i in range(1, 2_001)]


def test_an_error_line_cannot_be_forged_by_a_file_name():
    line = str(LoadError("a\nerror: all good.md\x1b[2J\u2028", "no front matter"))
    assert "\n" not in line and "\x1b" not in line and "\u2028" not in line
    assert line == "a\\nerror: all good.md\\x1b[2J\\u2028: no front matter"


def test_a_long_reason_keeps_its_end():
    from pipeline.errors import one_line

    text = one_line(f"cannot write /{'d' * 400}/scores.csv: File name too long", 120)
    assert len(text) == 120 and text.endswith("File name too long") and " ... " in text
