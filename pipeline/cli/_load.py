"""`score load`: read records from anywhere and write them as one table."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.choices import DuplicateRule
from pipeline.cli._app import app
from pipeline.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    ErrorsOption,
    OutOption,
    PathsArg,
    exit_codes,
    print_error,
    say,
)
from pipeline.load.export import export


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
        DuplicateRule,
        typer.Option(
            metavar="[mark|drop|keep]",
            help="Repeated article URLs: mark (flag all but one), drop, or keep.",
        ),
    ] = DuplicateRule.mark,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad input.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(metavar="N", help="Parser processes (default: all cores for large inputs)."),
    ] = None,
) -> None:
    """Load article records into one table with the documented schema.

    Bad files, lines and archive members are reported on standard error (one line each) and
    skipped; the exit status is 1 when any input was bad, 0 otherwise.
    """
    with exit_codes():
        summary = export(
            paths,
            out,
            errors_out=errors_file,
            related=related,
            duplicates=duplicates,
            strict=strict,
            jobs=jobs,
            on_error=print_error,
        )
    if out is not None and not summary.written:
        say(f"no input could be read: nothing written to {out}; bad inputs: {len(summary.errors)}")
    elif out is not None:
        say(
            f"{summary.rows} records ({summary.scored} scored, {summary.duplicates} "
            f"duplicates) -> {out}; bad inputs: {len(summary.errors)}"
        )
    raise typer.Exit(EXIT_BAD_INPUT if summary.errors else EXIT_OK)
