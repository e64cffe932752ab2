"""Finding and reading inputs: files, folders, globs, gzip, tar/zip in memory, and their faults."""

from __future__ import annotations

import builtins
import errno
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import (
    BODY,
    assert_one_error,
    gz,
    jsonl_text,
    listing,
    make_record,
    tar_bytes,
    to_api_object,
    to_markdown,
    write,
    write_json,
    write_md,
    zip_bytes,
)

from pipeline.errors import LoadError
from pipeline.limits import Limits
from pipeline.load import load_records
from pipeline.load.parse import jsonl_chunks
from pipeline.load.sources import Source, SourceReadError, kind_of, read_bytes
from pipeline.load.units import iter_units
from pipeline.load.walk import iter_sources


def _load(paths, **kwargs):
    if isinstance(paths, str | Path):
        paths = [paths]
    return load_records([str(p) for p in paths], duplicates="keep", **kwargs)


def _titles(result) -> list[str]:
    return list(result.frame["title"])


# --- input kinds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "gzipped"),
    [
        ("a.md", "markdown", False),
        ("a.MARKDOWN", "markdown", False),
        ("a.txt", "markdown", False),
        ("a.json", "json", False),
        ("a.jsonl", "jsonl", False),
        ("a.ndjson", "jsonl", False),
        ("a.md.gz", "markdown", True),
        ("a.json.gz", "json", True),
        ("a.jsonl.gz", "jsonl", True),
        ("a.tar", "archive", False),
        ("a.tar.gz", "archive", False),
        ("a.tgz", "archive", False),
        ("a.zip", "archive", False),
        ("a.csv", "csv", False),
        ("a.csv.gz", "csv", True),
        ("a.parquet", "parquet", False),
        ("a.parquet.gz", None, True),
        ("a.xlsx", None, False),
        ("a.gz", None, True),
    ],
)
def test_kind_of(name, kind, gzipped):
    assert kind_of(name) == (kind, gzipped)


@pytest.mark.parametrize("suffix", [".md", ".markdown", ".txt"])
def test_markdown_suffixes_load(tmp_path, suffix):
    path = write_md(tmp_path / "site" / f"rec{suffix}")
    result = _load(path)
    assert result.ok
    assert _titles(result) == [make_record()["title"]]
    row = result.frame.iloc[0]
    assert row["source"] == str(path)
    assert row["site"] == "site"
    assert row["body"] == BODY


def test_directory_is_walked_recursively_in_sorted_order(tmp_path):
    root = tmp_path / "root"
    write_md(root / "b.md", make_record(2))
    write_md(root / "a.md", make_record(1))
    write_md(root / "sub" / "z" / "c.md", make_record(3))
    write_md(root / "sub" / "a.txt", make_record(4))
    write(root / "notes.csv", "not,a,record\n")  # unknown suffix inside a folder: skipped
    write(root / "README", "hello")
    result = _load(root)
    assert result.ok, result.errors
    names = [os.path.relpath(s, root) for s in result.frame["source"]]
    assert names == ["a.md", "b.md", os.path.join("sub", "a.txt"), os.path.join("sub", "z", "c.md")]
    assert list(result.frame["site"]) == ["root", "root", "sub", "z"]


def test_a_walk_for_some_sites_lists_only_their_folders_and_every_archive(tmp_path):
    root = tmp_path / "root"
    write_md(root / "big" / "a.md", make_record(1))
    write_md(
        root / "big" / "new" / "b.md", make_record(2)
    )  # a wanted folder inside one that is not
    write(root / "big" / "more.tar", tar_bytes([("other/c.md", to_markdown(make_record(3)))]))
    write_md(root / "small" / "d.md", make_record(4))
    everything = [s.name for s in iter_sources([str(root)]) if isinstance(s, Source)]
    wanted = [
        s.name
        for s in iter_sources([str(root)], sites=lambda site: site in {"new", "small"})
        if isinstance(s, Source)
    ]
    assert len(everything) == 4
    assert [os.path.basename(name) for name in wanted] == ["c.md", "b.md", "d.md"]


def test_explicit_file_with_unknown_suffix_is_an_error(tmp_path):
    good = write_md(tmp_path / "good.md")
    bad = write(tmp_path / "table.xlsx", "a,b\n")
    result = _load([good, bad])
    assert_one_error(result.errors, bad, "unsupported file type")
    assert len(result.frame) == 1


