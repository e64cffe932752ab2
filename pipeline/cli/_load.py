"""`score load`: read records from anywhere and write them as one table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline.cli._app import app
from pipeline.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    ErrorsOption,
    OutOption,
    PathsArg,
    fail,
    output_failures,
    print_error,
    write_error_report,
)
from pipeline.errors import StrictModeError, WorkerDiedError
from pipeline.frame import load_records
from pipeline.outputs import OutputError, TableWriter, format_of


@app.command("load")
def load_command(
    paths: PathsArg,
    out: OutOption = None,
    errors_file: ErrorsOption = None,
    related: Annotated[
        bool,
        typer.Option("--related", help="Add each scored `related` entry as a row of its own."),
    ] = False,
    duplicates: Annotated[
        str,
        typer.Option(help="Repeated article URLs: mark (flag all but one), drop, or keep."),
    ] = "mark",
    strict: Annotated[bool, typer.Option(help="Stop at the first bad input.")] = False,
    jobs: Annotated[
        int | None, typer.Option(help="Parser processes (default: all cores for large inputs).")
    ] = None,
) -> None:
    """Load article records into one table with the documented schema.

    Bad files, lines and archive members are reported on standard error (one line each) and
    skipped; the exit status is 1 when any input was bad, 0 otherwise.
    """
    if duplicates not in {"mark", "drop", "keep"}:
        raise fail(f"--duplicates must be mark, drop or keep, not {duplicates!r}")
    if errors_file is not None:  # refuse a bad --errors path now, not after a long load
        try:
            format_of(errors_file)
        except OutputError as exc:
            raise fail(str(exc)) from None
        if not errors_file.parent.is_dir():
            raise fail(f"{errors_file}: folder {errors_file.parent} does not exist")
    try:
        writer = TableWriter(out)
    except OutputError as exc:
        raise fail(str(exc)) from None
    try:
        result = load_records(
            paths,
            duplicates=duplicates,  # type: ignore[arg-type]
            jobs=jobs,
            strict=strict,
            expand_related=related,
            on_error=print_error,
        )
    except StrictModeError as exc:
        writer.abort()
        raise fail(f"{exc} (--strict)", EXIT_BAD_INPUT) from None
    except WorkerDiedError as exc:
        writer.abort()
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except BaseException:  # a crash or Ctrl-C while loading: leave no temporary file behind
        writer.abort()
        raise
    _write_table(writer, result.frame, out)
    write_error_report(errors_file, result.errors)
    frame = result.frame
    if out is not None:
        scored = int(frame["quality"].notna().sum())
        typer.echo(
            f"{len(frame)} records ({scored} scored, {int(frame['is_duplicate'].sum())} "
            f"duplicates) -> {out}; bad inputs: {len(result.errors)}",
            err=True,
        )
    raise typer.Exit(EXIT_BAD_INPUT if result.errors else EXIT_OK)


def _write_table(writer: TableWriter, frame: pd.DataFrame, out: Path | None) -> None:
    """Write and close the output; a write that fails is one line and status 1."""
    with output_failures(out), writer:
        writer.write(frame)
