"""Write-back into front matter: one line changes, other bytes stay, failures leave no trace."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.io import writeback
from pipeline.io.frontmatter import WriteBackError, edit_front_matter, format_value
from pipeline.io.writeback import write_back

# Seed-like record: top-level scalars, nested provider/images, related entries carrying quality.
RECORD = """---
category: news
title: "Face recognition rollout questioned"
excerpt: "Critics say its use is likely to be expanded."
publishedDateTime: 2021-05-10T07:01:00Z
type: article
quality: 39
heat: -1
published: false

provider:
  name: The Connexion
  domain: connexionfrance.com

related:
  - title: "Blurred lines"
    type: article
    provider:
      name: techxplore.com
    quality: 59
  - title: "Another one"
    quality: 12

secured: 'abc=='
---

Body text with quality: 100 mentioned.
"""

NO_QUALITY = RECORD.replace("quality: 39\n", "")


def _write(
    tmp_path: Path, text: str, name: str = "rec.md", *, crlf: bool = False, bom: bool = False
) -> Path:
    data = text.replace("\n", "\r\n") if crlf else text
    raw = (b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8")
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def _diff_lines(old: bytes, new: bytes) -> tuple[list[bytes], list[bytes]]:
    """Lines only in old / only in new, in order (the files differ by one replaced/added line)."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    return a[i : len(a) - j], b[i : len(b) - j]


def _front(path: Path) -> dict[str, object]:
    text = path.read_bytes().decode("utf-8-sig")
    return yaml.safe_load(text.split("---", 2)[1])


# ----------------------------------------------------------------------------- byte preservation


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("bom", [False, True])
def test_replace_changes_only_the_top_level_line(tmp_path: Path, crlf: bool, bom: bool) -> None:
    path = _write(tmp_path, RECORD, crlf=crlf, bom=bom)
    old = path.read_bytes()
    assert write_back(path, "quality", 41.26) is True
    new = path.read_bytes()
    eol = b"\r\n" if crlf else b"\n"
    removed, added = _diff_lines(old, new)
    assert removed == [b"quality: 39" + eol]
    assert added == [b"quality: 41.3" + eol]
    assert len(new) == len(old) + 2
    assert new.startswith(b"\xef\xbb\xbf") == bom
    if not crlf:
        assert b"\r" not in new
    else:
        assert new.count(b"\r\n") == new.count(b"\n")
    # related entries' quality and the body are untouched
    assert b"    quality: 59" + eol in new and b"    quality: 12" + eol in new
    assert b"Body text with quality: 100 mentioned." in new
    front = _front(path)
    assert front["quality"] == 41.3
    assert [r["quality"] for r in front["related"]] == [59, 12]


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("bom", [False, True])
def test_insert_goes_right_before_closing_delimiter(tmp_path: Path, crlf: bool, bom: bool) -> None:
    path = _write(tmp_path, NO_QUALITY, crlf=crlf, bom=bom)
    old = path.read_bytes()
    assert write_back(path, "quality", 57) is True
    new = path.read_bytes()
    eol = b"\r\n" if crlf else b"\n"
    removed, added = _diff_lines(old, new)
    assert removed == []
    assert added == [b"quality: 57" + eol]
    assert b"secured: 'abc=='" + eol + b"quality: 57" + eol + b"---" + eol in new
    assert new.startswith(b"\xef\xbb\xbf") == bom
    front = _front(path)
    assert front["quality"] == 57
    assert [r["quality"] for r in front["related"]] == [59, 12]
    assert front["secured"] == "abc=="


def test_insert_after_nested_block_stays_top_level(tmp_path: Path) -> None:
    text = "---\ntitle: x\nrelated:\n  - title: y\n    quality: 3\n---\nbody\n"
    path = _write(tmp_path, text)
    assert write_back(path, "quality", 12.04)
    assert (
        path.read_text()
        == "---\ntitle: x\nrelated:\n  - title: y\n    quality: 3\nquality: 12.0\n---\nbody\n"
    )
    assert _front(path)["related"] == [{"title": "y", "quality": 3}]


