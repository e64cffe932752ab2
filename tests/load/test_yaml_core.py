"""PyYAML's CoreSchemaLoader reads plain scalars exactly as yaml-rs does."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import yaml
import yaml_rs
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.load.yaml_core import CoreSchemaLoader, core_number

# Spellings around every rule: signs, prefixes, underscores, exponents, specials, near misses.
EDGES = [
    *["~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "FALSE"],
    *["yes", "no", "on", "off", "y", "n", "Yes", "=", "<<x"],
    *["0", "-0", "+0", "00", "017", "-017", "+12", "0o17", "-0o17", "0O17", "0o", "0o8"],
    *["0x1F", "-0x1F", "+0x1f", "0X1F", "0x", "0xg", "0x_", "0x_1F", "0x1F_A", "_0x1F", "0_x1F"],
    *["0b101", "-0b101", "0B101", "0b", "0b2", "0b_1", "0o_7", "0o1_7"],
    *["1_000", "1__0", "_1", "1_", "-_1", "+_1", "_", "__", "+_", "-_", "+"],
    *["1.5", "1.", "-1.", "+1.", "-.5", ".5", "+.5", "0.", "007.5", "1_0.5", "._5", "_.5", "._"],
    *["1e3", "1E3", "1e+3", "1e-3", "1.5e3", "-1.5E-3", "1.5e", ".e3", "+.e3", "1e3.5", "e3"],
    *["1_e3", "1e_3", "1e3_", "_e3", "1e+_3", "1.0e3", "1.e3", "5.e", "1e400", "-1e400", "0e0"],
    *[".inf", "-.inf", "+.inf", ".Inf", ".INF", "inf", "-inf", ".inf_", ".nan", ".NaN", ".NAN"],
    *["nan", "NaN", "-.nan", "+.nan", "1:20", "1:20:30", "-1:20", "1,000", "1-", "1+1", "0.5.5"],
    *["9223372036854775808", "-9223372036854775809", "123456789012345678901234567890"],
    *["١٢٣", "１２", "2021-05-10", "2021-05-10T07:01:00Z", "12:30:00"],
]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _both(scalar: str) -> tuple[object, object]:
    text = f"x: {scalar}\n"
    rs = yaml_rs.loads(text, parse_datetime=False)["x"]
    py = yaml.load(text, Loader=CoreSchemaLoader)["x"]
    return rs, py


@pytest.mark.parametrize("scalar", EDGES)
def test_edge_spellings_read_as_yaml_rs_reads_them(scalar):
    rs, py = _both(scalar)
    assert _same(rs, py), (scalar, rs, py)


@given(st.text(alphabet="0123456789_.eE+-xXoObB", min_size=1, max_size=8))
@settings(max_examples=400, deadline=None)
def test_generated_number_like_scalars_read_as_yaml_rs_reads_them(scalar):
    try:
        rs, py = _both(scalar)
    except (yaml.YAMLError, yaml_rs.YAMLDecodeError):
        assume(False)  # not a plain scalar at all ("-", "- 1"): a syntax question, not ours
    assert _same(rs, py), (scalar, rs, py)


def test_keys_and_sequence_items_are_resolved_too():
    text = "017: [no, 0x1F, 1e3, ~]\ntrue: 1:20\n"
    assert yaml.load(text, Loader=CoreSchemaLoader) == yaml_rs.loads(text, parse_datetime=False)


def test_explicit_tags_and_quotes_keep_their_meaning():
    text = 'a: "017"\nb: !!int "017"\nc: !!float 1\nd: !!str 017\ne: !!timestamp 2021-05-10\n'
    assert yaml.load(text, Loader=CoreSchemaLoader) == {
        "a": "017",
        "b": 17,
        "c": 1.0,
        "d": "017",
        "e": dt.date(2021, 5, 10),
    }
    with pytest.raises(ValueError, match="not an integer"):
        yaml.load("a: !!int 1.5\n", Loader=CoreSchemaLoader)


def test_merge_keys_still_merge():
    text = "base: &b {name: N, q: 017}\np:\n  <<: *b\n  d: x\n"
    assert yaml.load(text, Loader=CoreSchemaLoader)["p"] == {"name": "N", "q": 17, "d": "x"}


def test_core_number():
    assert [core_number(s) for s in ("017", "-0x_1F", "1_0.5", ".5e1", "0x", "1:20")] == [
        17,
        -31,
        10.5,
        5.0,
        None,
        None,
    ]
