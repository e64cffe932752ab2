"""Turn user paths (files, directories, globs, archives, gzip, stdin) into readable sources.

Knows nothing of YAML or pandas: it only finds inputs, names them, and reads their bytes under
the size caps of :mod:`pipeline.limits`. Archives are read in memory, never extracted to disk.
"""

from __future__ import annotations

import errno
import glob
import gzip
import io
import lzma
import os
import stat
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from pipeline.errors import LoadError, one_line
from pipeline.limits import DEFAULT_LIMITS, Limits, MiB

MARKDOWN_SUFFIXES = (".md", ".markdown", ".txt")
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
ZIP_SUFFIXES = (".zip",)
RECORD_SUFFIXES = MARKDOWN_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES
STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One readable input: a plain file (read lazily, by path) or bytes from an archive/stdin.

    Picklable (unless it is stdin) so that parsing can run in worker processes.
    """

    name: str  # what error reports and the `source` column show
    kind: str  # "markdown" | "json" | "jsonl"
    site: str  # folder the record sits in
    path: str | None = None  # plain file on disk
    data: bytes | None = None  # already-read bytes (archive member)
    gzipped: bool = False  # path holds gzip-compressed content
    stdin: bool = False


def kind_of(name: str) -> tuple[str | None, bool]:
    """Return (kind, gzipped) for a file name; kind is "archive" for tar/zip, None if unknown."""
    lower = name.lower()
    if lower.endswith(TAR_SUFFIXES + ZIP_SUFFIXES):
        return "archive", False
    gzipped = lower.endswith(".gz")
    if gzipped:
        lower = lower[:-3]
    if lower.endswith(MARKDOWN_SUFFIXES):
        return "markdown", gzipped
    if lower.endswith(JSON_SUFFIXES):
        return "json", gzipped
    if lower.endswith(JSONL_SUFFIXES):
        return "jsonl", gzipped
    return None, gzipped


def _site_of(path: str) -> str:
    parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return parent or "."


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return one_line(exc.strerror or exc)


def iter_sources(
    paths: Iterable[str], limits: Limits = DEFAULT_LIMITS
) -> Iterator[Source | LoadError]:
    """Yield every source named by ``paths`` in a stable order, or an error for each bad one.

    Directories are walked recursively (sorted, symlinked directories not followed, so a
    symlink loop cannot trap the walk); files with unknown suffixes inside them are skipped.
    A path that does not exist but contains glob characters is expanded as a pattern.
    """
    for raw in paths:
        path = os.fspath(raw)
        if path == STDIN:
            yield Source(name="<stdin>", kind="jsonl", site="stdin", stdin=True)
        elif os.path.isdir(path):
            yield from _walk_directory(path, limits)
        elif os.path.lexists(path):
            yield from _file_sources(path, limits, explicit=True)
        elif glob.has_magic(path):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                yield LoadError(path, "no files match this pattern")
            for match in matches:
                if os.path.isdir(match):
                    yield from _walk_directory(match, limits)
                else:
                    yield from _file_sources(match, limits, explicit=True)
        else:
            yield LoadError(path, "no such file or directory")


def _walk_directory(root: str, limits: Limits) -> Iterator[Source | LoadError]:
    """Depth-first, sorted: a folder's files, then each subfolder in turn (as os.walk does).

    Plain files are recognised from the directory entry, without a stat each: a walk of
    10,000 records would otherwise spend more time in stat than the loader spends parsing
    some of them. Their size cap and file type are checked when they are read.
    """
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            yield LoadError(exc.filename or folder, _os_reason(exc))
            continue
        site = os.path.basename(os.path.abspath(folder)) or "."
        subfolders = []
        for entry in entries:
            if _is_real_dir(entry):
                subfolders.append(entry.path)
                continue
            if _is_linked_dir(entry):
                continue  # symlinked folders are not followed (os.walk's rule): no loops
            kind, gzipped = kind_of(entry.name)
            if kind is None:
                continue
            if kind != "archive" and not gzipped and _is_real_file(entry):
                yield Source(name=entry.path, kind=kind, site=site, path=entry.path)
            else:
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


def _is_real_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _file_sources(path: str, limits: Limits, *, explicit: bool) -> Iterator[Source | LoadError]:
    kind, gzipped = kind_of(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        yield LoadError(path, _os_reason(exc))
        return
    if not stat.S_ISREG(info.st_mode):
        yield LoadError(path, "not a regular file")
        return
    if kind is None:
        if explicit:
            yield LoadError(path, "unsupported file type (expected .md, .json, .jsonl, archives)")
        return
    if kind == "archive":
        yield from _archive_sources(path, None, limits, depth=0)
        return
    if kind != "jsonl" and not gzipped and info.st_size > limits.max_file_bytes:
        yield LoadError(path, f"file too large ({info.st_size} bytes > {limits.max_file_bytes})")
        return
    yield Source(name=path, kind=kind, site=_site_of(path), path=path, gzipped=gzipped)


# --- reading ---------------------------------------------------------------------------------


class SourceReadError(Exception):
    """A source could not be read; the message is one line."""


def _read_capped(stream: BinaryIO, cap: int, what: str) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise SourceReadError(f"{what} larger than the cap of {cap} bytes")
    return data


_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def _read_file(path: str, cap: int) -> bytes:
    """Read a whole file under ``cap`` in one read of its size.

    ``open().read(cap + 1)`` would allocate the whole cap (64 MiB) for every small record;
    sizing the read by fstat is about twice as fast for the records' few kilobytes. A file that
    grows while it is read is still read to its end (and refused past the cap).
    """
    # O_NONBLOCK: a FIFO put where a record was expected must not hang the open.
    fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceReadError("not a regular file")
        if info.st_size > cap:
            raise SourceReadError(f"file too large ({info.st_size} bytes > {cap})")
        want = info.st_size + 1
        data = os.read(fd, want)
        if len(data) < want:  # a short read of a regular file: its end
            return data
        parts = [data]
        size = len(data)
        while size <= cap and (more := os.read(fd, min(cap + 1 - size, MiB))):
            parts.append(more)
            size += len(more)
    finally:
        os.close(fd)
    if size > cap:
        raise SourceReadError(f"file larger than the cap of {cap} bytes")
    return b"".join(parts)


def _gunzip(data: bytes, cap: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return _read_capped(stream, cap, "decompressed content")
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceReadError(f"corrupt gzip data: {one_line(exc)}") from exc


def read_bytes(source: Source, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Read a whole (non-streamed) source, decompressing gzip, under the file-size cap."""
    if source.data is not None:
        return source.data
    if source.path is None:
        raise SourceReadError("nothing to read")
    try:
        if source.gzipped:
            with gzip.open(source.path, "rb") as stream:
                return _read_capped(stream, limits.max_file_bytes, "decompressed content")
        return _read_file(source.path, limits.max_file_bytes)
    except SourceReadError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SourceReadError(f"corrupt gzip data: {one_line(exc)}") from exc
    except OSError as exc:
        raise SourceReadError(_os_reason(exc)) from exc


