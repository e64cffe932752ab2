"""Pieces every command shares: default inputs, error printing, exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from pipeline.errors import LoadError, one_line

EXIT_OK = 0
EXIT_BAD_INPUT = 1  # some inputs were bad; every good record was still processed
EXIT_USAGE = 2  # usage error, or a missing / corrupt / tampered model

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


def print_error(error: LoadError) -> None:
    """One line per bad input on standard error; never a traceback."""
    typer.echo(f"error: {error}", err=True)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print a one-line error and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def write_error_report(path: Path | None, errors: list[LoadError]) -> None:
    """``--errors FILE``: the errors as a table; a failure to write it is one line, status 1."""
    if path is None:
        return
    from pipeline.outputs import OutputError, write_errors

    try:
        write_errors(path, errors)
    except (OutputError, OSError) as exc:
        raise fail(f"cannot write the error report: {exc}", EXIT_BAD_INPUT) from None


def silence_stdout() -> None:
    """Point standard output at /dev/null (its reader left, or it cannot be written), so what
    is still buffered for it is dropped instead of failing again at the exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextlib.contextmanager
def output_failures(out: Path | None) -> Iterator[None]:
    """Writing the output: a reader of standard output that left (`| head`) ends the run
    quietly, any other failure to write (a full disk) is one line; status 1 either way."""
    try:
        yield
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:
        message = f"cannot write {out or 'standard output'}: {one_line(exc)}"
        raise fail(message, EXIT_BAD_INPUT) from None


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
        help="Output table: .parquet, .csv or .jsonl (default: JSON Lines on standard output).",
    ),
]
ErrorsOption = Annotated[
    Path | None, typer.Option("--errors", help="Also write the error report as JSON Lines.")
]
ModelOption = Annotated[
    Path, typer.Option("--model", "-m", help="Model artifact file (written by `score train`).")
]