def test_only_related_quality_present_inserts_top_level(tmp_path: Path) -> None:
    path = _write(tmp_path, NO_QUALITY)
    assert write_back(path, "quality", 1, only_if_missing=True)
    assert _front(path)["quality"] == 1


def test_empty_front_matter_and_no_body(tmp_path: Path) -> None:
    path = _write(tmp_path, "---\n---")
    assert write_back(path, "quality", 5)
    assert path.read_bytes() == b"---\nquality: 5\n---"


def test_other_fields_and_value_types(tmp_path: Path) -> None:
    path = _write(tmp_path, RECORD)
    assert write_back(path, "predicted_quality", np.float32(47.15))
    assert write_back(path, "model_ok", True)
    assert write_back(path, "model", 'ridge "v1"')
    front = _front(path)
    assert front["predicted_quality"] == 47.2  # float32 47.15 is 47.150001...
    assert front["model_ok"] is True and front["model"] == 'ridge "v1"'
    assert front["quality"] == 39


def test_format_value() -> None:
    assert format_value(41) == "41"
    assert format_value(np.int64(41)) == "41"
    assert format_value(41.0) == "41.0"
    assert format_value(41.26) == "41.3"
    assert format_value(-0.01) == "0.0"
    assert format_value(None) == "null"
    assert format_value(False) == "false"
    with pytest.raises(ValueError):
        format_value(float("nan"))
    with pytest.raises(TypeError):
        format_value([1])


# ----------------------------------------------------------------------------- only_if_missing


def test_only_if_missing_leaves_existing_value(tmp_path: Path) -> None:
    path = _write(tmp_path, RECORD)
    old = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    assert write_back(path, "quality", 80, only_if_missing=True) is False
    assert path.read_bytes() == old
    assert path.stat().st_mtime_ns == mtime


def test_only_if_missing_fills_null_value(tmp_path: Path) -> None:
    path = _write(tmp_path, RECORD.replace("quality: 39\n", "quality:\n"))
    assert write_back(path, "quality", 80, only_if_missing=True) is True
    assert b"\nquality: 80\n" in path.read_bytes()


def test_same_value_is_no_change(tmp_path: Path) -> None:
    path = _write(tmp_path, RECORD)
    old = path.read_bytes()
    assert write_back(path, "quality", 39) is False
    assert write_back(path, "quality", 39.0) is False  # same number, keep the original spelling
    assert path.read_bytes() == old


