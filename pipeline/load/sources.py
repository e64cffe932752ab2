"""A readable input (a file, an archive member, standard input) and the reading of its bytes.

Knows nothing of YAML or pandas: it names inputs and reads their bytes under the size caps of
:mod:`pipeline.limits`.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import sys
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from pipeline.errors import one_line
from pipeline.limits import DEFAULT_LIMITS, Limits, MiB

MARKDOWN_SUFFIXES = (".md", ".markdown", ".txt")
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
TABLE_SUFFIXES = (".csv", ".parquet")  # our own tables: read when named, not in folder walks
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
ZIP_SUFFIXES = (".zip",)
RECORD_SUFFIXES = MARKDOWN_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES + TABLE_SUFFIXES
STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One readable input: a plain file (read lazily, by path) or bytes from an archive/stdin.

    Picklable (unless it is stdin) so that parsing can run in worker processes.
    """

    name: str  # what error reports and the `source` column show
    kind: str  # "markdown" | "json" | "jsonl" | "csv" | "parquet"
    site: str  # folder the record sits in
    path: str | None = None  # plain file on disk
    data: bytes | None = None  # already-read bytes (archive member)
    gzipped: bool = False  # path holds gzip-compressed content
    stdin: bool = False
    size: int = 0  # bytes on disk when walked (units are cut by bytes as well as by count)


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
    if lower.endswith(".csv"):
        return "csv", gzipped
    if lower.endswith(".parquet") and not gzipped:
        return "parquet", False
    return None, gzipped


def os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return one_line(exc.strerror or exc)


class SourceReadError(Exception):
    """A source could not be read; the message is one line."""


def read_capped(stream: BinaryIO, cap: int, what: str) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise SourceReadError(f"{what} larger than the cap of {cap} bytes")
    return data


_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def _read_file(path: str, cap: int) -> bytes:
    """Read a whole file under ``cap`` in one read of its size.

    ``open().read(cap + 1)`` would allocate the whole cap (64 MiB) for every small record;
    sizing the read by fstat avoids that (a kept speed device: docs/performance.md). A file
    that grows while it is read is still read to its end (and refused past the cap).
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


def gunzip(data: bytes, cap: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return read_capped(stream, cap, "decompressed content")
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
                return read_capped(stream, limits.max_file_bytes, "decompressed content")
        return _read_file(source.path, limits.max_file_bytes)
    except SourceReadError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SourceReadError(f"corrupt gzip data: {one_line(exc)}") from exc
    except OSError as exc:
        raise SourceReadError(os_reason(exc)) from exc


class _InflationCap:
    """A gzip stream read line by line that stops past ``cap`` inflated bytes (a bomb of
    zeros would otherwise be inflated to its end, gigabytes for a few megabytes on disk)."""

    def __init__(self, stream: BinaryIO, cap: int) -> None:
        self.stream = stream
        self.cap = cap
        self.inflated = 0

    def readline(self, size: int = -1) -> bytes:
        line = self.stream.readline(size)
        self.inflated += len(line)
        if self.inflated > self.cap:
            raise SourceReadError(f"decompressed content larger than the cap of {self.cap} bytes")
        return line

    def close(self) -> None:
        self.stream.close()


def open_stream(source: Source, limits: Limits = DEFAULT_LIMITS) -> BinaryIO:
    """Open a source for line-by-line reading (JSON Lines), so huge dumps stream in flat memory;
    a gzip-compressed file inflates to at most ``max_archive_bytes``."""
    if source.stdin:
        return sys.stdin.buffer
    if source.data is not None:
        return io.BytesIO(source.data)
    assert source.path is not None
    try:
        if source.gzipped:
            stream = gzip.open(source.path, "rb")  # noqa: SIM115 (closed by the reader)
            return _InflationCap(stream, limits.max_archive_bytes)  # type: ignore[return-value]
        return open(source.path, "rb")
    except OSError as exc:
        raise SourceReadError(os_reason(exc)) from exc
