"""The front-matter YAML handler: splitting, yaml-rs vs the PyYAML fallback, bomb caps."""

from __future__ import annotations

import contextlib
import datetime as dt
import time

import pytest
from helpers import make_record, yaml_header

from pipeline.errors import RecordError
from pipeline.limits import Limits
from pipeline.load.yaml_backend import FastYAMLHandler

BACKENDS = ["yaml-rs", "pyyaml"]


@pytest.fixture(params=BACKENDS)
def handler(request) -> FastYAMLHandler:
    return FastYAMLHandler(backend="auto" if request.param == "yaml-rs" else "pyyaml")


def test_backends_are_what_they_say():
    assert FastYAMLHandler(backend="pyyaml").backend == "pyyaml"
    assert FastYAMLHandler().backend == "yaml-rs"  # yaml-rs is a project dependency


HEADERS = {
    "record": yaml_header(make_record()),
    "record_with_locale": yaml_header(make_record(3, locale="en-us", quality=71.5, heat=None)),
    "scalars": (
        "a: 1\nb: -2.5\nc: true\nd: false\ne: null\nf: ~\ng: 2021-05-10T07:01:00Z\n"
        "h: 2021-05-10\ni: '07'\nj: \"tab\\there\"\nk: 1.5e3\nl: 0x1F\nm: -0\n"
        'n: 2021-05-10T09:01:00+02:00\no: "2021-05-10T07:01:00Z"\n'
    ),
    "merge_keys": "base: &b {name: N}\nprovider:\n  <<: *b\n  domain: d.example\n",
    "binary_tag": "x: !!binary aGVsbG8=\ny: !!str 12\n",
    "quoted_dates": (
        'title: "2021-05-10"\nexcerpt: \'2021-05-10T07:01:00Z\'\ntopics: ["2021-1-2"]\n'
    ),
    "unicode": 'title: "Crème brûlée — ☕ über 日本"\nexcerpt: plain ünïcode text\n',
    "block_scalars": "folded: >\n  one\n  two\n\n  three\nliteral: |\n  line 1\n  line 2\n",
    "flow": "topics: [a, 'b c', \"d\"]\nprovider: {name: N, domain: n.example}\n",
    "aliases": (
        "base: &p {name: N, domain: d.example}\nprovider: *p\nlist: &l [1, 2]\nx: [*l, *l]\n"
    ),
    "empty_values": "title:\nexcerpt: ''\ntopics: []\nimages: {}\n",
    "comments": "# a comment\ntitle: x  # trailing\n",
    "duplicate_key": "title: first\ntitle: second\n",
    "long_string": "body: " + "word " * 5000 + "\n",
}


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_backends_give_identical_values(name):
    rs = FastYAMLHandler().load(HEADERS[name])
    py = FastYAMLHandler(backend="pyyaml").load(HEADERS[name])
    assert rs == py
    assert [type(v) for v in rs.values()] == [type(v) for v in py.values()]
    assert list(rs) == list(py)  # key order too


# Characters a decoder or a YAML reader might treat specially: NEL, line and paragraph
# separators, a BOM inside the text, a tab, astral and combining characters.
ODD_TEXT = {
    "nel": "title: a\u0085b\nx: 1\n",
    "separators": "title: a\u2028b\u2029c\n",
    "bom_inside": "title: x\ufeffy\nexcerpt: '\ufeff'\n",
    "tab_value": "title: a\tb\n",
    "astral": 'title: "\U0001f600 e\u0301"\n',
    "non_characters": "title: \ufffe\uffff\n",
}


def test_times_stay_text_on_both_backends():
    """No backend resolves dates: a time is text here, read by the schema where a time is
    expected (normalize._timestamp), so quoting cannot change what a field holds."""
    header = (
        't: 2021-05-10T07:01:00Z\nd: 2021-05-10\nq: "2021-05-10"\nl: [2001-12-14 21:59:43.10 -5]\n'
    )
    for backend in ("auto", "pyyaml"):
        assert FastYAMLHandler(backend=backend).load(header) == {
            "t": "2021-05-10T07:01:00Z",
            "d": "2021-05-10",
            "q": "2021-05-10",
            "l": ["2001-12-14 21:59:43.10 -5"],
        }


def test_an_explicit_timestamp_tag_still_makes_a_date():
    assert FastYAMLHandler().load("t: !!timestamp 2001-12-14\n") == {"t": dt.date(2001, 12, 14)}


def _goes_to_pyyaml(header: str, monkeypatch) -> bool:
    from pipeline.load import yaml_backend

    seen = []
    real = yaml_backend._pyyaml_load
    monkeypatch.setattr(yaml_backend, "_pyyaml_load", lambda *a: seen.append(a) or real(*a))
    with contextlib.suppress(RecordError):
        FastYAMLHandler().load(header)
    return bool(seen)


@pytest.mark.parametrize(
    "header",
    [
        "provider:\n  <<: {name: N}\n",
        "x: !!binary aGVsbG8=\n",
        "x: 'a < b' # <\ny: !!str 12\n",
        "x: wow!\nbase: &b {name: N}\np:\n  <<: *b\n",
        "base: &b {name: N}\np:\n  << : *b\n",
        "x: !local 3\n",
        "x: [1,!local 2]\n",
        "x: {a: !local 1}\n",
        "x: !<tag:example.com,2000:t> 3\n",
        "!!map\nx: 1\n",
        "x:\n\t!local 3\n",
        'x: {"a":!local 3}\n',
    ],
)
def test_merge_keys_and_tags_go_to_pyyaml(header, monkeypatch):
    """yaml-rs ignores tags and keeps "<<" as a key: such headers are PyYAML's to read, and
    the cheap one-character checks in front of the others miss none."""
    assert _goes_to_pyyaml(header, monkeypatch)


