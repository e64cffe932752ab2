"""PyYAML reading plain scalars the way yaml-rs does: the YAML 1.2 core schema, no dates.

Headers go to PyYAML when yaml-rs would read them wrongly (merge keys, tags) or rejects them,
and write-back checks its edits with PyYAML. PyYAML's own resolver is YAML 1.1: ``no`` is
False (a Norwegian ``locale: no`` was refused as "should be text, got bool"), ``017`` is 15,
``1:20`` is 80, ``1e3`` is text. So a header read one way or the other could change meaning.
:class:`CoreSchemaLoader` resolves plain scalars as yaml-rs does (measured on yaml-rs 0.1.6;
``tests/test_yaml_core.py`` compares the two on generated scalars):

* null: ``~``, ``null``, ``Null``, ``NULL`` and the empty scalar; booleans: ``true``,
  ``True``, ``TRUE`` and the same for false -- ``yes``/``no``/``on``/``off`` are text;
* integers: decimal (leading zeros too: ``017`` is 17) or ``0x``/``0o``/``0b`` with a sign
  allowed in front, underscores ignored (``1_000``); floats: ``1.5``, ``.5``, ``1.``,
  ``1e3``, ``.inf``, ``-.inf``, ``.nan``; no sexagesimal (``1:20`` is text);
* dates stay text (the schema reads times where a time is expected: ``normalize._timestamp``);
  an explicit ``!!timestamp`` tag still makes one.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"

_NULLS = frozenset({"~", "null", "Null", "NULL", ""})
_BOOLS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE"})
_SPECIAL_FLOATS = {
    **{
        f"{sign}.{inf}": float(f"{sign}inf")
        for sign in ("", "+", "-")
        for inf in ("inf", "Inf", "INF")
    },
    **{f".{nan}": float("nan") for nan in ("nan", "NaN", "NAN")},
}
# Signs (in front, and right after an exponent's "e") are where the text has them; underscores
# may stand anywhere else and are dropped before the digits are read ("_1" is 1, "_-1" text).
_PREFIXED = re.compile(r"[-+]?0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)")
_BASES = {"x": 16, "o": 8, "b": 2}
_DECIMAL = re.compile(r"[-+]?[0-9_]+")
_FLOAT_SHAPE = re.compile(r"[-+]?(?:\.[0-9_]+|[0-9_]+(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9_]+)?")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def core_number(text: str) -> int | float | None:
    """The number a plain scalar is under yaml-rs's reading, or None if it is not one."""
    special = _SPECIAL_FLOATS.get(text)
    if special is not None:
        return special
    if _PREFIXED.fullmatch(text):
        signed = text[0] in "+-"
        digits = text[signed + 2 :].replace("_", "")
        if not digits:
            return None
        value = int(digits, _BASES[text[signed + 1].lower()])
        return -value if text[0] == "-" else value
    plain = text.replace("_", "")
    if _DECIMAL.fullmatch(text):
        return int(plain) if plain.lstrip("+-") else None
    if _FLOAT_SHAPE.fullmatch(text) and _FLOAT.fullmatch(plain):
        return float(plain)
    return None


def plain_scalar_tag(text: str) -> str:
    """The tag yaml-rs gives a plain (unquoted, untagged) scalar; ``<<`` stays a merge key."""
    if text in _NULLS:
        return NULL_TAG
    if text in _BOOLS:
        return BOOL_TAG
    if text == "<<":
        return MERGE_TAG
    number = core_number(text)
    if number is None:
        return STR_TAG
    return INT_TAG if type(number) is int else FLOAT_TAG


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = core_number(loader.construct_scalar(node))
    if type(value) is not int:
        raise ValueError(f"not an integer: {node.value!r:.40}")
    return value


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    value = core_number(loader.construct_scalar(node))
    if value is None:
        raise ValueError(f"not a number: {node.value!r:.40}")
    return float(value)


class CoreSchemaLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (C parser when there is one) with yaml-rs's plain-scalar reading."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return plain_scalar_tag(value)
        return super().resolve(kind, value, implicit)


CoreSchemaLoader.add_constructor(INT_TAG, _construct_int)
CoreSchemaLoader.add_constructor(FLOAT_TAG, _construct_float)
