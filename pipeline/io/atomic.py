"""A file replaced whole or not at all: written under a temporary name, renamed into place.

The temporary file sits in the target's folder under a name derived from the target's
(``.<name>.tmp``, or a digest of it where that would pass the folder's name limit), locked
while it is written. So a run killed outright leaves at most that one file, and the next run
that writes the same target takes it over (a file nobody holds the lock of is stale): killed
runs never pile up temporary files, and two live runs never write the same target at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
from pathlib import Path
from typing import BinaryIO

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class BusyError(OSError):
    """Another live process is writing the same target."""


def umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_name(name: str, suffix: str = ".tmp", folder: int | str | None = None) -> str:
    """``.<name><suffix>``, or a name made from a digest of ``name`` when that would pass the
    folder's limit on name length (``folder``: a descriptor or a path; 255 bytes if unknown)."""
    plain = f".{name}{suffix}"
    try:
        limit = 255 if folder is None else os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, TypeError):
        limit = 255
    if len(os.fsencode(plain)) <= limit:
        return plain
    return f".aq-{hashlib.sha1(os.fsencode(name)).hexdigest()[:20]}{suffix}"


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename durable; best effort (not every file system lets a folder be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class AtomicFile:
    """Write ``path`` as a whole: :meth:`commit` renames the finished file into place,
    :meth:`abort` drops it; the existing file is untouched until the commit.

    Raises :class:`BusyError` when another live process is writing the same ``path``.
    """

    def __init__(self, path: str | os.PathLike[str], mode: int | None = None) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(temp_name(self.path.name, folder=self.path.parent))
        fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | _CLOEXEC, 0o600)
        locked = False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise BusyError(
                        exc.errno, f"another run is writing {self.path} (it holds {self.tmp.name})"
                    ) from None
                raise
            locked = True
            os.ftruncate(fd, 0)  # a killed run's leftover: taken over
            os.fchmod(fd, 0o666 & ~umask() if mode is None else mode)
            self.file: BinaryIO = os.fdopen(fd, "wb")
        except BaseException:
            if locked:  # ours: no other run can be using it
                with contextlib.suppress(OSError):
                    self.tmp.unlink()
            os.close(fd)
            raise

    def commit(self) -> None:
        """Flush, fsync and rename into place (then the lock goes with the closed file)."""
        self.file.flush()
        os.fsync(self.file.fileno())
        os.replace(self.tmp, self.path)
        fsync_folder(self.path.parent)
        self.file.close()

    def abort(self) -> None:
        """Remove the temporary file (it is still locked: no other run can have taken it)."""
        with contextlib.suppress(OSError):
            self.tmp.unlink()
        with contextlib.suppress(OSError, ValueError):
            self.file.close()
