"""Put predictions into Markdown files in place (``score predict --write-back``): atomically, one
line each (:mod:`pipeline.io.frontmatter`), and never outside the folders the user named.

Safety
------
* **Nothing outside the tree**: every file is reached from a folder the user named (its
  *tree*: the folder given, a glob's literal start, a named file's folder), opened once. Each
  folder below it, then the file, is opened relative to the descriptor of the one above with
  ``O_NOFOLLOW``, so no symlink is ever followed below the tree's root -- not one planted
  before the run, not one swapped in for a folder during it -- and just before the file is
  replaced its folder is looked up again from the root and must still be the one opened.
* **Atomic**: the new content goes to a temp file in the same folder, is fsynced, gets the
  original's permission bits, and replaces the original with ``os.replace``. Any failure leaves
  the original byte-identical and removes the temp file. The temp file has one fixed name per
  file, ``.<name>.wb.tmp`` (``.wb-<hash>.tmp`` where that would pass the file system's name
  limit), written only under the lock: a writer killed outright may leave that one hidden copy
  beside the original (which is intact); the loader ignores it, and the next write-back of
  the file removes it - copies never pile up.
* **Concurrency**: an advisory ``fcntl.flock`` (exclusive) is taken on the file itself around
  read-modify-replace. Because ``os.replace`` swaps in a new inode, after taking the lock the
  name must still be the inode locked, else it is opened and locked again: two concurrent
  write-back runs serialise per file and never lose each other's edits. No lock file is made.
* The replaced file keeps its permission bits but gets the writer's owner, and a hard link to
  the old file keeps the old content (``os.replace`` makes a new inode).
* **What is refused** (``WriteBackError``, one line naming the file): anything that is not a
  plain ``.md``/``.markdown``/``.txt`` file (JSON/JSONL sources, ``archive::member`` sources,
  ``file:line`` sources), symlinks and paths through symlinked folders, files outside the
  trees named, non-regular files, and what :func:`~pipeline.io.frontmatter.edit_front_matter`
  refuses (non-UTF-8, no front matter, front matter that is not a mapping...).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import LoadError, one_line
from pipeline.io.atomic import temp_name as atomic_temp_name
from pipeline.io.frontmatter import WriteBackError, edit_front_matter
from pipeline.load.sources import MARKDOWN_SUFFIXES

_MAX_LOCK_RETRIES = 50
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC


class Tree:
    """A folder the user named, held open: the write-backs below it are resolved from it."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._normal = os.path.normpath(root)
        try:
            self.fd = os.open(root, _DIRECTORY)
        except OSError as exc:
            raise WriteBackError(f"{root}: cannot open the folder ({exc.strerror or exc})") from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def parts(self, path: str) -> list[str] | None:
        """The names from the root down to ``path``, or None when ``path`` is not below it."""
        normal = os.path.normpath(path)
        if self._normal == os.curdir:
            rest = normal
        elif normal.startswith(self._normal.rstrip(os.sep) + os.sep):
            rest = normal[len(self._normal.rstrip(os.sep)) + 1 :]
        else:
            return None
        names = rest.split(os.sep)
        if os.path.isabs(rest) or any(n in ("", os.curdir, os.pardir) for n in names):
            return None
        return names


class Trees:
    """The trees of one run: each path is written through the deepest tree it lies in."""

    def __init__(self, roots: Iterable[str]) -> None:
        self._roots = sorted(set(roots), key=lambda r: len(os.path.normpath(r)), reverse=True)
        self._open: dict[str, Tree] = {}

    def find(self, path: str) -> tuple[Tree, list[str]]:
        for root in self._roots:
            tree = self._open.get(root)
            if tree is None:
                tree = self._open[root] = Tree(root)
            names = tree.parts(path)
            if names is not None:
                return tree, names
        raise WriteBackError(f"{path}: not inside the folders named; not written back")

    def close(self) -> None:
        for tree in self._open.values():
            tree.close()
        self._open.clear()

    def __enter__(self) -> Trees:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_source(path: Path) -> None:
    text = str(path)
    if "::" in text:
        raise WriteBackError(f"{text}: archive members cannot be written back")
    if path.suffix.lower() not in MARKDOWN_SUFFIXES:
        raise WriteBackError(
            f"{text}: only plain Markdown files (.md, .markdown, .txt) can be written back"
        )