def open_stream(source: Source) -> BinaryIO:
    """Open a source for line-by-line reading (JSON Lines), so huge dumps stream in flat memory."""
    if source.stdin:
        return sys.stdin.buffer
    if source.data is not None:
        return io.BytesIO(source.data)
    assert source.path is not None
    try:
        if source.gzipped:
            return gzip.open(source.path, "rb")  # type: ignore[return-value]
        return open(source.path, "rb")
    except OSError as exc:
        raise SourceReadError(_os_reason(exc)) from exc


# --- archives ---------------------------------------------------------------------------------


def _unsafe_member_name(name: str) -> bool:
    """True when a member name would climb out of the archive if it were ever extracted."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return ".." in parts


class _ArchiveBudget:
    """Counts members and inflated bytes across one archive so bombs are stopped and reported."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.members = 0
        self.inflated = 0

    def take_member(self) -> LoadError | None:
        self.members += 1
        if self.members > self.limits.max_archive_members:
            return LoadError(
                self.name, f"more than {self.limits.max_archive_members} members; rest not read"
            )
        return None

    def room(self) -> int:
        return min(self.limits.max_file_bytes, self.limits.max_archive_bytes - self.inflated)

    def spend(self, n: int) -> None:
        self.inflated += n


# What a corrupt or hostile archive can raise from the standard library's readers: besides the
# declared errors, a zip "made by" a future version raises NotImplementedError, a negative
# header offset raises ValueError (negative seek) on in-memory data, a bad .tar.xz LZMAError.
_ARCHIVE_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    OSError,
    ValueError,
    NotImplementedError,
)


def _archive_sources(
    path: str,
    data: bytes | None,
    limits: Limits,
    *,
    depth: int,
    name: str | None = None,
    budget: _ArchiveBudget | None = None,
) -> Iterator[Source | LoadError]:
    """Sources of one archive; a nested archive spends the budget of the outermost one."""
    name = name or path
    budget = budget or _ArchiveBudget(name, limits)
    if depth > limits.max_archive_depth:
        yield LoadError(name, f"archive nested deeper than {limits.max_archive_depth} levels")
        return
    lower = name.lower()
    try:
        if lower.endswith(ZIP_SUFFIXES):
            yield from _zip_members(path, data, limits, depth=depth, name=name, budget=budget)
        else:
            yield from _tar_members(path, data, limits, depth=depth, name=name, budget=budget)
    except _ARCHIVE_ERRORS as exc:
        yield LoadError(name, f"unreadable archive: {one_line(exc)}")


def _member_sources(
    archive: str,
    member: str,
    read: callable,  # type: ignore[valid-type]
    budget: _ArchiveBudget,
    limits: Limits,
    depth: int,
) -> Generator[Source | LoadError, None, bool]:
    """Yield the sources of one member; return True when reading it failed (corrupt data)."""
    full = f"{archive}::{member}"
    if _unsafe_member_name(member):
        yield LoadError(full, "member name climbs out of the archive; refused")
        return False
    kind, gzipped = kind_of(member)
    if kind is None:
        return False
    room = budget.room()
    if room <= 0:
        yield LoadError(full, f"archive inflates past {limits.max_archive_bytes} bytes; not read")
        return False
    try:
        data = read(room)
    except SourceReadError as exc:
        yield LoadError(full, str(exc))
        return False
    except (
        OSError,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        zipfile.BadZipFile,  # bad CRC-32 of this member: the other members are still fine
        RuntimeError,
        NotImplementedError,
        ValueError,  # e.g. a negative local-header offset: a negative seek on in-memory data
    ) as exc:
        yield LoadError(full, f"unreadable member: {one_line(exc)}")
        return True
    budget.spend(len(data))
    if gzipped:
        try:
            data = _gunzip(data, budget.room())
        except SourceReadError as exc:
            yield LoadError(full, str(exc))
            return False
        budget.spend(len(data))
    if kind == "archive":
        # The same budget: otherwise each nested archive could inflate max_archive_bytes again
        # (a zip of 1,000 small zips of zeros would hold a terabyte).
        yield from _archive_sources(full, data, limits, depth=depth + 1, name=full, budget=budget)
        return False
    site = PurePosixPath(member).parent.name or PurePosixPath(archive.split("::")[0]).name
    yield Source(name=full, kind=kind, site=site, data=data)
    return False


def _tar_members(
    path: str,
    data: bytes | None,
    limits: Limits,
    *,
    depth: int,
    name: str,
    budget: _ArchiveBudget,
) -> Iterator[Source | LoadError]:
    fileobj = io.BytesIO(data) if data is not None else None
    with tarfile.open(name=None if fileobj else path, fileobj=fileobj, mode="r:*") as archive:
        for info in archive:
            # Every entry counts, directories and links too: tarfile keeps each one it has
            # read, so a stream of empty entries would otherwise grow memory without bound.
            if (stop := budget.take_member()) is not None:
                yield stop
                return
            if not info.isfile():
                if info.issym() or info.islnk():
                    yield LoadError(f"{name}::{info.name}", "link member refused")
                continue
            if kind_of(info.name)[0] is None or _unsafe_member_name(info.name):
                # Not read, but a compressed tar must still inflate it to reach the next
                # member: count it, or a .tgz could make us inflate gigabytes of junk.
                budget.spend(info.size)
                if budget.inflated > limits.max_archive_bytes:
                    yield LoadError(
                        name,
                        f"archive inflates past {limits.max_archive_bytes} bytes; rest not read",
                    )
                    return

            def read(room: int, info: tarfile.TarInfo = info) -> bytes:
                if info.size > room:
                    raise SourceReadError(f"member larger than the cap of {room} bytes")
                stream = archive.extractfile(info)
                assert stream is not None
                return _read_capped(stream, room, "member")

            if (yield from _member_sources(name, info.name, read, budget, limits, depth)):
                return  # a tar is one stream: once it is corrupt, reading on only fails again


def _zip_members(
    path: str,
    data: bytes | None,
    limits: Limits,
    *,
    depth: int,
    name: str,
    budget: _ArchiveBudget,
) -> Iterator[Source | LoadError]:
    fileobj = io.BytesIO(data) if data is not None else path
    with zipfile.ZipFile(fileobj) as archive:
        for info in archive.infolist():
            if (stop := budget.take_member()) is not None:  # directories count too
                yield stop
                return
            if info.filename.endswith("/"):  # a directory (is_dir() fails on an empty name)
                continue

            def read(room: int, info: zipfile.ZipInfo = info) -> bytes:
                with archive.open(info) as stream:  # inflates lazily: the cap stops a bomb
                    return _read_capped(stream, room, "inflated member")

            yield from _member_sources(name, info.filename, read, budget, limits, depth)