def test_glob_patterns(tmp_path):
    write_md(tmp_path / "x" / "one.md", make_record(1))
    write_md(tmp_path / "x" / "two.md", make_record(2))
    write_md(tmp_path / "y" / "deep" / "three.md", make_record(3))
    write(tmp_path / "x" / "skip.json", "[]")
    result = _load(str(tmp_path / "x" / "*.md"))
    assert result.ok
    assert _titles(result) == [make_record(1)["title"], make_record(2)["title"]]
    result = _load(str(tmp_path / "**" / "*.md"))
    assert len(result.frame) == 3
    # a pattern matching a folder walks it
    result = _load(str(tmp_path / "[y]"))
    assert _titles(result) == [make_record(3)["title"]]


def test_glob_with_no_match_is_one_error(tmp_path):
    good = write_md(tmp_path / "good.md")
    pattern = str(tmp_path / "nothing-*.md")
    result = _load([good, pattern])
    assert_one_error(result.errors, pattern, "no files match")
    assert len(result.frame) == 1


def test_nonexistent_path_is_one_error(tmp_path):
    good = write_md(tmp_path / "good.md")
    missing = tmp_path / "missing.md"
    result = _load([good, missing])
    assert_one_error(result.errors, missing, "no such file")
    assert len(result.frame) == 1


def test_json_feed_page_single_record_and_array(tmp_path):
    records = [make_record(i) for i in range(1, 4)]
    page = write_json(
        tmp_path / "feed" / "page-001.json",
        {"page": 1, "value": [to_api_object(r) for r in records]},
    )
    single = write_json(tmp_path / "one.json", to_api_object(make_record(7)))
    array = write_json(
        tmp_path / "many.json", [to_api_object(make_record(8)), to_api_object(make_record(9))]
    )
    result = _load([page, single, array])
    assert result.ok, result.errors
    assert list(result.frame["source"]) == [
        f"{page}[0]",
        f"{page}[1]",
        f"{page}[2]",
        str(single),
        f"{array}[0]",
        f"{array}[1]",
    ]
    assert list(result.frame["title"])[:3] == [r["title"] for r in records]
    assert result.frame["body"].iloc[0] == BODY  # `content` of the API object
    assert result.frame["category"].iloc[0] == "news"  # first of `categories`


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_json_lines(tmp_path, suffix):
    objects = [to_api_object(make_record(i)) for i in range(1, 4)]
    path = write(
        tmp_path / f"dump{suffix}", jsonl_text(objects[:2]) + "\n   \n" + jsonl_text(objects[2:])
    )
    result = _load(path)
    assert result.ok, result.errors
    # blank lines are skipped but still counted: sources name the real line numbers
    assert list(result.frame["source"]) == [f"{path}:1", f"{path}:2", f"{path}:5"]


def test_gzip_of_each_kind(tmp_path):
    record = make_record(1)
    md = write(tmp_path / "a.md.gz", gz(to_markdown(record)))
    js = write(tmp_path / "b.json.gz", gz(jsonl_text([to_api_object(make_record(2))]).strip()))
    jl = write(tmp_path / "c.jsonl.gz", gz(jsonl_text([to_api_object(make_record(3))] * 2)))
    result = _load([md, js, jl])
    assert result.ok, result.errors
    assert list(result.frame["source"]) == [str(md), str(js), f"{jl}:1", f"{jl}:2"]
    plain = _load(write_md(tmp_path / "plain" / "a.md", record))
    compared = ["title", "id", "quality", "body", "published_at"]
    assert result.frame[compared].iloc[[0]].equals(plain.frame[compared])


def _members() -> list[tuple[str, str | bytes]]:
    return [
        ("site/a.md", to_markdown(make_record(1))),
        ("site/b.md.gz", gz(to_markdown(make_record(2)))),
        ("site/c.json", jsonl_text([to_api_object(make_record(3))]).strip()),
        ("d.jsonl", jsonl_text([to_api_object(make_record(4)), to_api_object(make_record(5))])),
        ("README.txt.orig", "not a record"),  # unknown suffix inside an archive: skipped
    ]