# ----------------------------------------------------------------------------- atomicity


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_no_temp_files_and_mode_preserved(tmp_path: Path) -> None:
    path = _write(tmp_path, RECORD)
    path.chmod(0o640)
    assert write_back(path, "quality", 50)
    assert _names(tmp_path) == ["rec.md"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize("target", ["replace", "fsync", "write"])
def test_failure_midway_leaves_original_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    path = _write(tmp_path, RECORD, crlf=True, bom=True)
    old = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if target == "write":
        real_fdopen = os.fdopen

        class Failing:
            def __init__(self, fh: object) -> None:
                self.fh = fh

            def __enter__(self) -> Failing:
                return self

            def __exit__(self, *exc: object) -> None:
                self.fh.close()  # type: ignore[attr-defined]

            def write(self, data: bytes) -> None:
                self.fh.write(data[: len(data) // 2])  # type: ignore[attr-defined]
                self.fh.flush()  # type: ignore[attr-defined]
                boom()

        monkeypatch.setattr(writeback.os, "fdopen", lambda *a, **k: Failing(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(writeback.os, target, boom)
    with pytest.raises(WriteBackError, match=r"rec\.md: write back failed"):
        write_back(path, "quality", 12)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert _names(tmp_path) == ["rec.md"]


def test_edit_front_matter_is_pure() -> None:
    data = RECORD.encode()
    new = edit_front_matter(data, "quality", 7)
    assert new is not None and new != data
    assert data == RECORD.encode()


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("name", ["rec.json", "rec.jsonl", "feed.zip", "rec.yaml"])
def test_non_markdown_refused(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, RECORD, name=name)
    old = path.read_bytes()
    with pytest.raises(WriteBackError, match="only plain Markdown"):
        write_back(path, "quality", 1)
    assert path.read_bytes() == old


def test_archive_member_refused(tmp_path: Path) -> None:
    with pytest.raises(WriteBackError, match="archive members"):
        write_back(f"{tmp_path}/dump.zip::a/rec.md", "quality", 1)


def test_markdown_suffixes_accepted(tmp_path: Path) -> None:
    for name in ("a.markdown", "b.txt", "c.MD"):
        assert write_back(_write(tmp_path, RECORD, name=name), "quality", 1)


def test_no_closing_front_matter_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "---\ntitle: x\nquality: 3\n\nbody\n")
    old = path.read_bytes()
    with pytest.raises(WriteBackError, match=r"rec\.md: front matter has no closing ---"):
        write_back(path, "quality", 1)
    assert path.read_bytes() == old


def test_no_front_matter_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "# Just a title\n\nquality: 3\n")
    with pytest.raises(WriteBackError, match="no front matter"):
        write_back(path, "quality", 1)


def test_non_utf8_refused(tmp_path: Path) -> None:
    path = tmp_path / "rec.md"
    path.write_bytes("---\ntitle: café\n---\n".encode("latin-1"))
    old = path.read_bytes()
    with pytest.raises(WriteBackError, match=r"rec\.md: not UTF-8"):
        write_back(path, "quality", 1)
    assert path.read_bytes() == old


def test_symlink_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    inside = tmp_path / "scored"
    outside.mkdir()
    inside.mkdir()
    target = _write(outside, RECORD)
    old = target.read_bytes()
    link = inside / "rec.md"
    link.symlink_to(target)
    with pytest.raises(WriteBackError, match="symlink"):
        write_back(link, "quality", 1)
    assert target.read_bytes() == old and link.is_symlink()


def test_directory_and_missing_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.md").mkdir()
    with pytest.raises(WriteBackError, match="not a regular file"):
        write_back(tmp_path / "dir.md", "quality", 1)
    with pytest.raises(WriteBackError, match="not found"):
        write_back(tmp_path / "missing.md", "quality", 1)


def test_duplicate_top_level_key_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "---\nquality: 1\nquality: 2\n---\n")
    with pytest.raises(WriteBackError, match="appears 2 times"):
        write_back(path, "quality", 3)


def test_block_value_under_field_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "---\nquality:\n  - 1\n  - 2\n---\n")
    old = path.read_bytes()
    with pytest.raises(WriteBackError, match="would change other front matter"):
        write_back(path, "quality", 3)
    assert path.read_bytes() == old


def test_invalid_yaml_and_bad_field_name_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "---\ntitle: [unclosed\n---\n")
    with pytest.raises(WriteBackError, match="not valid YAML"):
        write_back(path, "quality", 3)
    with pytest.raises(ValueError, match="field name"):
        write_back(_write(tmp_path, RECORD), "quality: 1\nx", 3)


def test_a_date_like_value_that_is_not_a_date_can_be_written_back(tmp_path: Path) -> None:
    """The loader reads ``title: 2021-02-30`` as text (no such day): write-back reads it the
    same way, so the record it scored can be written back."""
    path = _write(tmp_path, NO_QUALITY.replace("title:", "title: 2021-02-30\nheadline:", 1))
    old = path.read_bytes()
    assert write_back(path, "quality", 57) is True
    removed, added = _diff_lines(old, path.read_bytes())
    assert (removed, added) == ([], [b"quality: 57\n"])


# ----------------------------------------------------------------------------- concurrency


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    path = _write(tmp_path, RECORD)
    fields = [f"score_{i}" for i in range(8)]
    errors: list[BaseException] = []

    def run(field: str) -> None:
        try:
            for value in range(5):
                write_back(path, field, value)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in fields]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    front = _front(path)
    assert all(front[f] == 4 for f in fields)
    assert front["quality"] == 39
    assert _names(tmp_path) == ["rec.md"]


def _process_writer(path: str, field: str) -> None:
    for value in range(5):
        write_back(path, field, value)


