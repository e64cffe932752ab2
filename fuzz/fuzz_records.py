"""Coverage-guided fuzzing (atheris / libFuzzer) of the record parser and its neighbours.

The first input byte picks a target, the rest is the payload:

* 0 - Markdown with YAML front matter (``parse_source`` on a ``.md`` source, yaml-rs backend)
* 1 - the same with the PyYAML backend (the fallback and the "second opinion")
* 2 - a JSON document (single record, array, feed page)
* 3 - JSON Lines
* 4 - an in-memory zip archive, 5 - an in-memory tar archive (``archives.archive_sources``)
* 6 - write-back's byte-level edit (``frontmatter.edit_front_matter``)

Invariants checked on every input (a violation is a crash, like an uncaught exception):

* the parser yields only record dicts with exactly the schema's keys, or ``LoadError`` entries
  whose reason is one non-empty line; records build a frame with the schema's dtypes;
* a Markdown source yields exactly one item (a record or an error);
* ``edit_front_matter`` returns bytes or None or raises ``WriteBackError``/``ValueError``
  (``TypeError`` never: the values are plain); an edited file still parses, holds the new
  value, and differs from the input only inside the front matter.

Run (see fuzz/README.md)::

    .venv/bin/python fuzz/fuzz_records.py fuzz/corpus -max_total_time=600 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix=fuzz/crashes/

With ``FUZZ_COLLECT=1`` the harness records each distinct crash in ``fuzz/crashes/`` and keeps
going instead of stopping at the first one.
"""

from __future__ import annotations

import hashlib
import os
import sys
import traceback
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["pipeline"]):
    from pipeline.errors import LoadError
    from pipeline.io import frontmatter as _frontmatter
    from pipeline.limits import Limits
    from pipeline.load import archives as _archives
    from pipeline.load import records_to_frame
    from pipeline.load.parse import parse_source
    from pipeline.load.sources import Source
    from pipeline.schema import COLUMNS

# Small caps so the fuzzer reaches every "over the cap" branch with short inputs.
LIMITS = Limits(
    max_file_bytes=4096,
    max_line_bytes=512,
    max_field_chars=256,
    max_archive_members=8,
    max_archive_bytes=8192,
    max_archive_depth=1,
    max_yaml_alias_expansions=5,
    max_yaml_replayed_events=50,
    max_records_per_file=16,
)
KINDS = ("markdown", "markdown", "json", "jsonl")
COLLECT = os.environ.get("FUZZ_COLLECT") == "1"
CRASH_DIR = Path(__file__).with_name("crashes")
EDIT_VALUES: tuple[object, ...] = (41.25, 7, None, True, "x\ny", -0.0)
_seen: set[str] = set()


class InvariantError(AssertionError):
    """An invariant of the parser does not hold for an input."""


def _check_items(items: list[object], source: Source) -> None:
    records = []
    for item in items:
        if isinstance(item, LoadError):
            if not item.reason or "\n" in item.reason or "\n" in item.source:
                raise InvariantError(f"error entry is not one line: {item!r}")
        elif isinstance(item, dict):
            if set(item) != set(COLUMNS):
                raise InvariantError(f"record keys differ from the schema: {sorted(item)}")
            records.append(item)
        else:
            raise InvariantError(f"parser yielded a {type(item).__name__}")
    if source.kind == "markdown" and len(items) != 1:
        raise InvariantError(f"a Markdown source gave {len(items)} items")
    frame = records_to_frame(records)
    if list(frame.columns) != list(COLUMNS) or len(frame) != len(records):
        raise InvariantError("frame does not match the schema")


def _parse(kind: str, payload: bytes, backend: str) -> None:
    source = Source(name=f"fuzz.{kind}", kind=kind, site="fuzz", data=payload)
    _check_items(list(parse_source(source, LIMITS, yaml_backend=backend)), source)


def _archive(payload: bytes, suffix: str) -> None:
    for item in _archives.archive_sources(
        f"fuzz{suffix}", payload, LIMITS, depth=0, name=f"fuzz{suffix}"
    ):
        if isinstance(item, Source):
            _check_items(list(parse_source(item, LIMITS)), item)
        elif not isinstance(item, LoadError):
            raise InvariantError(f"archive walk yielded a {type(item).__name__}")


def _edit(payload: bytes) -> None:
    if not payload:
        return
    value = EDIT_VALUES[payload[0] % len(EDIT_VALUES)]
    data = payload[1:]
    try:
        new = _frontmatter.edit_front_matter(data, "quality_pred", value)
    except (_frontmatter.WriteBackError, ValueError):
        return
    if new is None:
        return
    again = _frontmatter.edit_front_matter(new, "quality_pred", value)
    if again is not None:
        raise InvariantError("a second identical edit changed the file again")
    opening = data.removeprefix(_frontmatter.BOM).splitlines(keepends=True)[0]
    if not new.removeprefix(_frontmatter.BOM).startswith(opening):  # \r alone ends a line too
        raise InvariantError("the opening line changed")
    if new.startswith(_frontmatter.BOM) != data.startswith(_frontmatter.BOM):
        raise InvariantError("the BOM was added or dropped")
    lines = data.removeprefix(_frontmatter.BOM).splitlines(keepends=True)
    close = next(i for i in range(1, len(lines)) if lines[i].rstrip() == b"---")
    if not new.endswith(b"".join(lines[close:])):
        raise InvariantError("bytes after the front matter changed")
    if len(new.splitlines()) - len(data.splitlines()) not in (0, 1):
        raise InvariantError("more than one line was added")


def run_one(data: bytes) -> None:
    """Run one fuzz input (also used by the regression tests to replay crashes)."""
    if not data:
        return
    target, payload = data[0] % 7, data[1:]
    if target in (0, 1):
        _parse("markdown", payload, "pyyaml" if target == 1 else "auto")
    elif target in (2, 3):
        _parse(KINDS[target], payload, "auto")
    elif target == 4:
        _archive(payload, ".zip")
    elif target == 5:
        _archive(payload, ".tar")
    else:
        _edit(payload)


def test_one_input(data: bytes) -> None:
    """libFuzzer entry point; in collect mode, save each distinct crash and carry on."""
    if not COLLECT:
        run_one(data)
        return
    try:
        run_one(data)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        key = f"{type(exc).__name__}:{frame.filename}:{frame.lineno}"
        if key in _seen:
            return
        _seen.add(key)
        CRASH_DIR.mkdir(exist_ok=True)
        name = CRASH_DIR / f"crash-{hashlib.sha1(data).hexdigest()[:16]}"
        name.write_bytes(data)
        print(f"\n=== new crash {key} -> {name}\n{traceback.format_exc()}", file=sys.stderr)


def main() -> None:
    """Start libFuzzer with the command-line arguments."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