@pytest.mark.parametrize("name", ["pack.tar", "pack.tar.gz", "pack.tgz", "pack.zip"])
def test_archives_are_read_in_memory(tmp_path, name):
    if name.endswith(".zip"):
        data = zip_bytes(_members())
    else:
        data = tar_bytes(_members(), mode="w" if name.endswith(".tar") else "w:gz")
    path = write(tmp_path / name, data)
    before = listing(tmp_path)
    result = _load(path)
    assert result.ok, result.errors
    assert list(result.frame["source"]) == [
        f"{path}::site/a.md",
        f"{path}::site/b.md.gz",
        f"{path}::site/c.json",
        f"{path}::d.jsonl:1",
        f"{path}::d.jsonl:2",
    ]
    assert _titles(result) == [make_record(i)["title"] for i in range(1, 6)]
    assert list(result.frame["site"])[:3] == ["site", "site", "site"]
    assert listing(tmp_path) == before  # nothing extracted to disk


def test_archive_inside_archive(tmp_path):
    inner = tar_bytes([("in/a.md", to_markdown(make_record(1)))])
    path = write(tmp_path / "outer.zip", zip_bytes([("inner.tar", inner)]))
    result = _load(path)
    assert result.ok
    assert list(result.frame["source"]) == [f"{path}::inner.tar::in/a.md"]


def test_archive_nested_too_deep(tmp_path):
    data = tar_bytes([("a.md", to_markdown(make_record(1)))])
    for level in range(3):
        data = zip_bytes([(f"l{level}.zip" if level else "l.tar", data)])
    path = write(tmp_path / "deep.zip", data)
    result = _load(path, limits=Limits(max_archive_depth=2))
    assert_one_error(result.errors, f"{path}::l2.zip::l1.zip::l.tar", "nested deeper")


# --- bad input at the source level ------------------------------------------------------------


@pytest.mark.parametrize("evil", ["../evil.md", "/abs.md", "a/../../evil.md", "C:/win.md"])
@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_archive_member_climbing_out_is_refused(tmp_path, evil, fmt):
    members = [("ok.md", to_markdown(make_record(1))), (evil, to_markdown(make_record(2)))]
    data = zip_bytes(members) if fmt == "zip" else tar_bytes(members)
    path = write(tmp_path / "in" / f"a.{fmt}", data)
    before = listing(tmp_path)
    result = _load(path)
    assert_one_error(result.errors, f"{path}::{evil}", "climbs out", "refused")
    assert list(result.frame["source"]) == [f"{path}::ok.md"]
    assert listing(tmp_path) == before


def test_tar_link_member_is_refused(tmp_path):
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        raw = to_markdown(make_record(1)).encode()
        info = tarfile.TarInfo("ok.md")
        info.size = len(raw)
        archive.addfile(info, io.BytesIO(raw))
        link = tarfile.TarInfo("link.md")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    path = write(tmp_path / "links.tar", buffer.getvalue())
    result = _load(path)
    assert_one_error(result.errors, f"{path}::link.md", "link member refused")
    assert len(result.frame) == 1


def _bomb_md() -> bytes:
    return to_markdown(make_record(9), body="x" * 2_000_000).encode()


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_archive_bomb_stops_at_the_cap(tmp_path, fmt):
    members = [("ok.md", to_markdown(make_record(1))), ("bomb.md", _bomb_md())]
    data = zip_bytes(members) if fmt == "zip" else tar_bytes(members, mode="w:gz")
    path = write(tmp_path / f"bomb.{fmt}", data)
    assert path.stat().st_size < 50_000  # it really is a bomb: 2 MB inflated
    result = _load(path, limits=Limits(max_file_bytes=100_000))
    assert_one_error(result.errors, f"{path}::bomb.md", "larger than the cap")
    assert list(result.frame["source"]) == [f"{path}::ok.md"]


def test_archive_total_inflated_cap(tmp_path):
    members = [(f"m{i}.md", to_markdown(make_record(i + 1), body="y" * 30_000)) for i in range(4)]
    path = write(tmp_path / "many.zip", zip_bytes(members))
    result = _load(path, limits=Limits(max_archive_bytes=70_000))
    # two members fit in the archive budget; the third is over what is left of it
    assert len(result.frame) == 2
    assert result.errors[0].source == f"{path}::m2.md"
    assert all("\n" not in e.reason for e in result.errors)


def test_gzip_bomb_stops_at_the_cap(tmp_path):
    good = write_md(tmp_path / "good.md")
    path = write(tmp_path / "bomb.md.gz", gz(_bomb_md()))
    result = _load([good, path], limits=Limits(max_file_bytes=100_000))
    assert_one_error(result.errors, path, "decompressed content larger than the cap")
    assert len(result.frame) == 1


