"""The members of tar and zip archives as sources, read in memory under the archive caps.

Archives are never extracted to disk; a member whose name climbs out of the archive, a link,
or the bytes past the caps (members, inflated bytes, nesting) are refused and reported.
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from pathlib import PurePosixPath

from pipeline.errors import LoadError, one_line
from pipeline.limits import Limits
from pipeline.load.sources import (
    ZIP_SUFFIXES,
    Source,
    SourceReadError,
    gunzip,
    kind_of,
    read_capped,
)


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


def archive_sources(
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
    read: Callable[[int], bytes],
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
            data = gunzip(data, budget.room())
        except SourceReadError as exc:
            yield LoadError(full, str(exc))
            return False
        budget.spend(len(data))
    if kind == "archive":
        # The same budget: otherwise each nested archive could inflate max_archive_bytes again
        # (a zip of 1,000 small zips of zeros would hold a terabyte).
        yield from archive_sources(full, data, limits, depth=depth + 1, name=full, budget=budget)
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
            skipped = not info.isfile() or kind_of(info.name)[0] is None
            if skipped or _unsafe_member_name(info.name):
                # Not read, but a compressed tar must still inflate it to reach the next
                # member: count it, or a .tgz could make us inflate gigabytes of junk.
                budget.spend(info.size)
                if budget.inflated > limits.max_archive_bytes:
                    yield LoadError(
                        name,
                        f"archive inflates past {limits.max_archive_bytes} bytes; rest not read",
                    )
                    return
            if not info.isfile():
                if not info.isdir():
                    yield LoadError(f"{name}::{info.name}", f"{_tar_kind(info)} refused")
                continue

            def read(room: int, info: tarfile.TarInfo = info) -> bytes:
                if info.size > room:
                    raise SourceReadError(f"member larger than the cap of {room} bytes")
                stream = archive.extractfile(info)
                assert stream is not None
                return read_capped(stream, room, "member")

            if (yield from _member_sources(name, info.name, read, budget, limits, depth)):
                return  # a tar is one stream: once it is corrupt, reading on only fails again


def _tar_kind(info: tarfile.TarInfo) -> str:
    """What a member that is not a regular file is, for the error report."""
    if info.issym() or info.islnk():
        return "link member"
    if info.isfifo():
        return "FIFO member"
    if info.ischr() or info.isblk():
        return "device member"
    return f"member of unknown type {info.type!r}"


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
                    return read_capped(stream, room, "inflated member")

            yield from _member_sources(name, info.filename, read, budget, limits, depth)
