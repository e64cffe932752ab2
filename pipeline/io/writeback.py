"""Write a prediction into a Markdown record's YAML front matter (``score predict --write-back``).

The edit is surgical: the file is handled as bytes and exactly one line changes (or one line is
added); every other byte - line endings (CRLF stays CRLF), a UTF-8 BOM, comments, quoting, key
order, blank lines, the body - stays as it was. A YAML parser is used only to *check* the edit,
never to re-serialise the front matter.

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

Safety
------
* **Atomic**: the new content goes to a temp file in the same folder, is fsynced, gets the
  original's permission bits, and replaces the original with ``os.replace``. Any failure leaves
  the original byte-identical and removes the temp file. The temp file has one fixed name per
  file, ``.<name>.wb.tmp``, written only under the lock: a writer killed outright (SIGKILL,
  power loss) may leave that one hidden copy beside the original (which is intact); the loader
  ignores it, and the next write-back of the file removes it - copies never pile up.
* **Concurrency**: an advisory ``fcntl.flock`` (exclusive) is taken on the file itself around
  read-modify-replace. Because ``os.replace`` swaps in a new inode, after taking the lock we check
  that the path still names the inode we locked; if another writer replaced it meanwhile we
  re-open and lock again. Two concurrent write-back runs therefore serialise per file and never
  lose each other's edits. (Advisory: only writers that also lock are kept out.) No lock file is
  created, so nothing is left behind in the scored folder.
* The replaced file keeps its permission bits but gets the writer's owner, and a hard link to the
  old file keeps the old content (``os.replace`` makes a new inode).
* **What is refused** (``WriteBackError``, one line naming the file): anything that is not a
  plain ``.md``/``.markdown``/``.txt`` file (JSON/JSONL sources, ``archive::member`` sources,
  ``file:line`` sources), symlinks (never followed - ``O_NOFOLLOW``; replacing would turn the
  link into a regular file, and the target may lie outside the scored folder: pass the target
  path itself), non-regular files, non-UTF-8 files, files without an opening and closing ``---``
  front matter, and front matter that is not a YAML mapping.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import LoadError, one_line
from pipeline.load.sources import MARKDOWN_SUFFIXES
from pipeline.load.yaml_core import CoreSchemaLoader

BOM = b"\xef\xbb\xbf"

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_Loader = CoreSchemaLoader  # safe, and it reads plain values as records are loaded
_MAX_LOCK_RETRIES = 50


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


def _check_source(path: Path) -> None:
    text = str(path)
    if "::" in text:
        raise WriteBackError(f"{text}: archive members cannot be written back")
    if path.suffix.lower() not in MARKDOWN_SUFFIXES:
        raise WriteBackError(
            f"{text}: only plain Markdown files (.md, .markdown, .txt) can be written back"
        )


@contextlib.contextmanager
def _locked(path: Path) -> Any:
    """Open ``path`` without following symlinks and hold an exclusive flock on its current inode."""
    for _ in range(_MAX_LOCK_RETRIES):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError as exc:
            raise WriteBackError(f"{path}: file not found") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP or path.is_symlink():
                raise WriteBackError(
                    f"{path}: is a symlink; not followed (write back to its target instead)"
                ) from exc
            raise WriteBackError(f"{path}: cannot open ({exc.strerror or exc})") from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise WriteBackError(f"{path}: not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                current = None
            if current is not None and (current.st_ino, current.st_dev) == (st.st_ino, st.st_dev):
                yield fd, st
                return
        finally:
            os.close(fd)  # also releases the flock
    raise WriteBackError(f"{path}: file keeps being replaced; gave up locking it")


def _read_all(fd: int) -> bytes:
    chunks = []
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _temp_path(path: Path) -> Path:
    """The one temp file of ``path``; only the holder of the file's lock writes it."""
    return path.with_name(f".{path.name}.wb.tmp")


def _remove_stale_temp(path: Path) -> None:
    """Best effort: remove a temp copy left by a killed writer.

    Called with the file's lock held and its inode checked, so no live writer owns that copy.
    """
    with contextlib.suppress(OSError):
        os.unlink(_temp_path(path))


def _replace_atomically(path: Path, data: bytes, mode: int) -> None:
    """Temp file in the same folder + fsync + original mode + os.replace; no temp file survives."""
    tmp = _temp_path(path)
    _remove_stale_temp(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o600)  # O_EXCL: a fresh file, never a planted symlink
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_back(
    path: str | os.PathLike[str], field: str, value: Any, *, only_if_missing: bool = False
) -> bool:
    """Set ``field: value`` in the front matter of the Markdown file at ``path``.

    Returns True if the file changed. See the module docstring for the exact byte rules, the
    lock and what is refused.
    """
    path = Path(path)
    _check_source(path)
    with _locked(path) as (fd, st):
        data = _read_all(fd)
        new = edit_front_matter(data, field, value, only_if_missing=only_if_missing, path=path)
        if new is None or new == data:
            _remove_stale_temp(path)  # a re-run after a kill leaves no debris behind
            return False
        try:
            _replace_atomically(path, new, stat.S_IMODE(st.st_mode))
        except OSError as exc:
            raise WriteBackError(f"{path}: write back failed ({exc.strerror or exc})") from exc
    return True


# ---- a batch of predictions into their files ----------------------------------------------


def writable_path(source: str) -> Path | None:
    """The Markdown file a record's ``source`` names, if it is a plain file on disk, else None.

    Archive members (``a.tar::x.md``), JSON items (``page.json[3]``), JSON Lines lines
    (``dump.jsonl:7``), gzip files and stdin are not writable.
    """
    if "::" in source or not source.lower().endswith(MARKDOWN_SUFFIXES):
        return None
    path = Path(source)
    return path if path.is_file() else None


@dataclass
class WriteBackPlan:
    """Which front matter field to set, and how (``only_if_missing`` keeps known values)."""

    field: str
    only_if_missing: bool


@dataclass
class WriteBackStats:
    written: int = 0
    unchanged: int = 0
    not_writable: int = 0
    example: str | None = None  # one not-writable source, to name in the summary


def _written_value(field: str, value: float) -> float | int:
    """`quality` is an integer scale in the aggregator's records: write it as one."""
    return round(float(value)) if field == "quality" else float(value)


def write_back_batch(
    sources: Iterable[object], values: Iterable[float], plan: WriteBackPlan, stats: WriteBackStats
) -> list[LoadError]:
    """Write each value into the Markdown file its source names; errors come back as report
    entries, and sources that are not plain files on disk are counted in ``stats``."""
    errors = []
    for source, value in zip(sources, values, strict=True):
        path = writable_path(str(source))
        if path is None:
            stats.not_writable += 1
            stats.example = stats.example or str(source)
            continue
        try:
            changed = write_back(
                path,
                plan.field,
                _written_value(plan.field, value),
                only_if_missing=plan.only_if_missing,
            )
        except (WriteBackError, ValueError) as exc:
            errors.append(LoadError(str(source), f"write-back refused: {one_line(exc, 200)}"))
            continue
        if changed:
            stats.written += 1
        else:
            stats.unchanged += 1
    return errors
