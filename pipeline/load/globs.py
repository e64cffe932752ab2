"""Glob patterns expanded without following symlinked folders, as folder walks do.

Why not :func:`glob.glob`: its ``**`` follows symlinks, so a pattern over a folder with a
link to itself runs for minutes and finds every file many times, and a match reached through
a link to another tree can be written back to. Here only the pattern's literal start (what
the user typed) may pass through links; below it, a symlinked folder is never entered nor
matched, so no loop is possible. Otherwise the rules are glob's: ``*``, ``?`` and ``[...]``
within one name (case-sensitive), ``**`` for any number of folders, names starting with a
dot only when the pattern's name does, results sorted.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator


def has_magic(pattern: str) -> bool:
    """Whether ``pattern`` holds glob characters (``*``, ``?``, ``[``)."""
    return glob.has_magic(pattern)


def literal_root(pattern: str) -> str:
    """The folder a pattern starts from: its components before the first glob character."""
    parts = pattern.split(os.sep)
    literal = []
    for part in parts[:-1]:
        if has_magic(part):
            break
        literal.append(part)
    if not literal:
        return "."
    return os.sep.join(literal) or os.sep


def expand(pattern: str) -> list[str]:
    """Every path ``pattern`` matches, sorted (glob's rules; no symlinked folder followed)."""
    parts = pattern.split(os.sep)
    start = 0
    while start < len(parts) and not has_magic(parts[start]):
        start += 1
    base = os.sep.join(parts[:start])
    if pattern.startswith(os.sep) and not base:
        base = os.sep
    if start == len(parts):
        return [pattern] if os.path.lexists(pattern) else []
    matches = set(_match(base, parts[start:]))
    return sorted(matches)


def _join(folder: str, name: str) -> str:
    return os.path.join(folder, name) if folder else name


def _listing(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder or os.curdir) as entries:
            return list(entries)
    except OSError:
        return []


def _real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _linked_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink() and entry.is_dir()
    except OSError:  # a symlink loop: not a folder
        return False


def _hidden(name: str, part: str) -> bool:
    return name.startswith(".") and not part.startswith(".")


def _match(folder: str, rest: list[str]) -> Iterator[str]:
    head, tail = rest[0], rest[1:]
    if head == "**":
        yield from _recursive(folder, tail)
        return
    if not has_magic(head):
        path = _join(folder, head)
        if not tail:
            if os.path.lexists(path) and not (os.path.islink(path) and os.path.isdir(path)):
                yield path
        elif os.path.isdir(path) and not os.path.islink(path):
            yield from _match(path, tail)
        return
    for entry in _listing(folder):
        if _hidden(entry.name, head) or not fnmatch.fnmatchcase(entry.name, head):
            continue
        path = _join(folder, entry.name)
        if tail:
            if _real_dir(entry):
                yield from _match(path, tail)
        elif not _linked_dir(entry):
            yield path


def _recursive(folder: str, tail: list[str]) -> Iterator[str]:
    """``**``: this folder and every real folder below it (hidden ones left out), then the
    rest of the pattern in each; a final ``**`` also matches every entry below it."""
    pending = [folder]
    while pending:
        current = pending.pop()
        if tail:
            yield from _match(current, tail)
        elif current != folder:
            yield current
        elif folder:
            yield _join(folder, "")  # glob's own spelling of the folder itself: "d/"
        for entry in _listing(current):
            if entry.name.startswith("."):
                continue
            if _real_dir(entry):
                pending.append(_join(current, entry.name))
            elif not tail and not _linked_dir(entry):
                yield _join(current, entry.name)
