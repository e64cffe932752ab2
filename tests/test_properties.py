"""Property-based tests of the loader: hostile input never crashes a batch, and nothing is lost.

Each example writes a few files into a fresh folder - one known-good record, plus arbitrary
bytes, YAML-ish front matter, JSON values or JSON Lines - and loads the folder with
:func:`pipeline.load.load_records` (or streams it with :func:`pipeline.load.iter_batches`).
The properties:

* loading never raises;
* every input is accounted for: each Markdown file is exactly one record or one error, each
  non-blank JSON Lines line is exactly one record or one error, each JSON file is one record,
  one error, or one entry per array item;
* the good record beside the bad ones is always kept, with its values intact;
* the frame has exactly the schema's columns and dtypes; every error is one line.

The number of examples comes from the hypothesis profile: ``ci`` (default, this file < 60 s)
or ``long`` (``HYPOTHESIS_PROFILE=long``; ``bench/fuzz_properties.py`` runs it).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import string
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import helpers
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.errors import LoadError, StrictModeError
from pipeline.limits import Limits
from pipeline.load import LoadResult, iter_batches, load_records
from pipeline.schema import COLUMNS

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # CI runs are reproducible; the long profile explores
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "3000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

GOOD_TITLE = "A good record beside bad ones"
GOOD_MD = f"""---
title: "{GOOD_TITLE}"
publishedDateTime: 2022-02-02T02:02:02Z
webUrl: "https://example.org/good"
quality: 77
provider:
  name: Example
  domain: example.org
---