@pytest.mark.parametrize("header", ['title: "Wow!"\n', "title: Wow! Great!\nx: a!b\n", "x: 1\n"])
def test_exclamation_marks_in_text_stay_with_yaml_rs(header, monkeypatch):
    assert not _goes_to_pyyaml(header, monkeypatch)


def test_a_local_tag_is_refused_by_either_backend(handler):
    """PyYAML cannot build an unknown tag; yaml-rs used to drop it and load the value."""
    with pytest.raises(RecordError, match="does not parse"):
        handler.load("x: !custom 3\n")


# Plain scalars YAML 1.1 (PyYAML's own resolver) reads differently: both backends read them as
# yaml-rs does (pipeline/yaml_core.py; tests/test_yaml_core.py compares generated ones).
READ_ALIKE = {
    "017": 17,
    "0o17": 15,
    "1e3": 1000.0,
    "1.5e3": 1500.0,
    "1:20": "1:20",
    "no": "no",
    "on": "on",
    "=": "=",
    "1_000": 1000,
}


@pytest.mark.parametrize("scalar", sorted(READ_ALIKE))
def test_yaml_1_1_scalars_read_alike_on_both_backends(scalar):
    for backend in ("auto", "pyyaml"):
        value = FastYAMLHandler(backend=backend).load(f"x: {scalar}\n")["x"]
        assert (value, type(value)) == (READ_ALIKE[scalar], type(READ_ALIKE[scalar]))


def test_a_header_sent_to_pyyaml_reads_its_plain_values_as_yaml_rs_does():
    """A tag (or a ' !' in a title, which looks like one) sends the whole header to PyYAML:
    a Norwegian locale must stay "no" and the numbers must not change."""
    plain = 'title: "Hei"\nlocale: no\nquality: 017\ntopics: [on, off]\n'
    for header in (plain, plain.replace('"Hei"', '"Hei !"'), plain + "x: !!str 1\n"):
        loaded = FastYAMLHandler().load(header)
        assert (loaded["locale"], loaded["quality"], loaded["topics"]) == ("no", 17, ["on", "off"])


# --- splitting --------------------------------------------------------------------------------


def test_split(handler):
    header, body = handler.split("---\ntitle: x\n---\nbody line\n---\nnot a delimiter\n")
    assert header == "title: x\n"
    assert body == "body line\n---\nnot a delimiter\n"
    assert handler.split("---\n---\n") == ("", "")
    assert handler.split("---\ntitle: x\n---") == ("title: x\n", "")
    # a longer dash line closes too; a line starting with dashes but holding text does not
    assert handler.split("---\na: 1\n--- x\nb: 2\n-----\nbody") == ("a: 1\n--- x\nb: 2\n", "body")


@pytest.mark.parametrize("text", ["title: x\n---\n", "--- title\n---\n", "---"])
def test_split_refuses_a_missing_opening(handler, text):
    with pytest.raises(ValueError):
        handler.split(text)


def test_split_refuses_a_missing_closing(handler):
    with pytest.raises(ValueError):
        handler.split("---\ntitle: x\nbody\n")


# --- bad YAML ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "line"),
    [
        ("title: ok\ntopics: [a, b\nquality: 3\n", 4),
        ("a: 1\nb: 2\nc: 3\nd: 'open\n", 6),
        ("a: 1\n  b: 2\n", 3),
    ],
)
def test_parse_error_names_the_line_of_the_file(handler, header, line):
    # the line is counted in the file: the opening '---' is line 1
    with pytest.raises(RecordError, match=rf"YAML does not parse at line {line}\b"):
        handler.load(header)


def test_python_tags_are_never_constructed(handler):
    """Explicit tags go to PyYAML's safe loader under either backend: a python/* tag is
    refused (reported as a bad record), never constructed or run."""
    header = "x: !!python/object/apply:os.system ['true']\n"
    with pytest.raises(RecordError, match="does not parse"):
        handler.load(header)


def test_pyyaml_constructor_value_error_is_a_record_error():
    with pytest.raises(RecordError, match=r"month must be in 1\.\.12"):
        FastYAMLHandler(backend="pyyaml").load("t: !!timestamp 2021-13-45\n")


def _billion_laughs(levels: int = 9, width: int = 10) -> str:
    lines = ['lol: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\ntitle: x\n"


@pytest.mark.parametrize(("levels", "width"), [(9, 10), (20, 2), (4, 50)])
def test_alias_bomb_is_refused_quickly(handler, levels, width):
    started = time.perf_counter()
    with pytest.raises(RecordError, match="alias"):
        handler.load(_billion_laughs(levels, width))
    assert time.perf_counter() - started < 1.0


def test_many_uses_of_one_anchor_over_the_cap(handler):
    limits = Limits(max_yaml_alias_expansions=5)
    capped = FastYAMLHandler(limits, backend="auto" if handler.backend == "yaml-rs" else "pyyaml")
    header = "a: &x [1, 2]\n" + "".join(f"k{i}: *x\n" for i in range(10))
    with pytest.raises(RecordError, match="alias"):
        capped.load(header)
    assert capped.load("a: &x [1, 2]\nb: *x\nc: *x\n") == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}


def test_a_few_aliases_are_fine(handler):
    assert handler.load(HEADERS["aliases"])["x"] == [[1, 2], [1, 2]]
