"""`score predict`: score records with a saved model; write a table and/or write back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.choices import DEFAULT_BATCH_SIZE, DEFAULT_LEVEL, DEFAULT_TOP, Engine
from pipeline.cli import _common
from pipeline.cli._app import app
from pipeline.cli._common import (
    DEFAULT_MODEL,
    EXIT_BAD_INPUT,
    EXIT_OK,
    ErrorsOption,
    ModelOption,
    OutOption,
    PathsArg,
    exit_codes,
    is_terminal,
    print_error,
    say,
)

if TYPE_CHECKING:
    from pipeline.predict import PredictSummary


@app.command("predict")
def predict_command(
    paths: PathsArg,
    model: ModelOption = DEFAULT_MODEL,
    out: OutOption = None,
    errors_file: ErrorsOption = None,
    only_missing: Annotated[
        bool,
        typer.Option("--only-missing", help="Score only records that have no known `quality`."),
    ] = False,
    write_back: Annotated[
        bool,
        typer.Option(
            "--write-back",
            help="Write each prediction into its Markdown file's front matter (plain .md/"
            ".markdown/.txt files only; one line changes, atomically). With --only-missing it "
            "is written as `quality` (only where none is set); otherwise as --write-field.",
        ),
    ] = False,
    write_field: Annotated[
        str | None,
        typer.Option(
            "--write-field",
            metavar="NAME",
            help="Front matter field --write-back sets (default: `quality` with "
            "--only-missing, else `quality_pred`). `quality` needs --only-missing, so "
            "a known score is never overwritten.",
        ),
    ] = None,
    interval: Annotated[
        bool,
        typer.Option(
            "--interval",
            help="Add quality_low/quality_high: the split-conformal prediction interval stored "
            "in the model at --level.",
        ),
    ] = False,
    level: Annotated[
        float, typer.Option("--level", metavar="P", help="Coverage level of --interval (e.g. 0.9).")
    ] = DEFAULT_LEVEL,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Add a `why` column: the signals that moved each prediction most, as "
            "feature=value ±points (slower: one extra model pass per feature).",
        ),
    ] = False,
    top: Annotated[
        int, typer.Option("--top", metavar="N", help="Fields listed per record by --explain.")
    ] = (DEFAULT_TOP),
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            metavar="[local|dask]",
            help="local: this machine; dask: a Dask distributed cluster (same output).",
        ),
    ] = Engine.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Dask scheduler address (tcp://host:8786); default: a local cluster for the run.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            metavar="N",
            help="Local: worker processes, each parsing and scoring its share (default: all "
            "cores when the input is large); dask: workers of the local cluster (default 2).",
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            metavar="N",
            help="Files, or JSON Lines lines, parsed and scored per task on either engine "
            "(memory vs. speed).",
        ),
    ] = DEFAULT_BATCH_SIZE,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            metavar="NAME",
            help="The site of every record read (for inputs whose folder does not name it: a "
            "feed dump, standard input).",
        ),
    ] = None,
) -> None:
    """Predict `quality` for every record and write one row per record.

    Rows hold id, source, site, url, title, provider_domain, the known quality (if any) and
    quality_pred. Bad inputs are reported on standard error (one line each) and skipped: exit
    status 1 when any input was bad, 0 otherwise, 2 for usage errors and for a missing, corrupt
    or tampered model (then nothing is read or written).
    """
    from pipeline.predict import PredictOptions, run  # scikit-learn: loaded when needed

    options = PredictOptions(
        only_missing=only_missing,
        write_back=write_back,
        write_field=write_field,
        interval=interval,
        level=level,
        explain=explain,
        top=top,
        engine=engine,
        scheduler=scheduler,
        jobs=jobs,
        batch_size=batch_size,
        freeze_heap=_common.process_ends_after_command,
        site=site,
    )
    with exit_codes():
        summary = run(
            paths,
            model,
            out,
            options=options,
            errors_out=errors_file,
            on_error=print_error,
            on_warning=lambda message: say(f"warning: {message}"),
            progress=is_terminal() and not (out is None and sys.stdout.isatty()),
        )
    _report(summary, out, write_back)
    raise typer.Exit(EXIT_BAD_INPUT if summary.errors else EXIT_OK)


def _report(summary: PredictSummary, out: Path | None, write_back: bool) -> None:
    """One summary line (and a note on records that could not be written back) on stderr."""
    target = f" -> {out}" if out is not None else ""
    if not summary.written:
        target = f"; nothing written to {out}" if out is not None else ""
    line = f"{summary.rows} rows from {summary.records} records{target}; "
    line += f"bad inputs: {len(summary.errors)}"
    stats = summary.write_back
    if write_back and stats is not None:
        line += f"; files written back: {stats.written} ({stats.unchanged} unchanged)"
    say(line)
    _novelty_note(summary)
    if stats is not None and stats.not_writable:
        say(
            f"note: {stats.not_writable} records not written back: not plain Markdown files "
            f"on disk (e.g. {stats.example})"
        )


NOVELTY_SHARE = 0.2  # from this share of rows new to the model, the run says so


def _novelty_note(summary: PredictSummary) -> None:
    """One line when many rows are of a site, or a provider, the model never saw."""
    if not summary.rows:
        return
    new_site = summary.novelty.get("new_site", 0)
    new_provider = summary.novelty.get("new_provider", 0)
    if (new_site + new_provider) / summary.rows < NOVELTY_SHARE:
        return
    parts = []
    if new_site:
        how = (
            f"placed by their related entries ({', '.join(summary.placed_sites)})"
            if summary.placed_sites
            else "at the pooled level of all sites"
        )
        parts.append(
            f"{new_site / summary.rows:.0%} of rows are of a site the model never saw, {how}"
        )
    if new_provider:
        parts.append(f"{new_provider / summary.rows:.0%} of a provider it never saw in their site")
    advice = "; their scores are estimates: see --interval"
    if summary.unread_stdin:
        advice += " (standard input is read once: its new sites were not placed)"
    say("note: " + "; ".join(parts) + advice)
