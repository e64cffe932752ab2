"""Pieces every command shares: options declared once, error lines, and exit codes.

Library errors become exit codes here and nowhere else (:func:`exit_codes`): a command parses
its options, makes its library call inside ``with exit_codes(...)``, and prints the result.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from pipeline.errors import (
    LoadError,
    OutputWriteError,
    ScoringError,
    StrictModeError,
    UnusableDataError,
    UsageError,
    WorkerDiedError,
    printable,
)

EXIT_OK = 0
EXIT_BAD_INPUT = 1  # some inputs were bad; every good record was still processed
EXIT_USAGE = 2  # usage error, unusable data, or a missing / corrupt / tampered model

# Set by pipeline.cli._entry.run, which ends the process after the command: only then may a
# command keep what it holds for good (e.g. gc.freeze). Commands run in-process (tests,
# notebooks, CliRunner) leave it False.
process_ends_after_command = False

DEFAULT_MODEL = Path("models/quality.joblib")
SEEDS_DIR = Path("seeds")
SHARED_SEED = Path("../shared/seed")
SHARED_CORPUS = Path("../shared/corpus")


def default_training_paths() -> list[str]:
    """Where `score train` looks when given no paths: ./seeds, then ../shared/seed and every
    site folder of ../shared/corpus when they exist (third-party records are read in place,
    never copied into the project).

    The corpus's JSON feed pages are left out: they carry no `quality` and twin .md records.
    """
    paths = [str(folder) for folder in (SEEDS_DIR, SHARED_SEED) if folder.is_dir()]
    if SHARED_CORPUS.is_dir():
        paths += [
            str(child)
            for child in sorted(SHARED_CORPUS.iterdir())
            if child.is_dir() and child.name != "feeds"
        ]
    return paths


def say(message: str) -> None:
    """One line on standard error (progress, summaries, warnings)."""
    typer.echo(message, err=True)


def print_error(error: LoadError) -> None:
    """One line per bad input on standard error; never a traceback."""
    typer.echo(f"error: {error}", err=True)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print a one-line error and return the Exit to raise."""
    typer.echo(f"error: {printable(' '.join(message.split()))}", err=True)
    return typer.Exit(code)


def silence_stdout() -> None:
    """Point standard output at /dev/null (its reader left, or it cannot be written), so what
    is still buffered for it is dropped instead of failing again at the exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextlib.contextmanager
def exit_codes() -> Iterator[None]:
    """Library errors as one line and an exit status: 2 for what was refused before anything
    was read (usage, a bad model, unusable data), 1 for what went wrong on the way (a worker
    died, an output could not be written, --strict met a bad input)."""
    from pipeline.artifact import ArtifactError  # (no scikit-learn: the digest check is cheap)

    try:
        yield
    except BrokenPipeError:  # the reader of standard output left (`| head`): quietly
        silence_stdout()
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except StrictModeError as exc:
        raise fail(f"{exc} (--strict)", EXIT_BAD_INPUT) from None
    except (WorkerDiedError, OutputWriteError) as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except (UsageError, UnusableDataError, ScoringError, ArtifactError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


# Arguments and options several commands share, declared once.
PathsArg = Annotated[
    list[str],
    typer.Argument(
        help="Files, folders (recursive), glob patterns, .tar/.tgz/.zip archives, .gz files, "
        "or - for JSON Lines on standard input.",
        show_default=False,
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="FILE",
        help="Output table: .parquet, .csv or .jsonl (default: JSON Lines on standard output).",
    ),
]
ErrorsOption = Annotated[
    Path | None,
    typer.Option(
        "--errors",
        metavar="FILE",
        help="Also write the error report (source, reason) as a table: .jsonl, .csv or .parquet.",
    ),
]
ModelOption = Annotated[
    Path,
    typer.Option(
        "--model", "-m", metavar="FILE", help="Model artifact file (written by `score train`)."
    ),
]