Body of the good record.
"""
GOOD_LINE = json.dumps(
    {"title": "good line", "webUrl": "https://example.org/line", "quality": 55}
).encode()

# The camelCase fields the loader reads, so generated values hit the type checks.
FIELDS = (
    "title",
    "excerpt",
    "content",
    "body",
    "category",
    "categories",
    "type",
    "locale",
    "topics",
    "publishedDateTime",
    "originalUrl",
    "webUrl",
    "ampWebUrl",
    "cdnAmpWebUrl",
    "provider",
    "images",
    "featuredContent",
    "related",
    "quality",
    "heat",
    "published",
    "value",
    "name",
    "domain",
    "width",
    "height",
)


# --- strategies ---------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["", "2021-05-10T07:01:00Z", "9999-12-31", "http://[::1", "41.5", "true", "nan", "1e999"]
    )
)
json_keys = st.sampled_from(FIELDS) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=6)
    ),
    max_leaves=25,
)
json_records = st.dictionaries(json_keys, json_values, max_size=10)

yaml_scalars = st.sampled_from(
    [
        "",
        "~",
        "null",
        "yes",
        "no",
        "true",
        "41",
        "-1",
        "1e400",
        ".nan",
        ".inf",
        "0x1F",
        "2021-05-10T07:01:00Z",
        "2021-13-45",
        "2021-02-30 25:61:61",
        "1678-01-01",
        "0001-01-01",
        '"quoted: text"',
        "'single'",
        "[a, b, {c: d}]",
        "{x: 1, y: [2]}",
        "&anchor value",
        "*anchor",
        "*undefined",
        "!!binary aGVsbG8=",
        "!!python/object:os.system",
        "!!set {a, b}",
        "!!timestamp 2001-12-14",
        "!!timestamp x",
        "!!bool maybe",
        '!!int ""',
        '!!float ""',
        '!!int "-"',
        "!!float 1",
        "!!str",
        "|\n  block\n  text",
        ">-\n  folded",
        '"\\ud800"',
        "@reserved",
        "`tick",
        "- item",
        "? complex",
        "%TAG",
        "\t tab",
        "---",
        "...",
        "\\x00",
    ]
) | st.text(alphabet=string.printable + "éß€\u2028\ufeff\x85", max_size=20)
yaml_lines = st.builds(
    lambda indent, key, colon, value: f"{' ' * indent}{key}{colon}{value}",
    st.sampled_from([0, 0, 0, 1, 2, 4]),
    st.sampled_from(FIELDS) | st.text(alphabet=string.ascii_letters + "-_ &*!:#", max_size=8),
    st.sampled_from([": ", ":", " ", ":\n  - ", ":\n  ", ": &a ", ": *a "]),
    yaml_scalars,
)
front_matter = st.lists(yaml_lines, max_size=12).map("\n".join)
bodies = st.text(max_size=60) | st.sampled_from(["", "---", "\n---\nmore", "quality: 1"])
line_endings = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def markdown_files(draw: st.DrawFn) -> bytes:
    """Markdown records with hostile front matter (and sometimes broken delimiters)."""
    header = draw(front_matter)
    opening = draw(st.sampled_from(["---"] * 6 + ["--- ", "----", "", "+++"]))
    closing = draw(st.sampled_from(["---"] * 6 + ["...", "", "--- x"]))
    eol = draw(line_endings)
    text = f"{opening}\n{header}\n{closing}\n{draw(bodies)}".replace("\n", eol)
    prefix = draw(st.sampled_from([b""] * 8 + [b"\xef\xbb\xbf", b"\xff", b"\x00"]))
    return prefix + text.encode("utf-8", "surrogatepass")


yaml_flow_values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=20),
    st.booleans(),
    st.none(),
).map(json.dumps)  # JSON scalars are valid YAML flow scalars
# Scalars that parse but stress the constructors (tags, YAML 1.1 oddities, bad dates).
tagged_values = st.sampled_from(
    [
        "!!timestamp x",
        "!!bool maybe",
        '!!int ""',
        '!!float ""',
        '!!int "-"',
        "!!binary aGVsbG8=",
        "!!binary x",
        "!!set {a, b}",
        "!!str 5",
        "!!float 1",
        "!!null ''",
        "2021-13-45",
        "2021-02-30",
        "2021-02-03 04:05:06 +25:00",
        "12:30:45",
        "190:20:30.15",
        "0o17",
        "0b101",
        "1_000",
        ".inf",
        "-.inf",
        ".NaN",
        "0x_1F",
        "1e400",
        "y",
        "No",
        "off",
        "[1, {a: b}]",
        "{x: [1, 2]}",
    ]
)
extra_blocks = st.sampled_from(
    [
        "# a comment",
        "",
        "provider:\n  name: Example\n  domain: example.org",
        "related:\n  - title: nested\n    quality: 12\n  - title: other",
        "images:\n  - width: 10\n    height: 20",
        "topics: [a, b]",
        "excerpt: |\n  block text\n  quality_pred: 3",
        "quality_pred: 5 # old",
        "quality_pred:",
        "score: 1",
        '"quoted key": 1',
    ]
)


@st.composite
def valid_markdown(draw: st.DrawFn) -> bytes:
    """Mostly well-formed records: scalar lines and nested blocks in any order, any line ends."""
    lines = [f'title: "{draw(st.text(alphabet=string.ascii_letters + " ", max_size=15))}"']
    parts = st.builds(
        lambda k, v: f"{k}: {v}", st.sampled_from(FIELDS), yaml_flow_values | tagged_values
    )
    lines += draw(st.lists(parts | extra_blocks, max_size=8))
    eol = draw(line_endings)
    text = "---\n" + "\n".join(lines) + "\n---\n" + draw(bodies)
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return bom + text.replace("\n", eol).encode("utf-8", "surrogatepass")


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    """JSON Lines: JSON values, raw garbage and blank lines, the good line at both ends."""
    line = st.builds(json.dumps, json_values).map(str.encode) | st.binary(max_size=40)
    body = draw(st.lists(line | st.sampled_from([b"", b"  ", b"\t\r"]), max_size=10))
    body = [part.replace(b"\n", b" ") for part in body]
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    return ending.join([GOOD_LINE, *body, GOOD_LINE]) + draw(st.sampled_from([b"", ending]))


# --- helpers ------------------------------------------------------------------------------


@contextmanager
def folder(files: dict[str, bytes]) -> Iterator[Path]:
    """A fresh folder holding ``files`` plus the good Markdown record ``good.md``."""
    with tempfile.TemporaryDirectory(prefix="props-") as tmp:
        root = Path(tmp) / "site"
        root.mkdir()
        (root / "good.md").write_text(GOOD_MD, encoding="utf-8")
        for name, data in files.items():
            (root / name).write_bytes(data)
        yield root


def load(root: Path, jobs: int = 1, **kwargs: Any) -> LoadResult:
    """Load a folder (in this process by default), keeping duplicates so every input is a row."""
    return load_records([str(root)], jobs=jobs, duplicates="keep", **kwargs)


def entries(result: LoadResult) -> Counter[str]:
    """How many rows or refusals name each source (a related entry's bad score is reported
    beside its record, which is kept: it must name a source that has a row)."""
    names = Counter(str(name) for name in result.frame["source"])
    kept = set(names)
    for error in result.errors:
        if "kept unscored" in error.reason:
            assert error.source in kept, str(error)
        else:
            names[error.source] += 1
    return names


def check_shape(result: LoadResult) -> None:
    """The frame has the schema's columns and dtypes; every error is one non-empty line."""
    frame = result.frame
    assert list(frame.columns) == list(COLUMNS)
    for column, dtype in COLUMNS.items():
        assert str(frame[column].dtype) == dtype, (column, frame[column].dtype)
    for error in result.errors:
        assert isinstance(error, LoadError)
        assert error.reason and "\n" not in error.reason and "Traceback" not in error.reason


