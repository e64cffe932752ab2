"""Error report entries: bad input becomes data, so one bad file never stops a batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class LoadError:
    """One bad file, line, array item or archive member, with a one-line reason."""

    source: str  # "file", "archive::member", "file:line" or "file[i]"
    reason: str

    def __str__(self) -> str:
        return f"{printable(self.source)}: {printable(self.reason)}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


MAX_HELD_ERRORS = 10_000  # errors kept in memory; the rest are counted (and streamed to files)


@dataclass
class ErrorReport:
    """Bad inputs as they are found: every one counted, the first ``keep`` held.

    A dump of millions of bad lines must not hold millions of entries: the full report goes to
    the ``--errors`` file and standard error as it is found; this keeps what a summary needs.
    Reads like the list of the held entries; ``len`` is the count of all of them.
    """

    keep: int = field(default_factory=lambda: MAX_HELD_ERRORS)
    count: int = 0
    held: list[LoadError] = field(default_factory=list)

    def add(self, error: LoadError) -> None:
        self.count += 1
        if len(self.held) < self.keep:
            self.held.append(error)

    def extend(self, errors: Iterable[LoadError]) -> None:
        if isinstance(errors, ErrorReport):
            room = max(0, self.keep - len(self.held))
            self.held.extend(errors.held[:room])
            self.count += errors.count
            return
        for error in errors:
            self.add(error)

    def __iadd__(self, errors: Iterable[LoadError]) -> ErrorReport:
        self.extend(errors)
        return self

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self) -> Iterator[LoadError]:
        return iter(self.held)

    def __getitem__(self, index: int) -> LoadError:
        return self.held[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ErrorReport):
            return (self.count, self.held) == (other.count, other.held)
        if isinstance(other, list):
            return self.count == len(self.held) and self.held == other
        return NotImplemented


class RecordError(ValueError):
    """Raised while parsing one record; the loader turns it into a :class:`LoadError`."""


class StrictModeError(RuntimeError):
    """Raised by ``strict=True`` loading at the first bad input."""

    def __init__(self, error: LoadError) -> None:
        super().__init__(str(error))
        self.error = error


class UsageError(ValueError):
    """Options that cannot work together, found before anything is read; one line."""


class UnusableDataError(ValueError):
    """The input was read, but cannot be used (e.g. too few scored records to train on)."""


class OutputWriteError(OSError):
    """An output could not be written (a full disk, a lost folder); nothing half-written is
    left. The message is one line naming the output."""


class ScoringError(ValueError):
    """Scoring cannot start or go on (no interval calibration, a model that fails on every
    record, an unreachable Dask scheduler); the message is one line."""


class WorkerDiedError(RuntimeError):
    """A worker process ended without finishing its task (killed, e.g. for lack of memory)."""


def one_line(message: object, limit: int = 300) -> str:
    """Collapse a (possibly multi-line) exception message to one readable line; a long one
    loses its middle, not its end (where "File name too long" is)."""
    text = " ".join(str(message).split())
    if len(text) <= limit:
        return text
    head = (limit - 5) // 2
    return text[:head] + " ... " + text[len(text) - (limit - 5 - head) :]


def printable(text: str) -> str:
    """``text`` with control and line-breaking characters escaped (a newline in a file name
    becomes ``\\n``), so a name from the input can never forge or hide an error line."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )
