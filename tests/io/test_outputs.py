"""Writing frames as Parquet, CSV and JSON Lines: round trips and atomic replacement."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import DROP, listing, make_record, write_md
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import LoadError
from pipeline.io import outputs
from pipeline.io.outputs import (
    OutputError,
    TableWriter,
    format_of,
    frame_to_csv,
    frame_to_jsonl,
    write_errors,
    write_frame,
)
from pipeline.load import load_records
from pipeline.schema import COLUMNS


@pytest.fixture
def frame(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("records")
    write_md(folder / "a.md", make_record(1, title='Quotes "and", commas\nand a newline'))
    write_md(folder / "b.md", make_record(2, quality=DROP, topics=DROP, publishedDateTime=DROP))
    write_md(folder / "c.md", make_record(3, title="Ünïcode — ☕"))
    result = load_records(str(folder), expand_related=True)
    assert result.ok
    return result.frame


def _read(path) -> pd.DataFrame:
    suffix = os.path.splitext(str(path))[1]
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)


def _nested(value):
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_round_trip(tmp_path, frame, suffix):
    out = tmp_path / f"out{suffix}"
    write_frame(frame, out)
    assert listing(tmp_path) == [out.name]  # no temporary file left
    back = _read(out)
    assert list(back.columns) == list(COLUMNS)
    assert len(back) == len(frame) == 6
    for column in ["id", "source", "title", "url", "provider_domain", "parent_id"]:
        expected = [None if pd.isna(v) else v for v in frame[column]]
        actual = [None if pd.isna(v) else v for v in back[column]]
        assert actual == expected, column
    assert [None if pd.isna(v) else float(v) for v in back["quality"]] == [
        None if pd.isna(v) else float(v) for v in frame["quality"]
    ]
    times = pd.to_datetime(back["published_at"], utc=True).astype("datetime64[ns, UTC]")
    pd.testing.assert_series_equal(times, frame["published_at"], check_names=False)
    # nested columns come back whole (lists in Parquet, JSON text in CSV, arrays in JSON Lines)
    assert [list(_nested(v)) for v in back["topics"]] == list(frame["topics"])
    related = list(_nested(back["related"].iloc[0]))
    assert [e["title"] for e in related] == [e["title"] for e in frame["related"].iloc[0]]
    when = related[0]["published_at"]
    assert pd.to_datetime(when, utc=True) == pd.Timestamp("2021-05-06T14:37:00+00:00")
    assert related[1]["quality"] is None or pd.isna(related[1]["quality"])


def test_parquet_holds_topics_and_related_as_list_columns(tmp_path, frame):
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_frame(frame, tmp_path / "out.parquet")
    schema = pq.read_schema(tmp_path / "out.parquet")
    assert schema.field("topics").type == pa.list_(pa.string())
    assert pa.types.is_list(schema.field("related").type)
    assert pa.types.is_struct(schema.field("related").type.value_type)
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [row["topics"] for row in rows] == list(frame["topics"])


def test_parquet_keeps_the_dtypes(tmp_path, frame):
    out = tmp_path / "out.parquet"
    write_frame(frame, out)
    back = pd.read_parquet(out)
    assert str(back["published_at"].dtype).startswith("datetime64")
    assert str(back["published_at"].dt.tz) == "UTC"
    assert back["image_count"].dtype == "Int64"
    assert back["quality"].dtype == "Float64"
    assert back["is_duplicate"].dtype == "boolean"


def test_batches_append_to_one_output(tmp_path, frame):
    for suffix in (".parquet", ".csv", ".jsonl"):
        out = tmp_path / f"out{suffix}"
        with TableWriter(out) as writer:
            writer.write(frame.iloc[:2])
            writer.write(frame.iloc[2:])
        assert writer.rows == 6
        back = _read(out)
        assert list(back["id"]) == list(frame["id"])  # one header, all rows


def test_jsonl_lines_are_one_object_each(frame):
    lines = frame_to_jsonl(frame).splitlines()
    assert len(lines) == len(frame)
    first = json.loads(lines[0])
    assert first["title"] == 'Quotes "and", commas\nand a newline'
    assert first["published_at"] == "2021-05-10T07:01:00+00:00"
    assert first["parent_id"] is None


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_a_failed_write_leaves_the_existing_file_and_no_temp_file(
    tmp_path, frame, suffix, monkeypatch
):
    out = tmp_path / f"out{suffix}"
    out.write_bytes(b"previous content")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "_encode_nested", disk_full)  # Parquet
    monkeypatch.setattr(outputs, "write_csv", disk_full)  # CSV
    monkeypatch.setattr(outputs, "frame_to_jsonl", disk_full)  # JSON Lines
    with pytest.raises(OSError, match="No space"):
        write_frame(frame, out)
    assert out.read_bytes() == b"previous content"
    assert listing(tmp_path) == [out.name]


def test_an_exception_between_batches_aborts(tmp_path, frame):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    with pytest.raises(RuntimeError), TableWriter(out) as writer:
        writer.write(frame)
        raise RuntimeError("crash mid-way")
    assert out.read_text() == "old\n"
    assert listing(tmp_path) == [out.name]


def test_empty_frame_outputs(tmp_path):
    from pipeline.load import empty_frame

    for suffix in (".parquet", ".csv", ".jsonl"):
        write_frame(empty_frame(), tmp_path / f"e{suffix}")
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 0
    assert list(pd.read_csv(tmp_path / "e.csv").columns) == list(COLUMNS)
    assert (tmp_path / "e.jsonl").read_text() == ""


def test_formats_and_bad_outputs(tmp_path):
    assert format_of(None) == format_of("-") == "jsonl"
    assert format_of("x.ndjson") == "jsonl"
    assert format_of("X.PARQUET") == "parquet"
    with pytest.raises(OutputError, match="unknown output format"):
        format_of(tmp_path / "out.xlsx")
    with pytest.raises(OutputError, match="does not exist"):
        TableWriter(tmp_path / "missing" / "out.csv")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_repeated_column_names_are_refused_in_one_line_where_a_format_cannot_hold_them(
    tmp_path, suffix
):
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(OutputError, match=r"out\S*: repeated column names \(a\)"):
        write_frame(frame, tmp_path / f"out{suffix}")
    assert listing(tmp_path) == []  # no partial file left
    with pytest.raises(OutputError, match=r"repeated column names \(1\)"):  # 1 and "1"
        write_frame(pd.DataFrame([[1, 2]], columns=[1, "1"]), tmp_path / f"out{suffix}")
    write_frame(frame, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "a,b,a\n1,2,3\n"


def test_stdout_output(capsys, frame):
    write_frame(frame.iloc[:2], None)
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == list(frame["id"].iloc[:2])


def test_write_errors(tmp_path):
    errors = [LoadError("a.md", "empty file"), LoadError("b.jsonl:3", "invalid JSON")]
    write_errors(tmp_path / "errors.jsonl", errors)
    lines = (tmp_path / "errors.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in errors]
    write_errors(tmp_path / "none.csv", [])
    assert pd.read_csv(tmp_path / "none.csv").columns.tolist() == ["source", "reason"]


def test_unserialisable_value_in_jsonl_aborts_cleanly(tmp_path, frame):
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    bad = frame.copy()
    bad["topics"] = [[object()]] * len(bad)
    with pytest.raises(TypeError, match="not JSON serialisable"):
        write_frame(bad, out)
    assert out.read_text() == "old\n"
    assert listing(tmp_path) == [out.name]


def test_output_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    """A scores file is readable by others like any file the user makes (umask 022: 0644)."""
    frame = load_records([str(write_md(tmp_path / "in" / "a.md"))]).frame
    assert len(frame) == 1
    old = os.umask(0o022)
    try:
        outputs.write_frame(frame, tmp_path / "scores.csv")
    finally:
        os.umask(old)
    assert (tmp_path / "scores.csv").stat().st_mode & 0o777 == 0o644


def _jsonl_reference(frame: pd.DataFrame) -> str:
    """The definition: a dict per row, missing values as None, through json.dumps."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return "".join(
        json.dumps(row, default=outputs._json_default, ensure_ascii=False) + "\n" for row in rows
    )


def test_jsonl_encoding_equals_the_row_by_row_definition(frame):
    """Every column kind of the schema (strings, NA, NaT, nullable ints/floats/booleans, lists,
    related dicts, times) plus plain float columns with NaN, as score predict writes them."""
    scored = frame.assign(quality_pred=[1.5, float("nan"), 2.0, 3.25, float("nan"), 0.1])
    assert frame_to_jsonl(scored) == _jsonl_reference(scored)
    assert frame_to_jsonl(scored.iloc[:0]) == ""
    assert frame_to_jsonl(scored.iloc[[1]]) == _jsonl_reference(scored.iloc[[1]])


_TEXT = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(['"', ",", "\n", "\r\n", "\r", "\0", "\x1c", " ", "", 'a "b", c', "é☕"]),
)
_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e16, 1e-5, 123456789.0, 67.0, 1 / 3]),
)


def _csv_rows(text: str, *, universal: bool) -> list[list[str]]:
    """Rows as the csv module reads them; ``universal``: after a reader that turns every
    line end (CR, LF, CRLF) into LF, as Python's text mode does by default."""
    if universal:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return list(csv.reader(io.StringIO(text, newline="")))


def _cell_text(value, *, is_float: bool) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return repr(float(value)) if is_float else str(value)


@given(
    st.lists(
        st.tuples(
            _TEXT,
            _FLOAT,
            st.one_of(st.none(), _FLOAT),
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        ),
        max_size=8,
    ),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_csv_cells_read_back_exactly_and_rows_survive_any_line_end_reading(rows, header):
    """Strings with quotes, commas, CR, LF, CRLF, NUL; floats (NaN, inf, -0.0); nullable floats
    and integers: each cell reads back as its text, and a lone CR or LF inside a cell never
    splits a row, even for a reader that takes every CR as a line end."""
    frame = pd.DataFrame(
        {
            "title": pd.array([r[0] for r in rows], dtype="string"),
            "quality_pred": np.array([r[1] for r in rows], dtype=float),
            "quality": pd.array([r[2] for r in rows], dtype="Float64"),
            "image_count": pd.array([r[3] for r in rows], dtype="Int64"),
        }
    )
    text = frame_to_csv(frame, header=header)
    expected = [
        [
            _cell_text(r[0], is_float=False),
            _cell_text(r[1], is_float=True),
            _cell_text(r[2], is_float=True),
            _cell_text(r[3], is_float=False),
        ]
        for r in rows
    ]
    names = [list(frame.columns)] if header else []
    assert _csv_rows(text, universal=False) == names + expected
    assert len(_csv_rows(text, universal=True)) == len(names + expected)
    one = frame[["title"]]  # a row of one empty field is quoted, or it would be a blank line
    assert _csv_rows(frame_to_csv(one, header=header), universal=False) == [
        row[:1] for row in names + expected
    ]


def test_csv_holds_times_lists_and_dicts_as_text(frame):
    """score load's table: times as ISO 8601, lists and related entries as JSON."""
    rows = list(csv.DictReader(io.StringIO(frame_to_csv(frame), newline="")))
    assert rows[0]["published_at"] == "2021-05-10T07:01:00+00:00"
    assert json.loads(rows[0]["topics"]) == list(frame["topics"].iloc[0])
    missing = frame["quality"].isna().to_numpy()
    assert missing.any()
    assert [row["quality"] == "" for row in rows] == list(missing)
    assert frame_to_csv(frame.iloc[:0]).count("\n") == 1  # the header alone
    assert frame_to_csv(pd.DataFrame()) == ""


def test_pandas_reads_our_csv_back(tmp_path, frame):
    write_frame(frame, tmp_path / "out.csv")
    back = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, na_values=[""])
    assert list(back["title"]) == list(frame["title"])
    assert list(back.columns) == list(frame.columns)


def test_list_cells_read_back_from_parquet_are_written_as_json(tmp_path):
    """pandas gives a Parquet list column back as numpy arrays: CSV holds them as the same
    JSON as lists, not "['a' 'b']"."""
    lists = pd.DataFrame({"topics": [["a", "b"], [], ["c"]]})
    lists.to_parquet(tmp_path / "lists.parquet")  # pyarrow list<string>, not our JSON text
    again = pd.read_parquet(tmp_path / "lists.parquet")
    assert isinstance(again["topics"].iloc[0], np.ndarray)
    write_frame(again, tmp_path / "b.csv")
    write_frame(lists, tmp_path / "c.csv")
    assert (tmp_path / "b.csv").read_text() == (tmp_path / "c.csv").read_text()
    assert '"[""a"", ""b""]"' in (tmp_path / "b.csv").read_text()