def check_good_kept(result: LoadResult, root: Path) -> None:
    """The good Markdown record is loaded with its values intact."""
    rows = result.frame.loc[result.frame["source"] == str(root / "good.md")]
    assert len(rows) == 1, result.errors
    row = rows.iloc[0]
    assert row["title"] == GOOD_TITLE
    assert row["quality"] == 77
    assert row["provider_domain"] == "example.org"
    assert row["published_at"] == pd.Timestamp("2022-02-02T02:02:02Z")


def jsonl_expected(data: bytes) -> list[int]:
    """Line numbers the loader must account for: every non-blank line (readline semantics)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [number for number, raw in enumerate(lines, start=1) if raw.strip()]


def check_json_file(names: Counter[str], path: str, items: int | None) -> None:
    """A JSON file is one entry (record or error), or one per array item (``items`` of them)."""
    mine = {name: n for name, n in names.items() if name == path or name.startswith(path + "[")}
    assert all(n == 1 for n in mine.values()), mine
    if path in mine:
        assert len(mine) == 1, mine
        return
    if items is None:  # unknown structure (arbitrary bytes): entries must be 0..k-1
        items = len(mine)
    assert set(mine) == {f"{path}[{i}]" for i in range(items)}, (items, mine)


def json_items(document: Any) -> int | None:
    """Array items the loader should report one by one, or None for a single entry."""
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        return len(document["value"])
    if isinstance(document, list):
        return len(document)
    return None


# --- properties ---------------------------------------------------------------------------


@given(data=st.binary(max_size=300), suffix=st.sampled_from(["md", "json", "jsonl", "txt"]))
def test_arbitrary_bytes_never_crash_and_are_accounted(data: bytes, suffix: str) -> None:
    """Any bytes under any record suffix: a record or reported errors, the good file kept."""
    with folder({f"x.{suffix}": data}) as root:
        result = load(root)
        path = str(root / f"x.{suffix}")
        names = entries(result)
        check_shape(result)
        check_good_kept(result, root)
        if suffix in ("md", "txt"):
            assert names[path] == 1
        elif suffix == "jsonl":
            expected = {f"{path}:{n}" for n in jsonl_expected(data)}
            got = {name for name in names if name.startswith(path)}
            assert got == expected or (got == {path} and not expected)
            assert all(names[name] == 1 for name in got)
        else:
            check_json_file(names, path, None)
        refused = [e for e in result.errors if "kept unscored" not in e.reason]
        assert len(result.frame) + len(refused) == sum(names.values())
        try:  # strict mode stops exactly when there is something to report
            load(root, strict=True)
        except StrictModeError as exc:
            assert exc.error in result.errors
        else:
            assert not result.errors


@given(
    data=st.binary(max_size=200),
    suffix=st.sampled_from(["md.gz", "jsonl.gz", "json.gz", "zip", "tar", "tgz", "tar.gz"]),
    wrap=st.booleans(),
)
def test_arbitrary_compressed_and_archive_bytes(data: bytes, suffix: str, wrap: bool) -> None:
    """Garbage in .gz files and archives is a reported error, never a crash."""
    payload = gzip.compress(data) if wrap and suffix.endswith("gz") else data
    with folder({f"x.{suffix}": payload}) as root:
        result = load(root)
        check_shape(result)
        check_good_kept(result, root)
        path = str(root / f"x.{suffix}")
        assert any(name.startswith(path) for name in entries(result)) or suffix in (
            "jsonl.gz",  # a gzipped JSON Lines file may hold only blank lines
            "tar",
            "tgz",
            "tar.gz",
            "zip",  # an empty or member-less archive
        )


@given(
    files=st.lists(valid_markdown() | valid_markdown() | markdown_files(), min_size=1, max_size=4),
    backend=st.sampled_from(["auto", "pyyaml"]),
)
def test_hostile_front_matter(files: list[bytes], backend: str) -> None:
    """YAML-ish headers (anchors, tags, bad dates, broken delimiters): one entry per file."""
    named = {f"r{i}.md": data for i, data in enumerate(files)}
    with folder(named) as root:
        result = load(root, yaml_backend=backend)
        check_shape(result)
        check_good_kept(result, root)
        names = entries(result)
        for name in named:
            assert names[str(root / name)] == 1, (name, result.errors)
        assert sum(names.values()) == len(named) + 1
        for error in result.errors:
            event(error.reason.split(":")[0][:40])


related_entry = st.fixed_dictionaries(
    {},
    optional={
        "title": json_scalars,
        "quality": json_scalars | st.integers(0, 200),
        "webUrl": st.sampled_from(["https://a.example/x", "http://[::1", "", "b.example/y"]),
        "publishedDateTime": json_scalars,
        "provider": json_values,
        "images": json_values,
    },
)


@given(
    records=st.lists(json_records, min_size=1, max_size=4),
    related=st.lists(related_entry, max_size=3),
)
def test_json_values_as_front_matter(
    records: list[dict[str, Any]], related: list[dict[str, Any]]
) -> None:
    """Arbitrary JSON values in YAML front matter (JSON is YAML): a record or one error each."""
    named = {}
    if related:
        records[0] = {**records[0], "related": related}
    for i, record in enumerate(records):
        header = json.dumps(record, ensure_ascii=False)
        named[f"r{i}.md"] = f"---\n{header}\n---\nbody\n".encode("utf-8", "surrogatepass")
    with folder(named) as root:
        result = load(root)
        check_shape(result)
        check_good_kept(result, root)
        names = entries(result)
        assert all(names[str(root / name)] == 1 for name in named)
        # With related entries as rows of their own: same records, plus flagged child rows.
        expanded = load(root, expand_related=True)
        check_shape(expanded)
        main = expanded.frame.loc[~expanded.frame["is_related"].astype(bool)]
        assert main["source"].tolist() == result.frame["source"].tolist()
        children = expanded.frame.loc[expanded.frame["is_related"].astype(bool)]
        assert set(children["parent_id"]) <= set(main["id"])
        assert children["quality"].notna().all()
        assert expanded.errors == result.errors


@given(
    document=json_values
    | json_records
    | st.lists(json_records, max_size=5)
    | st.builds(lambda v: {"page": 1, "value": v}, st.lists(json_values, max_size=5))
)
def test_json_documents(document: Any) -> None:
    """Any JSON document: one entry, or one entry per array/feed item; good records kept."""
    data = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    items = [GOOD_LINE.decode()]
    bundle = json.dumps([json.loads(items[0]), document]).encode("utf-8", "surrogatepass")
    with folder({"x.json": data, "y.json": bundle}) as root:
        result = load(root)
        check_shape(result)
        check_good_kept(result, root)
        names = entries(result)
        check_json_file(names, str(root / "x.json"), json_items(document))
        # the good item of an array stays, whatever its neighbour is
        y = str(root / "y.json")
        if y not in names:
            assert (result.frame["source"] == f"{y}[0]").sum() == 1
        else:  # only a whole-file problem (e.g. lone surrogates) may take the array down
            assert names[y] == 1


@given(data=jsonl_files(), batch_size=st.integers(min_value=1, max_value=5))
def test_json_lines_every_line_accounted(data: bytes, batch_size: int) -> None:
    """Every non-blank line is one record or one error; good lines at both ends are kept.

    Streamed with small batches, so batch boundaries fall everywhere.
    """
    with folder({"x.jsonl": data}) as root:
        batches = list(iter_batches([str(root)], batch_size=batch_size, jobs=1))
        frame = pd.concat([b.frame for b in batches], ignore_index=True)
        errors = [e for b in batches for e in b.errors]
        result = LoadResult(frame, errors)
        check_shape(result)
        check_good_kept(result, root)
        path = str(root / "x.jsonl")
        names = entries(result)
        expected = {f"{path}:{n}" for n in jsonl_expected(data)}
        got = {name for name in names if name.startswith(path)}
        assert got == expected
        assert all(names[name] == 1 for name in got)
        last = max(jsonl_expected(data))
        kept = set(frame["source"])
        assert f"{path}:1" in kept and f"{path}:{last}" in kept


TINY = Limits(
    max_file_bytes=400,
    max_line_bytes=120,
    max_field_chars=20,
    max_archive_members=3,
    max_archive_bytes=1000,
    max_yaml_alias_expansions=3,
    max_yaml_replayed_events=20,
    max_records_per_file=3,
)
_CAP_WORDS = re.compile(r"cap|over|more than|larger|too large|deeper|past")


@given(
    md=st.lists(markdown_files(), max_size=3),
    lines=jsonl_files(),
    array=st.lists(json_records, max_size=6),
)
@settings(max_examples=max(10, settings.default.max_examples // 2))  # the slowest property
def test_tiny_limits_never_crash(md: list[bytes], lines: bytes, array: list[Any]) -> None:
    """With tiny caps most inputs hit one: still no crash, every file accounted for."""
    named: dict[str, bytes] = {f"r{i}.md": data for i, data in enumerate(md)}
    named["x.jsonl"] = lines
    named["y.json"] = json.dumps(array).encode("utf-8", "surrogatepass")
    with folder(named) as root:
        result = load(root, limits=TINY)
        check_shape(result)
        names = entries(result)
        for i in range(len(md)):
            assert names[str(root / f"r{i}.md")] == 1
        y = str(root / "y.json")
        if len(named["y.json"]) > TINY.max_file_bytes or len(array) > TINY.max_records_per_file:
            assert names[y] == 1 and any(
                e.source == y and _CAP_WORDS.search(e.reason) for e in result.errors
            )
        else:
            check_json_file(names, y, len(array))
        assert str(root / "good.md") in names  # good.md is over the 20-char field cap or kept


# --- caps: every limit is reported when hit, never silently truncated ------------------------


def cap_errors(result: LoadResult, source: str) -> list[LoadError]:
    """Errors naming ``source`` (or a part of it) whose reason speaks of a cap."""
    return [e for e in result.errors if e.source.startswith(source) and _CAP_WORDS.search(e.reason)]


def md_record(title: str = "t", body: str = "body", extra: str = "") -> bytes:
    """A minimal valid Markdown record."""
    return f'---\ntitle: "{title}"\nquality: 50\n{extra}---\n{body}\n'.encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """An in-memory zip (deflated, so a bomb is small)."""
    return helpers.zip_bytes(members.items())


@given(extra=st.integers(min_value=-3, max_value=3))
@settings(max_examples=14)
def test_file_size_cap_is_exact_and_reported(extra: int) -> None:
    """A file of cap+k bytes: kept when k <= 0, else one 'too large' error - plain and gzip."""
    limits = Limits(max_file_bytes=200)
    base = md_record()
    data = base.replace(b"body", b"b" * (200 + extra - len(base) + 4))
    assert len(data) == 200 + extra
    with folder({"x.md": data, "y.md.gz": gzip.compress(data)}) as root:
        result = load(root, limits=limits)
        for name in ("x.md", "y.md.gz"):
            path = str(root / name)
            if extra <= 0:
                assert path in set(result.frame["source"])
            else:
                assert len(cap_errors(result, path)) == 1, result.errors
        check_good_kept(load(root), root)


@given(
    length=st.integers(min_value=0, max_value=60),
    where=st.sampled_from(
        ["title", "excerpt", "body", "provider.name", "provider.domain", "related.title", "webUrl"]
    ),
)
@settings(max_examples=60)
def test_field_cap_is_exact_and_reported(length: int, where: str) -> None:
    """A field of n characters with a cap of 30: a record when n <= 30, else a cap error."""
    limits = Limits(max_field_chars=30)
    value = "é" * length  # characters, not bytes, are counted
    if where == "body":
        data = md_record(body=value)
    elif where == "provider.name":
        data = md_record(extra=f'provider:\n  name: "{value}"\n')
    elif where == "provider.domain":
        data = md_record(extra=f'provider:\n  domain: "{value}"\n')
    elif where == "related.title":
        data = md_record(extra=f'related:\n  - title: "{value}"\n    quality: 3\n')
    elif where == "webUrl":
        data = md_record(extra=f'webUrl: "{value}"\n')
    else:
        data = md_record().replace(b'title: "t"', f'{where}: "{value}"'.encode())
    line = json.dumps({"title": "x", where.split(".")[0]: value}).encode()
    with folder({"x.md": data, "y.jsonl": line}) as root:
        result = load(root, limits=limits)
        for path in (str(root / "x.md"), str(root / "y.jsonl")):
            kept = any(s.startswith(path) for s in result.frame["source"])
            if where in ("provider.name", "provider.domain", "related.title") and path.endswith(
                "jsonl"
            ):
                continue  # the JSON line holds a string where a mapping/list belongs
            if length <= 30:
                assert kept, result.errors
            else:
                assert not kept and len(cap_errors(result, path)) == 1, result.errors


@given(count=st.integers(min_value=0, max_value=8))
@settings(max_examples=9)
def test_records_per_file_cap(count: int) -> None:
    """JSON arrays, feed pages and JSON Lines with n records and a cap of 4."""
    limits = Limits(max_records_per_file=4)
    items = [{"title": f"t{i}", "webUrl": f"https://e.org/{i}"} for i in range(count)]
    lines = b"".join(json.dumps(item).encode() + b"\n" for item in items)
    files = {
        "a.json": json.dumps(items).encode(),
        "b.json": json.dumps({"page": 1, "value": items}).encode(),
        "c.jsonl": lines or b"\n",
    }
    with folder(files) as root:
        result = load(root, limits=limits)
        sources = list(result.frame["source"])
        for name in ("a.json", "b.json"):
            path = str(root / name)
            if count <= 4:
                assert sum(s.startswith(path) for s in sources) == count
            else:
                assert not any(s.startswith(path) for s in sources)
                assert len(cap_errors(result, path)) == 1
        path = str(root / "c.jsonl")
        assert sum(s.startswith(path) for s in sources) == min(count, 4)
        assert len(cap_errors(result, path)) == (1 if count > 4 else 0)


def test_jsonl_line_cap_reports_and_reads_on() -> None:
    """A line over the cap is one error; the lines around it are still read."""
    limits = Limits(max_line_bytes=64)
    short = json.dumps({"title": "short"}).encode()
    exact = json.dumps({"title": "x" * (64 - 13)}).encode()
    assert len(exact) == 64
    long = json.dumps({"title": "y" * 500}).encode()
    with folder({"x.jsonl": b"\n".join([short, long, exact, long + b"  ", short])}) as root:
        result = load(root, limits=limits)
        path = str(root / "x.jsonl")
        assert sorted(result.frame["source"])[1:] == [f"{path}:1", f"{path}:3", f"{path}:5"]
        assert [e.source for e in cap_errors(result, path)] == [f"{path}:2", f"{path}:4"]


def test_archive_member_count_cap() -> None:
    """More members than the cap: the first ones are read, then one error says the rest is not."""
    limits = Limits(max_archive_members=3)
    members = {f"m{i}.md": md_record(f"m{i}") for i in range(6)}
    with folder({"a.zip": zip_bytes(members)}) as root:
        result = load(root, limits=limits)
        path = str(root / "a.zip")
        assert sum(s.startswith(path) for s in result.frame["source"]) == 3
        errors = cap_errors(result, path)
        assert len(errors) == 1 and "more than 3 members" in errors[0].reason


def test_archive_inflated_size_cap_stops_a_zip_bomb() -> None:
    """A member inflating past the cap is an error, never read whole into memory."""
    limits = Limits(max_archive_bytes=10_000, max_file_bytes=50_000)
    bomb = md_record(body="0" * 5_000_000)  # ~5 MB of zeros deflate to a few KB
    members = {"a.md": md_record("a"), "bomb.md": bomb, "z.md": md_record("z")}
    data = zip_bytes(members)
    assert len(data) < 20_000
    with folder({"a.zip": data}) as root:
        result = load(root, limits=limits)
        path = str(root / "a.zip")
        assert f"{path}::a.md" in set(result.frame["source"])
        assert [e.source for e in cap_errors(result, path)][:1] == [f"{path}::bomb.md"]


def test_archive_total_inflated_cap_across_members() -> None:
    """Members each under the file cap but together over the archive cap: reported."""
    limits = Limits(max_archive_bytes=1_000, max_file_bytes=600)
    members = {f"m{i}.md": md_record(f"m{i}", body="x" * 300) for i in range(5)}
    with folder({"a.zip": zip_bytes(members)}) as root:
        result = load(root, limits=limits)
        path = str(root / "a.zip")
        kept = sum(s.startswith(path) for s in result.frame["source"])
        errors = cap_errors(result, path)
        assert kept >= 2 and errors and kept + len(errors) == 5, result.errors


def test_archive_depth_cap() -> None:
    """An archive inside an archive inside ... deeper than the cap: reported, not walked."""
    limits = Limits(max_archive_depth=1)
    inner = zip_bytes({"deep.md": md_record("deep")})
    middle = zip_bytes({"inner.zip": inner, "mid.md": md_record("mid")})
    outer = zip_bytes({"middle.zip": middle, "top.md": md_record("top")})
    with folder({"a.zip": outer}) as root:
        result = load(root, limits=limits)
        path = str(root / "a.zip")
        kept = {s.removeprefix(path) for s in result.frame["source"] if s.startswith(path)}
        assert kept == {"::top.md", "::middle.zip::mid.md"}
        errors = cap_errors(result, path)
        assert [e.source for e in errors] == [f"{path}::middle.zip::inner.zip"]


BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
        for i in range(8)
    ]
)


@given(backend=st.sampled_from(["auto", "pyyaml"]), uses=st.integers(min_value=1, max_value=8))
@settings(max_examples=16)
def test_yaml_alias_caps(backend: str, uses: int) -> None:
    """One anchor used n times with a cap of 4; and the billion laughs: both backends report."""
    limits = Limits(max_yaml_alias_expansions=4, max_yaml_replayed_events=10_000)
    aliases = "\n".join(f"k{i}: *base" for i in range(uses))
    data = f"---\ntitle: t\nbase: &base [1, 2]\n{aliases}\n---\nbody\n".encode()
    bomb = f"---\ntitle: t\n{BILLION_LAUGHS}\n---\nbody\n".encode()
    with folder({"x.md": data, "bomb.md": bomb}) as root:
        result = load(root, limits=limits, yaml_backend=backend)
        path = str(root / "x.md")
        if uses <= 4:
            assert path in set(result.frame["source"]), result.errors
        else:
            assert len(cap_errors(result, path)) == 1, result.errors
        assert len(cap_errors(result, str(root / "bomb.md"))) == 1, result.errors
    events = Limits(max_yaml_alias_expansions=1000, max_yaml_replayed_events=50)
    with folder({"bomb.md": bomb}) as root:
        result = load(root, limits=events, yaml_backend=backend)
        assert len(cap_errors(result, str(root / "bomb.md"))) == 1, result.errors


@given(entries=st.integers(min_value=0, max_value=12), kind=st.sampled_from(["dir", "symlink"]))
@settings(max_examples=20)
def test_archive_member_cap_counts_every_entry(entries: int, kind: str) -> None:
    """Directory and link entries count against the member cap (tar and zip), so an archive of
    millions of empty entries is stopped and reported instead of walked without bound."""
    limits = Limits(max_archive_members=5)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for i in range(entries):
            info = tarfile.TarInfo(f"e{i}" + ("/" if kind == "dir" else ".md"))
            info.type = tarfile.DIRTYPE if kind == "dir" else tarfile.SYMTYPE
            info.linkname = "" if kind == "dir" else "/etc/passwd"
            archive.addfile(info)
    dirs = zip_bytes({f"d{i}/": b"" for i in range(entries)})
    with folder({"a.tgz": buffer.getvalue(), "b.zip": dirs}) as root:
        result = load(root, limits=limits)
        for name in ("a.tgz", "b.zip"):
            stops = [e for e in result.errors if e.source == str(root / name)]
            assert len(stops) == (1 if entries > 5 else 0), result.errors
            assert all("more than 5 members" in e.reason for e in stops)


# --- write-back never changes what the loader reads ---------------------------------------


@given(
    data=valid_markdown() | valid_markdown() | markdown_files(),
    value=st.floats(min_value=-1e6, max_value=1e6) | st.integers(-1000, 1000),
    field=st.sampled_from(["quality_pred", "quality", "score"]),
)
def test_write_back_changes_only_its_field(data: bytes, value: float, field: str) -> None:
    """On any file: write-back refuses, or the loader reads the same record with only the field
    changed; the edit is idempotent and no temp file stays behind."""
    from pipeline.io.frontmatter import WriteBackError
    from pipeline.io.writeback import write_back

    with folder({"x.md": data}) as root:
        path = root / "x.md"
        before = load(root)
        try:
            changed = write_back(path, field, value)
        except (WriteBackError, ValueError):
            event("write-back refused")
            assert path.read_bytes() == data
            return
        after = load(root)
        assert sorted(p.name for p in root.iterdir()) == ["good.md", "x.md"]
        if not changed:
            event("unchanged")
            assert path.read_bytes() == data
            return
        event("written" + (" (loader reads it)" if str(path) in set(after.frame["source"]) else ""))
        assert write_back(path, field, value) is False  # idempotent
        old = before.frame.loc[before.frame["source"] == str(path)]
        new = after.frame.loc[after.frame["source"] == str(path)]
        # Setting `quality` may repair a record whose quality was invalid; otherwise a record
        # the loader refused stays refused, and a loaded one stays loaded.
        assert len(new) == len(old) or (field == "quality" and not len(old)), after.errors
        if len(old):
            columns = [c for c in COLUMNS if c not in ("quality", "id")]
            pd.testing.assert_frame_equal(
                old[columns].reset_index(drop=True), new[columns].reset_index(drop=True)
            )
            if field == "quality":
                assert new["quality"].iloc[0] == float(
                    f"{value:.1f}" if isinstance(value, float) else value
                )
            else:
                assert new["quality"].equals(old["quality"]) or (
                    old["quality"].isna().all() and new["quality"].isna().all()
                )


@given(
    md=st.lists(markdown_files() | valid_markdown(), min_size=1, max_size=6),
    lines=jsonl_files(),
    blobs=st.lists(st.binary(max_size=80), max_size=3),
)
@settings(max_examples=8)
def test_parallel_load_matches_serial(md: list[bytes], lines: bytes, blobs: list[bytes]) -> None:
    """Worker processes (jobs=2) give the same rows, in the same order, and the same errors."""
    named = {f"r{i}.md": data for i, data in enumerate(md)}
    named.update({f"b{i}.json": data for i, data in enumerate(blobs)})
    named["x.jsonl"] = lines
    with folder(named) as root:
        serial = load(root)
        parallel = load(root, jobs=2)
        pd.testing.assert_frame_equal(serial.frame, parallel.frame)
        assert serial.errors == parallel.errors


@given(size=st.integers(min_value=190, max_value=210), archive=st.sampled_from(["zip", "tar"]))
@settings(max_examples=12)
def test_file_size_cap_applies_to_archive_members(size: int, archive: str) -> None:
    """A member over max_file_bytes is an error naming it; its neighbours are still read."""
    limits = Limits(max_file_bytes=200, max_archive_bytes=10**6)
    base = md_record("big")
    big = base.replace(b"body", b"b" * (size - len(base) + 4))
    members = {"a.md": md_record("a"), "big.md": big, "z.md": md_record("z")}
    data = zip_bytes(members) if archive == "zip" else helpers.tar_bytes(members.items())
    with folder({f"x.{archive}": data}) as root:
        result = load(root, limits=limits)
        path = str(root / f"x.{archive}")
        kept = {s.removeprefix(path + "::") for s in result.frame["source"] if s.startswith(path)}
        errors = [e.source for e in cap_errors(result, path)]
        if size <= 200:
            assert kept == {"a.md", "big.md", "z.md"} and not errors
        else:
            assert kept == {"a.md", "z.md"} and errors == [f"{path}::big.md"], result.errors


@given(nested=st.integers(min_value=1, max_value=6), kind=st.sampled_from(["zip", "tar"]))
@settings(max_examples=12)
def test_nested_archives_share_the_inflated_budget(nested: int, kind: str) -> None:
    """Archives inside an archive spend the outer archive's max_archive_bytes: n small nested
    zips of 3,000 inflated bytes each stop at the 10,000-byte cap, and that is reported."""
    limits = Limits(max_archive_bytes=10_000, max_file_bytes=8_000)
    inner = zip_bytes({"m.md": md_record("m", body="0" * 3_000)})
    members = {f"n{i}.zip": inner for i in range(nested)}
    data = zip_bytes(members) if kind == "zip" else helpers.tar_bytes(members.items())
    with folder({f"x.{kind}": data}) as root:
        result = load(root, limits=limits)
        path = str(root / f"x.{kind}")
        kept = [s for s in result.frame["source"] if s.startswith(path)]
        held = sum(len(s) for s in result.frame.loc[result.frame["source"].isin(kept), "body"])
        assert held <= limits.max_archive_bytes
        errors = cap_errors(result, path)
        assert len(kept) + len(errors) == nested, result.errors
        assert (len(kept) < nested) == bool(errors)
        if nested * 3_000 > limits.max_archive_bytes:
            assert errors, result.errors  # "inflates past ..." or "larger than the cap of ..."


def test_many_archives_do_not_pile_up_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each archive is capped, and members of many archives are parsed before more than about
    one archive's worth (max_archive_bytes) of inflated data waits in memory."""
    from pipeline.parallel.stream import OrderedStream

    limits = Limits(max_archive_bytes=20_000, max_file_bytes=5_000)
    real = OrderedStream.add
    held: list[int] = []  # bytes waiting each time a unit is sent off for parsing
    parsed: list[int] = []  # bytes in each unit

    def spy(self: Any, unit: Any, *, records: int, nbytes: int) -> Any:
        held.append(self.held_bytes + nbytes)
        parsed.append(nbytes)
        return real(self, unit, records=records, nbytes=nbytes)

    monkeypatch.setattr(OrderedStream, "add", spy)
    member = md_record("m", body="0" * 4_000)
    archives = {f"a{i}.zip": zip_bytes({f"m{j}.md": member for j in range(4)}) for i in range(8)}
    with folder(archives) as root:
        result = load(root, limits=limits)
    assert len(result.frame) == 8 * 4 + 1 and not result.errors
    assert sum(parsed) >= 8 * 4 * 4_000
    assert max(held) <= limits.max_archive_bytes + limits.max_file_bytes, held