@contextlib.contextmanager
def _folder(tree: Tree, names: Sequence[str], path: Path) -> Iterator[int]:
    """A descriptor of the folder ``names`` below the tree's root, no symlink followed."""
    fd = os.dup(tree.fd)
    try:
        for name in names:
            try:
                below = os.open(name, _DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise WriteBackError(
                        f"{path}: the folder {name!r} on its path is a symlink or not a folder; "
                        "not followed"
                    ) from exc
                raise WriteBackError(f"{path}: cannot open its folder ({exc.strerror})") from exc
            os.close(fd)
            fd = below
        yield fd
    finally:
        os.close(fd)


def _still_in_tree(tree: Tree, names: Sequence[str], folder: int, path: Path) -> None:
    """Refuse when the folder opened is no longer the one the path names from the root (it was
    moved, or a folder on the way was swapped for a link) since it was opened."""
    try:
        with _folder(tree, names, path) as again:
            same = os.path.sameopenfile(again, folder)
    except WriteBackError:
        same = False
    if not same:
        raise WriteBackError(f"{path}: its folder moved during the run; not written back")


@contextlib.contextmanager
def _locked(folder: int, name: str, path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """Open ``name`` in ``folder`` without following a symlink and hold an exclusive flock on
    its current inode."""
    for _ in range(_MAX_LOCK_RETRIES):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC, dir_fd=folder)
        except FileNotFoundError as exc:
            raise WriteBackError(f"{path}: file not found") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
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
                current = os.stat(name, dir_fd=folder, follow_symlinks=False)
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


def temp_name(name: str, folder: int | None = None) -> str:
    """The one temp file of ``name`` (``.<name>.wb.tmp``, or a digest where that is too long
    for the folder); only the holder of the file's lock writes it."""
    return atomic_temp_name(name, ".wb.tmp", folder)


def _remove_stale_temp(folder: int, name: str) -> None:
    """Best effort: remove a temp copy left by a killed writer.

    Called with the file's lock held and its inode checked, so no live writer owns that copy.
    """
    with contextlib.suppress(OSError):
        os.unlink(temp_name(name, folder), dir_fd=folder)


def _replace_atomically(folder: int, name: str, data: bytes, mode: int) -> None:
    """Temp file in the same folder + fsync + original mode + os.replace; no temp file survives."""
    tmp = temp_name(name, folder)
    _remove_stale_temp(folder, name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
    fd = os.open(tmp, flags, 0o600, dir_fd=folder)  # O_EXCL: a fresh file, never a planted link
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=folder)
        raise
    with contextlib.suppress(OSError):
        os.fsync(folder)


def write_back(
    path: str | os.PathLike[str],
    field: str,
    value: Any,
    *,
    only_if_missing: bool = False,
    trees: Trees | None = None,
) -> bool:
    """Set ``field: value`` in the front matter of the Markdown file at ``path``.

    Returns True if the file changed. ``trees``: the folders the user named (the file must lie
    in one; none of the folders between is followed if it is a link); without them, the
    file's own folder. See the module docstring for the lock and what is refused.
    """
    path = Path(path)
    _check_source(path)
    own = trees is None
    if trees is None:
        trees = Trees([os.path.dirname(path) or os.curdir])
    try:
        tree, names = trees.find(str(path))
        with (
            _folder(tree, names[:-1], path) as folder,
            _locked(folder, names[-1], path) as (
                fd,
                st,
            ),
        ):
            data = _read_all(fd)
            new = edit_front_matter(data, field, value, only_if_missing=only_if_missing, path=path)
            if new is None or new == data:
                _remove_stale_temp(folder, names[-1])  # a re-run after a kill leaves no debris
                return False
            _still_in_tree(tree, names[:-1], folder, path)
            try:
                _replace_atomically(folder, names[-1], new, stat.S_IMODE(st.st_mode))
            except OSError as exc:
                raise WriteBackError(f"{path}: write back failed ({exc.strerror or exc})") from exc
    finally:
        if own:
            trees.close()
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
    """Which front matter field to set, and how (``only_if_missing`` keeps known values);
    ``roots``: the folders the user named, the only ones written in."""

    field: str
    only_if_missing: bool
    roots: tuple[str, ...] = ()


@dataclass
class WriteBackStats:
    written: int = 0
    unchanged: int = 0
    not_writable: int = 0
    example: str | None = None  # one not-writable source, to name in the summary
    trees: Trees | None = field(default=None, repr=False)  # held open for the run


def _written_value(field: str, value: float) -> float | int:
    """`quality` is an integer scale in the aggregator's records: write it as one."""
    return round(float(value)) if field == "quality" else float(value)


def write_back_batch(
    sources: Iterable[object], values: Iterable[float], plan: WriteBackPlan, stats: WriteBackStats
) -> list[LoadError]:
    """Write each value into the Markdown file its source names; errors come back as report
    entries, and sources that are not plain files on disk are counted in ``stats``."""
    if stats.trees is None and plan.roots:
        stats.trees = Trees(plan.roots)
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
                trees=stats.trees,
            )
        except (WriteBackError, ValueError) as exc:
            errors.append(LoadError(str(source), f"write-back refused: {one_line(exc, 200)}"))
            continue
        if changed:
            stats.written += 1
        else:
            stats.unchanged += 1
    return errors
