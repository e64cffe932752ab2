"""Set one field in a Markdown record's YAML front matter, as bytes: exactly one line changes.

The edit is surgical: the file is handled as bytes and exactly one line changes (or one line is
added); every other byte - line endings (CRLF stays CRLF), a UTF-8 BOM, comments, quoting, key
order, blank lines, the body - stays as it was. A YAML parser is used only to *check* the edit,
never to re-serialise the front matter. Pure functions, no I/O: :mod:`pipeline.io.writeback`
puts the result in place.

Rules
-----
* **Replace**: if the front matter has a *top-level* key line ``field:`` (no indentation), that
  one line is replaced by ``field: value`` (keeping its line ending; a trailing comment on that
  line is dropped). Indented keys - e.g. ``quality:`` inside ``related:`` entries - are never
  touched.
* **Insert**: otherwise ``field: value`` is inserted as a new line right before the closing
  ``---`` line, with the line ending of the opening ``---`` line. This is always a top-level
  position, whatever nested block (``related:``, ``images:``) ends the front matter.
* **Check**: the old and new front matter are both parsed with PyYAML's safe loader, reading
  plain values as the loader does (:mod:`pipeline.load.yaml_core`); the edit is kept only if the
  new mapping equals the old one with ``field`` set to the new value. Anything else (``field``
  as a key twice, a block value under ``field:``, invalid YAML) is refused, not guessed at.
* Values: ``int`` as an int, ``float`` rounded to one decimal (``41.25`` -> ``41.2``), ``bool``
  as ``true``/``false``, ``None`` as ``null``, ``str`` double-quoted. NaN/inf are refused.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.load.yaml_core import CoreSchemaLoader

BOM = b"\xef\xbb\xbf"

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_Loader = CoreSchemaLoader  # safe, and it reads plain values as records are loaded


class WriteBackError(Exception):
    """A prediction cannot be written back into a file; the message is one line naming it."""


def format_value(value: Any) -> str:
    """YAML text for a value: ints as ints, floats to one decimal, strings double-quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    item = getattr(value, "item", None)  # numpy scalar -> Python scalar
    if callable(item) and type(value).__module__.startswith("numpy"):
        return format_value(item())
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"refusing to write a non-finite number ({value})")
        text = f"{value:.1f}"
        return "0.0" if text == "-0.0" else text
    if isinstance(value, str):
        # JSON string syntax is valid YAML double-quoted syntax; ensure_ascii keeps it one line.
        return json.dumps(value, ensure_ascii=True)
    raise TypeError(f"cannot write a {type(value).__name__} value into front matter")


def _is_delimiter(line: bytes) -> bool:
    """Three or more dashes (and trailing blanks): what the loader and python-frontmatter read."""
    text = line.rstrip()
    return len(text) >= 3 and not text.strip(b"-")


def _line_ending(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return b"\r\n"
    if line.endswith((b"\n", b"\r")):
        return line[-1:]
    return b""


def _parse(text: str, path: Path) -> dict[Any, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)  # safe: a SafeLoader / CSafeLoader
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())[:160]
        raise WriteBackError(f"{path}: front matter is not valid YAML ({reason})") from exc
    except (ValueError, OverflowError, AttributeError, KeyError, IndexError, TypeError) as exc:
        # A constructor refused a value, some by crashing ("!!bool x", "!!timestamp x").
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        raise WriteBackError(f"{path}: front matter holds an invalid value ({reason})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WriteBackError(f"{path}: front matter is not a YAML mapping")
    return data


def edit_front_matter(
    data: bytes, field: str, value: Any, *, only_if_missing: bool = False, path: Path | None = None
) -> bytes | None:
    """Return the file content with ``field: value`` set, or None when nothing should change.

    Pure function over bytes (no I/O), so the byte-level rules can be tested directly.
    """
    where = path if path is not None else Path("<bytes>")
    if not _FIELD_NAME.match(field):
        raise ValueError(f"invalid front matter field name {field!r}")
    new_text = format_value(value)

    bom = BOM if data.startswith(BOM) else b""
    content = data[len(bom) :]
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WriteBackError(f"{where}: not UTF-8 (byte {exc.start}); not written back") from exc

    lines = content.splitlines(keepends=True)
    if not lines or not _is_delimiter(lines[0]):
        raise WriteBackError(f"{where}: no front matter (first line is not ---)")
    close = next((i for i in range(1, len(lines)) if _is_delimiter(lines[i])), None)
    if close is None:
        raise WriteBackError(f"{where}: front matter has no closing --- line")

    front = lines[1:close]
    before = _parse(b"".join(front).decode("utf-8"), where)
    if only_if_missing and before.get(field) is not None:
        return None

    key = re.compile(rb"^" + re.escape(field.encode()) + rb"[ \t]*:(?:[ \t]|\r?\n|\r|$)")
    hits = [i for i, line in enumerate(front) if key.match(line)]
    if len(hits) > 1:
        raise WriteBackError(f"{where}: top-level key {field!r} appears {len(hits)} times")
    if hits:
        i = hits[0]
        new_line = f"{field}: {new_text}".encode() + _line_ending(front[i])
        if front[i] == new_line:
            return None
        new_front = [*front[:i], new_line, *front[i + 1 :]]
    else:
        if field in before:
            raise WriteBackError(f"{where}: cannot locate the line of key {field!r} (quoted key?)")
        eol = _line_ending(lines[0]) or b"\n"
        new_front = [*front, f"{field}: {new_text}".encode() + eol]

    after = _parse(b"".join(new_front).decode("utf-8"), where)
    expected = dict(before)
    expected[field] = yaml.load(new_text, Loader=_Loader)
    if after != expected:
        raise WriteBackError(f"{where}: editing {field!r} would change other front matter keys")
    if after == before and hits:
        return None  # same value, different spelling (e.g. "41" vs 41): leave the bytes alone
    return bom + b"".join([lines[0], *new_front, *lines[close:]])
