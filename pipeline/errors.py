"""Error report entries: bad input becomes data, so one bad file never stops a batch."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LoadError:
    """One bad file, line, array item or archive member, with a one-line reason."""

    source: str  # "file", "archive::member", "file:line" or "file[i]"
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


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
    """Collapse a (possibly multi-line) exception message to one readable line."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
