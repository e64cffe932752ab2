"""Records to frames: the schema, related rows, duplicates, streaming batches, strict mode."""

from __future__ import annotations

import io
import json
import sys

import pandas as pd
import pytest
from helpers import (
    DROP,
    assert_one_error,
    feed_page,
    gz,
    jsonl_text,
    make_record,
    tar_bytes,
    to_api_object,
    to_markdown,
    write,
    write_json,
    write_md,
    zip_bytes,
)

from pipeline.errors import LoadError, StrictModeError
from pipeline.load import (
    empty_frame,
    iter_batches,
    load_records,
    mark_duplicates,
    records_to_frame,
)
from pipeline.schema import COLUMNS, RELATED_KEYS


def _check_schema(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(COLUMNS)
    for column, dtype in COLUMNS.items():
        assert str(frame[column].dtype) == dtype, column


# --- schema -----------------------------------------------------------------------------------


def test_empty_frame_has_the_schema():
    frame = empty_frame()
    _check_schema(frame)
    assert len(frame) == 0


def test_loaded_frame_has_the_schema(tmp_path):
    write_md(tmp_path / "a.md", make_record(1))
    write_md(tmp_path / "b.md", make_record(2, quality=DROP, publishedDateTime=DROP))
    write(tmp_path / "c.jsonl", jsonl_text([to_api_object(make_record(3))]))
    result = load_records(str(tmp_path), expand_related=True)
    assert result.ok
    _check_schema(result.frame)
    published = result.frame["published_at"]
    assert isinstance(published.dtype, pd.DatetimeTZDtype)
    assert str(published.dt.tz) == "UTC"
    assert published.iloc[0] == pd.Timestamp("2021-05-10 07:01:00", tz="UTC")
    assert published.isna().sum() == 1


def test_all_missing_columns_keep_their_dtypes():
    frame = records_to_frame([{"title": "only"}])
    _check_schema(frame)
    assert frame["quality"].isna().all() and frame["published_at"].isna().all()


def test_related_entries_have_the_documented_keys(tmp_path):
    result = load_records(str(write_md(tmp_path / "a.md")))
    for entry in result.frame["related"].iloc[0]:
        assert tuple(entry) == RELATED_KEYS


# --- related rows -----------------------------------------------------------------------------


def test_expand_related_adds_only_scored_entries_flagged_with_the_parent(tmp_path):
    path = write_md(tmp_path / "site" / "a.md")
    plain = load_records(str(path))
    assert len(plain.frame) == 1 and not plain.frame["is_related"].any()
    result = load_records(str(path), expand_related=True)
    frame = result.frame
    _check_schema(frame)
    assert len(frame) == 2  # the second related entry has no quality: no row
    parent, child = frame.iloc[0], frame.iloc[1]
    assert not parent["is_related"] and pd.isna(parent["parent_id"])
    assert child["is_related"]
    assert child["parent_id"] == parent["id"]
    assert child["id"] != parent["id"]
    assert child["source"] == f"{path}#related[0]"
    assert child["site"] == "site"
    assert child["title"] == "Prospectors flock to the valley"
    assert child["quality"] == 59.0
    assert child["url"] == "https://other.example.org/valley-prospectors.html"
    assert child["url_key"] == "https://other.example.org/valley-prospectors.html"
    assert child["amp_url"].endswith(".amp")
    assert child["provider_domain"] == "other.example.org"
    assert child["published_at"] == pd.Timestamp("2021-05-06 14:37:00", tz="UTC")
    assert (child["image_count"], child["image_width"]) == (1, 1920)
    assert child["body"] == "" and child["topics"] == [] and child["related"] == []
    assert child["related_count"] == 0
    assert pd.isna(child["heat"]) and pd.isna(child["published"])


# --- duplicates -------------------------------------------------------------------------------


URL = "https://dup.example.com/story"


def _dup_records(tmp_path):
    """Rows a..f; a/b/c share a URL, d/e share another, f has no URL."""
    specs = [
        ("a", URL, "2021-01-01T00:00:00Z", 50),
        ("b", "https://www.DUP.example.com/story/", "2021-03-01T00:00:00Z", None),  # newest
        ("c", URL + "#comments", "2021-02-01T00:00:00Z", 60),
        ("d", "https://dup.example.com/other", "2021-01-01T00:00:00Z", None),
        ("e", "https://dup.example.com/other", "2021-01-01T00:00:00Z", 10),  # scored wins tie
        ("f", None, "2021-01-01T00:00:00Z", 1),
    ]
    for name, url, when, quality in specs:
        record = make_record(
            title=name,
            originalUrl=url if url else DROP,
            webUrl=DROP,
            publishedDateTime=when,
            quality=quality if quality is not None else DROP,
            related=DROP,
        )
        write_md(tmp_path / f"{name}.md", record)
    return str(tmp_path)


@pytest.mark.parametrize(
    ("rule", "titles", "flagged"),
    [
        ("mark", list("abcdef"), ["a", "c", "d"]),
        ("drop", ["b", "e", "f"], []),
        ("keep", list("abcdef"), []),
    ],
)
def test_duplicate_rules(tmp_path, rule, titles, flagged):
    result = load_records(_dup_records(tmp_path), duplicates=rule)
    frame = result.frame
    assert list(frame["title"]) == titles
    assert list(frame.loc[frame["is_duplicate"], "title"]) == flagged
    assert frame["is_duplicate"].dtype == "boolean"


def test_duplicate_tie_goes_to_the_first_in_input_order(tmp_path):
    for name in ["x1", "x2", "x3"]:
        write_md(tmp_path / f"{name}.md", make_record(title=name, related=DROP))
    frame = load_records(str(tmp_path)).frame
    assert list(frame["is_duplicate"]) == [False, True, True]


def test_mark_duplicates_judges_related_rows_apart():
    main = {"title": "main", "url_key": URL, "is_related": False, "quality": None}
    related = {"title": "rel", "url_key": URL, "is_related": True, "quality": 90.0}
    frame = mark_duplicates(records_to_frame([related, main]))
    assert list(frame["is_duplicate"]) == [False, False]
    frame = mark_duplicates(records_to_frame([main, related, main, related]))
    assert list(frame["is_duplicate"]) == [False, False, True, True]


def test_mark_duplicates_does_not_change_its_input():
    frame = records_to_frame([{"url_key": URL}, {"url_key": URL}])
    marked = mark_duplicates(frame)
    assert list(marked["is_duplicate"]) == [False, True]
    assert frame["is_duplicate"].isna().all()


# --- streaming --------------------------------------------------------------------------------


def _many(tmp_path, n=7):
    for i in range(n):
        write_md(tmp_path / "md" / f"{i:02d}.md", make_record(i + 1, related=DROP))
    objects = [to_api_object(make_record(100 + i, related=DROP)) for i in range(n)]
    write(tmp_path / "lines.jsonl", jsonl_text(objects))
    return tmp_path


def test_batch_sizes(tmp_path):
    root = _many(tmp_path)
    sizes = [len(b.frame) for b in iter_batches([str(root / "md")], batch_size=3, jobs=1)]
    assert sizes == [3, 3, 1]
    sizes = [len(b.frame) for b in iter_batches([str(root / "lines.jsonl")], batch_size=3)]
    assert sizes == [3, 3, 1]
    sizes = [len(b.frame) for b in iter_batches([str(root / "md")], batch_size=100, jobs=1)]
    assert sizes == [7]
    for batch in iter_batches([str(root)], batch_size=4, jobs=1):
        _check_schema(batch.frame)


def test_batches_keep_the_input_order(tmp_path):
    root = _many(tmp_path)
    frames = [
        b.frame
        for b in iter_batches([str(root / "md"), str(root / "lines.jsonl")], batch_size=3, jobs=1)
    ]
    titles = list(pd.concat(frames)["title"])
    assert titles == [make_record(i + 1)["title"] for i in range(7)] + [
        make_record(100 + i)["title"] for i in range(7)
    ]


def test_jobs_1_and_2_give_identical_frames(tmp_path):
    for i in range(24):
        write_md(tmp_path / "d" / f"{i:02d}.md", make_record(i + 1))
    write(tmp_path / "d" / "zz_bad.md", "---\ntitle: [\n---\n")
    one = load_records(str(tmp_path / "d"), jobs=1, expand_related=True)
    two = load_records(str(tmp_path / "d"), jobs=2, expand_related=True)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert one.errors == two.errors and len(one.errors) == 1
    assert len(one.frame) == 48


def test_on_error_is_called_for_each_error_in_order(tmp_path):
    write_md(tmp_path / "a.md", make_record(1))
    write(tmp_path / "b.md", "")
    write(tmp_path / "c.jsonl", jsonl_text([to_api_object(make_record(2))]) + "{oops\n")
    missing = str(tmp_path / "missing.md")
    seen: list[LoadError] = []
    batches = list(iter_batches([str(tmp_path), missing], on_error=seen.append, jobs=1))
    in_batches = [e for b in batches for e in b.errors]
    assert sorted(map(str, seen)) == sorted(map(str, in_batches))
    assert [e.source for e in seen] == [f"{tmp_path}/b.md", f"{tmp_path}/c.jsonl:2", missing]
    assert sum(len(b.frame) for b in batches) == 2


def test_strict_raises_at_the_first_bad_input(tmp_path):
    write_md(tmp_path / "a.md", make_record(1))
    write(tmp_path / "b.md", "---\nquality: high\n---\n")
    write(tmp_path / "c.md", "")
    for jobs in (1, 2):
        with pytest.raises(StrictModeError) as info:
            load_records(str(tmp_path), strict=True, jobs=jobs)
        assert info.value.error.source == f"{tmp_path}/b.md"
        assert "'quality'" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(StrictModeError, match="no such file"):
        load_records([str(tmp_path / "a.md"), str(tmp_path / "nope.md")], strict=True)
    ok = load_records(str(tmp_path / "a.md"), strict=True)
    assert ok.ok and len(ok.frame) == 1


def test_stdin_json_lines(monkeypatch):
    objects = [to_api_object(make_record(i)) for i in (1, 2)]
    data = (jsonl_text(objects[:1]) + "not json\n" + jsonl_text(objects[1:])).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    result = load_records("-")
    assert_one_error(result.errors, "<stdin>:2", "invalid json")
    assert list(result.frame["source"]) == ["<stdin>:1", "<stdin>:3"]
    assert list(result.frame["site"]) == ["stdin", "stdin"]


def test_load_result_ok_and_single_path_forms(tmp_path):
    path = write_md(tmp_path / "a.md")
    assert load_records(path).ok  # a Path
    assert load_records(str(path)).ok  # a str
    assert not load_records([str(path), str(tmp_path / "none.md")]).ok


def test_parallel_parsing_streams_in_order_with_back_pressure(tmp_path, monkeypatch):
    """Many small chunks in flight at once, a JSON Lines file and bad files among them: the
    forked workers give exactly what one process gives, in the input order."""
    import pipeline.load.frame as frame_module

    monkeypatch.setattr(frame_module, "CHUNK_SIZE", 2)  # ~20 chunks: in-flight cap is hit
    for i in range(30):
        write_md(tmp_path / "d" / f"{i:02d}.md", make_record(i + 1))
    write(tmp_path / "d" / "05_bad.md", "---\ntitle: [\n---\n")
    write(tmp_path / "d" / "17_lines.jsonl", jsonl_text([to_api_object(make_record(99))]))
    write(tmp_path / "d" / "25_empty.md", "")
    one = list(iter_batches(str(tmp_path / "d"), batch_size=7, jobs=1))
    two = list(iter_batches(str(tmp_path / "d"), batch_size=7, jobs=2))
    pd.testing.assert_frame_equal(
        pd.concat([b.frame for b in one], ignore_index=True),
        pd.concat([b.frame for b in two], ignore_index=True),
    )
    assert [e.source for b in one for e in b.errors] == [e.source for b in two for e in b.errors]
    assert [e.source for b in two for e in b.errors] == [
        f"{tmp_path}/d/05_bad.md",
        f"{tmp_path}/d/25_empty.md",
    ]


def test_stopping_early_leaves_no_worker_processes(tmp_path):
    import multiprocessing

    for i in range(12):
        write_md(tmp_path / f"{i:02d}.md", make_record(i + 1))
    batches = iter_batches(str(tmp_path), batch_size=2, jobs=2)
    assert len(next(batches).frame) == 2
    assert multiprocessing.active_children()  # the pool is running
    batches.close()  # the consumer stops: the pool must go with it
    assert multiprocessing.active_children() == []


def test_one_json_lines_file_is_parsed_in_parallel_in_line_order(tmp_path, monkeypatch):
    """A single dump is split into chunks of lines for the workers: same rows, same errors
    (with their line numbers), same order as parsing it in one process."""
    import pipeline.load.frame as frame_module

    monkeypatch.setattr(frame_module, "CHUNK_SIZE", 3)
    lines = [json.dumps(to_api_object(make_record(i + 1))) for i in range(20)]
    lines[4] = "{oops"
    lines[9] = ""
    lines[13] = '"just a string"'
    write(tmp_path / "dump.jsonl", "\n".join(lines) + "\n")
    one = load_records(str(tmp_path / "dump.jsonl"), jobs=1)
    two = load_records(str(tmp_path / "dump.jsonl"), jobs=2)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert one.errors == two.errors
    assert [e.source for e in two.errors] == [
        f"{tmp_path}/dump.jsonl:5",
        f"{tmp_path}/dump.jsonl:14",
    ]
    assert len(two.frame) == 17


def test_every_input_kind_gives_the_same_rows_and_errors_in_workers(tmp_path, monkeypatch):
    """Markdown, a feed page, gzip, JSON Lines (with a bad line), zip and tar archives (with a
    bad member) and a walk error, mixed: forked workers in tiny units give exactly what one
    process gives, in the same order."""
    import pipeline.load.frame as frame_module

    monkeypatch.setattr(frame_module, "CHUNK_SIZE", 2)
    objects = [to_api_object(make_record(i)) for i in range(40, 45)]
    write_md(tmp_path / "a" / "01.md", make_record(1))
    write_json(tmp_path / "a" / "02.json", feed_page(objects[:3]))
    write(tmp_path / "a" / "03.md.gz", gz(to_markdown(make_record(3))))
    write(tmp_path / "a" / "04.jsonl.gz", gz(jsonl_text(objects[3:]) + "{bad\n"))
    members = [(f"m{i}.md", to_markdown(make_record(10 + i))) for i in range(5)]
    write(tmp_path / "a" / "05.zip", zip_bytes([*members, ("bad.md", "no front matter")]))
    write(tmp_path / "a" / "06.tar", tar_bytes(members[:3]))
    write_md(tmp_path / "a" / "07.md", make_record(7))
    paths = [str(tmp_path / "a"), str(tmp_path / "missing.md"), str(tmp_path / "a" / "01.md")]
    one = load_records(paths, jobs=1, duplicates="keep")
    two = load_records(paths, jobs=2, duplicates="keep")
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert one.errors == two.errors
    assert len(two.frame) == 1 + 3 + 1 + 2 + 5 + 3 + 1 + 1
    assert [e.source for e in two.errors] == [
        f"{tmp_path}/a/04.jsonl.gz:3",
        f"{tmp_path}/a/05.zip::bad.md",
        str(tmp_path / "missing.md"),
    ]


def test_unit_slice_keeps_line_numbers_and_merge_parts_keeps_order(tmp_path):
    """A unit cut in two and parsed apart gives, merged, what the whole unit gives."""
    from pipeline.load.columns import columns_to_frame
    from pipeline.load.parse import LinesChunk
    from pipeline.load.units import merge_parts, parse_unit, unit_slice

    lines = [json.dumps(to_api_object(make_record(i + 1))).encode() for i in range(5)]
    lines[3] = b"{oops"
    chunk = LinesChunk("dump.jsonl", "dump", 11, lines)
    whole = parse_unit(chunk)
    halves = [parse_unit(unit_slice(chunk, 0, 2)), parse_unit(unit_slice(chunk, 2))]
    merged = merge_parts(halves)
    assert [e.source for e in merged[1]] == ["dump.jsonl:14"] == [e.source for e in whole[1]]
    pd.testing.assert_frame_equal(columns_to_frame(merged[0]), columns_to_frame(whole[0]))
    assert unit_slice(["a", "b", "c"], 1) == ["b", "c"]
