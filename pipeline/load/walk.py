"""Turn user paths (files, folders, globs, archives, gzip, stdin) into sources, in order.

Folders are walked recursively in sorted order without following symlinked folders (so a
symlink loop cannot trap the walk); a path that does not exist but holds glob characters is
expanded as a pattern; each bad path becomes an error in its place.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator

from pipeline.errors import LoadError
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.load.archives import archive_sources
from pipeline.load.globs import expand, has_magic, literal_root
from pipeline.load.sources import STDIN, Source, kind_of, os_reason


def _site_of(path: str) -> str:
    parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return parent or "."


def iter_sources(
    paths: Iterable[str],
    limits: Limits = DEFAULT_LIMITS,
    *,
    sites: Callable[[str], bool] | None = None,
) -> Iterator[Source | LoadError]:
    """Yield every source named by ``paths`` in a stable order, or an error for each bad one.

    Directories are walked recursively (sorted, symlinked directories not followed, so a
    symlink loop cannot trap the walk); files with unknown suffixes inside them are skipped.
    A path that does not exist but contains glob characters is expanded as a pattern, which
    never follows a symlinked folder either (:mod:`pipeline.load.globs`). With ``sites``,
    walked folders whose site (their name) it refuses yield only their archives (whose
    members have sites of their own): a pass that wants a few sites need not stat the rest.
    """
    for raw in paths:
        path = os.fspath(raw)
        if path == STDIN:
            yield Source(name="<stdin>", kind="jsonl", site="stdin", stdin=True)
        elif os.path.isdir(path):
            yield from _walk_directory(path, limits, sites)
        elif os.path.lexists(path):
            yield from _file_sources(path, limits, explicit=True)
        elif has_magic(path):
            matches = expand(path)
            if not matches:
                yield LoadError(path, "no files match this pattern")
            for match in matches:
                if os.path.isdir(match):
                    yield from _walk_directory(match, limits, sites)
                else:
                    yield from _file_sources(match, limits, explicit=True)
        else:
            yield LoadError(path, "no such file or directory")


def _walk_directory(
    root: str, limits: Limits, sites: Callable[[str], bool] | None = None
) -> Iterator[Source | LoadError]:
    """Depth-first, sorted: a folder's files, then each subfolder in turn (as os.walk does)."""
    pending = [root]
    while pending:
        folder = pending.pop()
        archives_only = sites is not None and not sites(_site_of(os.path.join(folder, "_")))
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            yield LoadError(exc.filename or folder, os_reason(exc))
            continue
        subfolders = []
        for entry in entries:
            if _is_real_dir(entry):
                subfolders.append(entry.path)
                continue
            if _is_linked_dir(entry):
                continue  # symlinked folders are not followed (os.walk's rule): no loops
            kind = kind_of(entry.name)[0]
            if kind in (None, "csv", "parquet"):  # tables: only when named
                continue
            if not archives_only or kind == "archive":
                yield from _file_sources(entry.path, limits, explicit=False)
        pending.extend(reversed(subfolders))


def _is_real_dir(entry: os.DirEntry) -> bool:
    """A directory that is not a symlink (symlinked folders are not followed: no loops)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_linked_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_symlink() and entry.is_dir()
    except OSError:  # a symlink loop: not a folder; reading it reports the loop
        return False


def _file_sources(path: str, limits: Limits, *, explicit: bool) -> Iterator[Source | LoadError]:
    kind, gzipped = kind_of(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        yield LoadError(path, os_reason(exc))
        return
    if not stat.S_ISREG(info.st_mode):
        yield LoadError(path, "not a regular file")
        return
    if kind is None:
        if explicit:
            yield LoadError(
                path,
                "unsupported file type (expected .md, .json, .jsonl, .csv, .parquet, archives)",
            )
        return
    if kind == "archive":
        yield from archive_sources(path, None, limits, depth=0)
        return
    if kind != "jsonl" and not gzipped and info.st_size > limits.max_file_bytes:
        yield LoadError(path, f"file too large ({info.st_size} bytes > {limits.max_file_bytes})")
        return
    yield Source(
        name=path, kind=kind, site=_site_of(path), path=path, gzipped=gzipped, size=info.st_size
    )


def named_folders(paths: Iterable[str]) -> list[str]:
    """The folders the user named in ``paths``: a folder itself, a file's folder, a glob's
    literal start. Writing back stays inside them (:mod:`pipeline.io.writeback`)."""
    folders = []
    for raw in paths:
        path = os.fspath(raw)
        if path == STDIN:
            continue
        if os.path.isdir(path):
            folders.append(path)
        elif os.path.lexists(path):
            folders.append(os.path.dirname(path) or os.curdir)
        elif has_magic(path):
            folders.append(literal_root(path))
    return folders