def test_concurrent_processes_lose_no_update(tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    path = _write(tmp_path, RECORD, crlf=True)
    fields = ["a_score", "b_score", "c_score"]
    procs = [ctx.Process(target=_process_writer, args=(str(path), f)) for f in fields]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=20)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    front = _front(path)
    assert all(front[f] == 4 for f in fields) and front["quality"] == 39
    assert path.read_bytes().count(b"\r\n") == path.read_bytes().count(b"\n")
    assert _names(tmp_path) == ["rec.md"]


def test_longer_dash_delimiters_are_front_matter_too(tmp_path: Path) -> None:
    """The loader (like python-frontmatter) reads '----' lines as delimiters: so does write-back."""
    from pipeline.load import load_records

    path = _write(tmp_path, "----\ntitle: x\nquality: 3\n-----  \nbody\n")
    assert write_back(path, "quality_pred", 7.5)
    assert path.read_bytes() == b"----\ntitle: x\nquality: 3\nquality_pred: 7.5\n-----  \nbody\n"
    loaded = load_records(str(path)).frame
    assert loaded["quality"].tolist() == [3] and loaded["body"].tolist() == ["body"]
    with pytest.raises(WriteBackError, match="no front matter"):
        write_back(_write(tmp_path, "--\ntitle: x\n--\n", name="short.md"), "quality", 1)


# ---- never outside the folders the user named --------------------------------------------
FIELD = "quality_pred"


def _record(path: Path, header: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"---\n" + header + b"---\nBody.\n")
    return path


def _tree(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A named folder ``d`` with ``d/sub/a.md``, and a record outside it."""
    outside = tmp_path / "outside"
    victim = _record(outside / "victim.md", b"title: x\n")
    _record(tmp_path / "d" / "sub" / "a.md", b"title: a\n")
    return tmp_path / "d", victim, victim.read_bytes()


def test_a_symlinked_folder_below_the_named_one_is_not_followed(tmp_path: Path) -> None:
    root, victim, before = _tree(tmp_path)
    os.symlink(victim.parent, root / "link")
    with writeback.Trees([str(root)]) as trees:
        with pytest.raises(WriteBackError, match="symlink or not a folder"):
            write_back(root / "link" / "victim.md", FIELD, 1.0, trees=trees)
        assert write_back(root / "sub" / "a.md", FIELD, 1.0, trees=trees)
    assert victim.read_bytes() == before


def test_a_path_outside_the_named_folders_is_refused(tmp_path: Path) -> None:
    root, victim, before = _tree(tmp_path)
    with writeback.Trees([str(root)]) as trees:
        for path in (victim, root / ".." / "outside" / "victim.md"):
            with pytest.raises(WriteBackError, match="not inside the folders named"):
                write_back(path, FIELD, 1.0, trees=trees)
    assert victim.read_bytes() == before


def test_a_folder_swapped_for_a_link_during_the_write_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reading the file and replacing it, its folder is moved away and a link to
    another tree takes its place: the edit is refused, no file anywhere changes."""
    root, victim, before = _tree(tmp_path)
    original = (root / "sub" / "a.md").read_bytes()
    _record(victim.parent / "a.md", b"title: decoy\n")
    decoy = (victim.parent / "a.md").read_bytes()
    real_edit = writeback.edit_front_matter

    def swap_then_edit(*args, **kwargs):
        os.rename(root / "sub", tmp_path / "moved")
        os.symlink(victim.parent, root / "sub")
        return real_edit(*args, **kwargs)

    monkeypatch.setattr(writeback, "edit_front_matter", swap_then_edit)
    with writeback.Trees([str(root)]) as trees, pytest.raises(WriteBackError, match="moved"):
        write_back(root / "sub" / "a.md", FIELD, 1.0, trees=trees)
    assert (tmp_path / "moved" / "a.md").read_bytes() == original
    assert (victim.parent / "a.md").read_bytes() == decoy and victim.read_bytes() == before
    assert not [p for p in (tmp_path / "moved").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("length", [240, 250, 255])
def test_long_file_names_are_written_back(tmp_path: Path, length: int) -> None:
    name = "r" * (length - 3) + ".md"
    path = _record(tmp_path / name, b"title: long\n")
    assert write_back(path, FIELD, 3.5)
    assert _front(path)[FIELD] == 3.5
    assert [p.name for p in tmp_path.iterdir()] == [name]