def test_too_many_archive_members(tmp_path):
    members = [(f"m{i}.md", to_markdown(make_record(i + 1))) for i in range(5)]
    path = write(tmp_path / "many.tar", tar_bytes(members))
    result = _load(path, limits=Limits(max_archive_members=3))
    assert_one_error(result.errors, path, "more than 3 members")
    assert len(result.frame) == 3


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("trunc.md.gz", gz(to_markdown(make_record(2)))[:-12]),
        ("plain.md.gz", b"this is not gzip at all"),
        ("trunc.json.gz", gz(jsonl_text([to_api_object(make_record(2))]))[:-12]),
    ],
)
def test_corrupt_gzip(tmp_path, name, data):
    good = write_md(tmp_path / "good.md")
    path = write(tmp_path / name, data)
    result = _load([good, path])
    assert_one_error(result.errors, path, "corrupt gzip")
    assert len(result.frame) == 1


def test_corrupt_gzip_json_lines_keeps_the_lines_before(tmp_path):
    lines = jsonl_text([to_api_object(make_record(i)) for i in range(1, 40)])
    path = write(tmp_path / "dump.jsonl.gz", gz(lines)[:-40])
    result = _load(path)
    assert_one_error(result.errors, path, "read failed")
    assert len(result.frame) >= 1


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bad.zip", b"PK\x03\x04 garbage, not a zip"),
        ("bad.tar", b"garbage " * 200),
        ("bad.tgz", gz(b"garbage " * 200)),
        ("empty.zip", b""),
    ],
)
def test_corrupt_archive(tmp_path, name, data):
    good = write_md(tmp_path / "good.md")
    path = write(tmp_path / name, data)
    result = _load([good, path])
    assert_one_error(result.errors, path, "unreadable archive")
    assert len(result.frame) == 1


def test_truncated_tgz_gives_one_error(tmp_path):
    members = [
        (f"m{i}.md", to_markdown(make_record(i + 1), body=os.urandom(3000).hex())) for i in range(3)
    ]
    data = tar_bytes(members, mode="w:gz")
    path = write(tmp_path / "cut.tgz", data[: len(data) * 2 // 3])
    result = _load(path)
    assert len(result.errors) == 1, result.errors
    assert result.errors[0].source.startswith(str(path))
    assert len(result.frame) >= 1


def test_zip_member_with_bad_crc_is_one_error_and_the_rest_loads(tmp_path):
    members = [(f"m{i}.md", to_markdown(make_record(i + 1))) for i in range(3)]
    data = bytearray(zip_bytes(members))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("m1.md")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5] ^= 0xFF  # flip compressed bytes of m1.md
    path = write(tmp_path / "crc.zip", bytes(data))
    result = _load(path)
    assert_one_error(result.errors, f"{path}::m1.md", "unreadable member")
    assert list(result.frame["source"]) == [f"{path}::m0.md", f"{path}::m2.md"]


def test_symlink_loop_and_broken_symlink(tmp_path):
    good = write_md(tmp_path / "good.md")
    loop = tmp_path / "loop.md"
    os.symlink(tmp_path / "loop2.md", loop)
    os.symlink(loop, tmp_path / "loop2.md")
    broken = tmp_path / "broken.md"
    os.symlink(tmp_path / "nowhere.md", broken)
    result = _load([good, loop])
    assert_one_error(result.errors, loop, "symlink loop")
    assert len(result.frame) == 1
    result = _load([good, broken])
    assert_one_error(result.errors, broken, "no such file")
    assert len(result.frame) == 1


def test_symlinked_folder_loop_does_not_trap_the_walk(tmp_path):
    root = tmp_path / "root"
    write_md(root / "a.md")
    os.symlink(root, root / "again")  # a folder symlink to itself: not followed
    result = _load(root)
    assert result.ok
    assert len(result.frame) == 1


def test_fifo_is_not_a_regular_file(tmp_path):
    good = write_md(tmp_path / "good.md")
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    result = _load([good, fifo])
    assert_one_error(result.errors, fifo, "not a regular file")
    assert len(result.frame) == 1


def test_unreadable_file(tmp_path, monkeypatch):
    good = write_md(tmp_path / "good.md")
    locked = write_md(tmp_path / "locked.md", make_record(2))

    # Tests run as root here, where chmod 000 does not lock a file: refuse it at open instead
    # (both the built-in open and os.open, whichever the reader uses).
    def guarded(real):
        def guarded_open(file, *args, **kwargs):
            if os.fspath(file) == str(locked):
                raise PermissionError(errno.EACCES, "Permission denied", str(locked))
            return real(file, *args, **kwargs)

        return guarded_open

    monkeypatch.setattr(builtins, "open", guarded(builtins.open))
    monkeypatch.setattr(os, "open", guarded(os.open))
    result = _load([good, locked], jobs=1)
    assert_one_error(result.errors, locked, "permission denied")
    assert len(result.frame) == 1


def test_file_over_the_file_cap(tmp_path):
    good = write_md(tmp_path / "good.md", body="short")
    big = write_md(tmp_path / "big.md", make_record(2), body="z" * 5_000)
    result = _load([good, big], limits=Limits(max_file_bytes=3_000))
    assert_one_error(result.errors, big, "too large")
    assert len(result.frame) == 1
    # Found by walking the folder (no stat per file there), the cap still holds at read time.
    result = _load(tmp_path, limits=Limits(max_file_bytes=3_000))
    assert_one_error(result.errors, big, "too large")
    assert len(result.frame) == 1


def test_iter_sources_names_and_kinds(tmp_path):
    md = write_md(tmp_path / "s" / "a.md")
    jl = write(tmp_path / "s" / "b.jsonl.gz", gz("{}\n"))
    items = list(iter_sources([str(tmp_path / "s"), "-", str(tmp_path / "none.md")]))
    size = md.stat().st_size
    assert items[0] == Source(name=str(md), kind="markdown", site="s", path=str(md), size=size)
    assert items[1] == Source(
        name=str(jl), kind="jsonl", site="s", path=str(jl), gzipped=True, size=jl.stat().st_size
    )
    assert items[2].stdin and items[2].kind == "jsonl"
    assert isinstance(items[3], LoadError)
    assert read_bytes(items[0]) == md.read_bytes()


def test_skipped_tgz_members_count_against_the_archive_cap(tmp_path):
    junk = b"\0" * 3_000_000  # an unknown suffix: never read, but inflated to get past it
    data = tar_bytes(
        [
            ("a.md", to_markdown(make_record(1))),
            ("junk.bin", junk),
            ("b.md", to_markdown(make_record(2))),
        ],
        mode="w:gz",
    )
    path = write(tmp_path / "junk.tgz", data)
    assert path.stat().st_size < 50_000
    result = _load(path, limits=Limits(max_archive_bytes=1_000_000))
    assert_one_error(result.errors, path, "inflates past 1000000 bytes")
    assert list(result.frame["source"]) == [f"{path}::a.md"]
    assert _load(path).ok  # within the default caps all of it loads


def test_read_bytes_reads_up_to_the_cap_and_refuses_one_byte_more(tmp_path):
    at_cap = tmp_path / "at.md"
    at_cap.write_bytes(b"x" * 4096)
    over = tmp_path / "over.md"
    over.write_bytes(b"x" * 4097)
    limits = Limits(max_file_bytes=4096)
    assert read_bytes(Source(str(at_cap), "markdown", "s", path=str(at_cap)), limits) == b"x" * 4096
    with pytest.raises(SourceReadError, match=r"too large \(4097 bytes > 4096\)"):
        read_bytes(Source(str(over), "markdown", "s", path=str(over)), limits)


def test_read_bytes_refuses_a_fifo_without_hanging(tmp_path):
    # The walk refuses FIFOs by their stat, but a path can be swapped for one after the walk.
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(SourceReadError, match="not a regular file"):
        read_bytes(Source(str(fifo), "markdown", "s", path=str(fifo)))


def test_symlinked_folders_are_skipped_even_with_a_record_name(tmp_path):
    """A symlink to a folder is not followed (no loops), whatever its name: 'linked.md' that
    points at a folder is neither read nor reported, as with os.walk."""
    site = tmp_path / "site"
    write_md(site / "a.md")
    (tmp_path / "elsewhere").mkdir()
    write_md(tmp_path / "elsewhere" / "b.md", make_record(2))
    os.symlink(tmp_path / "elsewhere", site / "linked.md")
    os.symlink(site, site / "loop.md")
    result = _load(site)
    assert result.ok, result.errors
    assert len(result.frame) == 1


def test_an_unopenable_json_lines_file_is_one_error(tmp_path, monkeypatch):
    from pipeline.load import parse as records

    good = write(tmp_path / "good.jsonl", jsonl_text([to_api_object(make_record(1))]))
    bad = write(tmp_path / "bad.jsonl", jsonl_text([to_api_object(make_record(2))]))
    real = records.open_stream

    def refuse(source, limits):
        if source.path == str(bad):
            raise SourceReadError("permission denied")
        return real(source, limits)

    monkeypatch.setattr(records, "open_stream", refuse)
    result = _load([bad, good])
    assert_one_error(result.errors, bad, "permission denied")
    assert len(result.frame) == 1


def _tar_with(tmp_path: Path, special: list[tarfile.TarInfo], payload: bytes = b"") -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        raw = to_markdown(make_record(1)).encode()
        info = tarfile.TarInfo("ok.md")
        info.size = len(raw)
        archive.addfile(info, io.BytesIO(raw))
        for member in special:
            archive.addfile(member, io.BytesIO(payload) if member.size else None)
    return write(tmp_path / "special.tgz", buffer.getvalue())


def test_special_and_unknown_tar_members_are_reported_not_skipped_silently(tmp_path):
    fifo = tarfile.TarInfo("pipe.md")
    fifo.type = tarfile.FIFOTYPE
    device = tarfile.TarInfo("dev.md")
    device.type = tarfile.CHRTYPE
    odd = tarfile.TarInfo("odd.md")
    odd.type = b"Z"  # a type this reader does not know
    path = _tar_with(tmp_path, [fifo, device, odd])
    result = _load(path)
    reasons = {e.source: e.reason for e in result.errors}
    assert reasons == {
        f"{path}::pipe.md": "FIFO member refused",
        f"{path}::dev.md": "device member refused",
        f"{path}::odd.md": "member of unknown type b'Z' refused",
    }
    assert list(result.frame["source"]) == [f"{path}::ok.md"]


def test_unknown_tar_members_inflated_to_skip_them_count_against_the_cap(tmp_path):
    odd = tarfile.TarInfo("junk.md")
    odd.type = b"Z"
    odd.size = 3_000_000  # inflated (to reach the next member) though never read
    path = _tar_with(tmp_path, [odd], payload=b"\0" * odd.size)
    assert path.stat().st_size < 50_000
    result = _load(path, limits=Limits(max_archive_bytes=1_000_000))
    assert any("inflates past 1000000 bytes" in e.reason for e in result.errors)
    assert list(result.frame["source"]) == [f"{path}::ok.md"]


def test_a_gzip_json_lines_dump_inflates_only_up_to_the_archive_cap(tmp_path):
    lines = jsonl_text([to_api_object(make_record(i)) for i in (1, 2)]) + "0" * 300_000 + "\n"
    path = write(tmp_path / "zeros.jsonl.gz", gz(lines))
    result = _load(path, limits=Limits(max_archive_bytes=100_000, max_line_bytes=50_000))
    assert_one_error(result.errors, path, "decompressed content larger than the cap of 100000")
    assert len(result.frame) == 2  # the lines before the cap are kept


def test_json_lines_chunks_are_bounded_by_bytes_and_hold_no_blank_lines(tmp_path):
    record = jsonl_text([to_api_object(make_record(1, excerpt="e" * 5_000))])
    blank = " " * 200_000 + "\n"
    path = write(tmp_path / "dump.jsonl.gz", gz((record + blank) * 20))
    source = Source(str(path), "jsonl", "s", path=str(path), gzipped=True)
    limits = Limits(max_batch_bytes=20_000)
    chunks = list(jsonl_chunks(source, limits, size=1_000))
    held = [sum(len(i) for i in c.items if isinstance(i, bytes)) for c in chunks]
    assert len(chunks) > 1 and max(held) < 20_000 + len(record)
    assert all(i is None or not i.isspace() for c in chunks for i in c.items)
    result = _load(path, limits=limits)
    assert result.ok and len(result.frame) == 20
    assert [c.first_line for c in chunks][:2] == [1, chunks[0].first_line + len(chunks[0].items)]


def test_runs_of_files_are_cut_by_bytes_as_well_as_by_count(tmp_path):
    for i in range(6):
        write_md(tmp_path / "s" / f"{i}.md", make_record(i + 1), body="b" * 10_000)
    units = list(iter_units([str(tmp_path / "s")], Limits(max_batch_bytes=25_000), 100))
    assert [len(u) for u in units] == [3, 3]
    assert [len(u) for u in iter_units([str(tmp_path / "s")], Limits(), 100)] == [6]
