"""The project's own tables read back: every table `score load` writes is an input again."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import rule_record, to_markdown, write, write_rule_jsonl

from pipeline.load import load_records
from pipeline.load.export import export


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    """Records of two sites with AMP links, images, topics, videos and related entries, in
    Markdown and as feed objects; and a featured-content record."""
    root = tmp_path_factory.mktemp("records")
    for i in range(12):
        write(root / "news" / f"{i}.md", to_markdown(rule_record(i, quality=i % 3 != 0)))
    write_rule_jsonl(root / "gaming" / "dump.jsonl", 10, start=50, level=107)
    featured = {**rule_record(90), "featuredContent": {"kind": "video"}, "locale": "en-us"}
    write(root / "news" / "featured.md", to_markdown(featured))
    return root


def _same_records(back: pd.DataFrame, original: pd.DataFrame) -> None:
    """Every column but `source` (where the row was read from) is the original's."""
    pd.testing.assert_frame_equal(
        back.drop(columns="source").reset_index(drop=True),
        original.drop(columns="source").reset_index(drop=True),
    )


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
@pytest.mark.parametrize("related", [False, True])
def test_each_table_score_load_writes_reads_back_as_the_same_records(
    originals, tmp_path, suffix, related
):
    original = load_records([str(originals)], expand_related=related).frame
    table = tmp_path / f"table{suffix}"
    summary = export([str(originals)], table, related=related)
    assert summary.rows == len(original) and not summary.errors
    back = load_records([str(table)])
    assert back.ok, list(back.errors)
    _same_records(back.frame, original)
    assert set(back.frame["site"]) == {"news", "gaming"}  # the rows' own sites, not the table's


def test_a_json_object_that_fits_neither_schema_is_a_bad_record(tmp_path):
    dump = write(
        tmp_path / "d.jsonl", "\n".join(json.dumps(o) for o in ({"foo": 1}, {}, rule_record(1)))
    )
    result = load_records([str(dump)])
    assert [e.source for e in result.errors] == [f"{dump}:1", f"{dump}:2"]
    assert all("not an article record" in e.reason for e in result.errors)
    assert len(result.frame) == 1


def test_a_csv_that_is_not_our_table_is_reported_row_by_row(tmp_path):
    other = write(tmp_path / "other.csv", "name,price\nwidget,3\n")
    result = load_records([str(other)])
    assert len(result.frame) == 0 and result.errors[0].source == f"{other}:2"
    broken = write(tmp_path / "broken.parquet", b"PAR1 not really")
    assert "unreadable Parquet" in load_records([str(broken)]).errors[0].reason


def test_tables_are_read_when_named_not_found_by_folder_walks(originals, tmp_path):
    folder = tmp_path / "in"
    write_rule_jsonl(folder / "records.jsonl", 3)
    export([str(folder)], tmp_path / "table.csv")
    (tmp_path / "table.csv").rename(folder / "table.csv")  # a table sitting among records
    assert len(load_records([str(folder)]).frame) == 3
    assert len(load_records([str(folder), str(folder / "table.csv")]).frame) == 6
