"""`score predict`: score records with a saved model; write a table and/or write back."""

from __future__ import annotations

import gc
import re
import sys
import warnings
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.ahead import ParseAhead
from pipeline.artifact import Artifact, ArtifactError, load_artifact, read_artifact
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
    fail,
    is_terminal,
    output_failures,
    print_error,
    write_error_report,
)
from pipeline.errors import WorkerDiedError
from pipeline.frame import DEFAULT_BATCH_SIZE
from pipeline.outputs import OutputError, TableWriter, format_of
from pipeline.scoring import (
    DEFAULT_LEVEL,
    DEFAULT_TOP,
    DEFAULT_WRITE_FIELD,
    Explainer,
    PredictSummary,
    Scorer,
    ScoringError,
    WriteBackPlan,
    check_model_predicts,
    dask_batches,
    interval_halfwidth,
    local_batches,
    reference_from_paths,
    run_predict,
    score_chunk,
)

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class Engine(StrEnum):
    local = "local"
    dask = "dask"


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
    write_back_: Annotated[
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
            help=f"Front matter field --write-back sets (default: `quality` with "
            f"--only-missing, else `{DEFAULT_WRITE_FIELD}`). `quality` needs --only-missing, so "
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
        float, typer.Option("--level", help="Coverage level of --interval (e.g. 0.9).")
    ] = DEFAULT_LEVEL,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Add a `why` column: the signals that moved each prediction most, as "
            "feature=value ±points (slower: one extra model pass per feature).",
        ),
    ] = False,
    top: Annotated[int, typer.Option("--top", help="Signals listed per record by --explain.")] = (
        DEFAULT_TOP
    ),
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine", help="local: this machine; dask: a Dask distributed cluster (same output)."
        ),
    ] = Engine.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address (tcp://host:8786); default: a local cluster for the run.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            help="Local: worker processes, each parsing and scoring its share (default: all "
            "cores when the input is large); dask: workers of the local cluster (default 2).",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Records per scored batch (memory vs. speed).")
    ] = DEFAULT_BATCH_SIZE,
    parse_ahead: Annotated[
        bool,
        typer.Option(
            "--parse-ahead/--no-parse-ahead",
            help="Local engine, --jobs other than 1: parse the first records in a worker while "
            "the model loads (a large input finishes ~0.25 s sooner). --no-parse-ahead reads no "
            "input before the model is loaded and checked.",
        ),
    ] = True,
) -> None:
    """Predict `quality` for every record and write one row per record.

    Rows hold id, source, site, url, title, provider_domain, the known quality (if any) and
    quality_pred. Bad inputs are reported on standard error (one line each) and skipped: exit
    status 1 when any input was bad, 0 otherwise, 2 for usage errors and for a missing, corrupt
    or tampered model (then nothing is read or written).
    """
    field = _check_options(out, errors_file, only_missing, write_back_, write_field, level, top)
    field_plan = WriteBackPlan(field, only_missing) if write_back_ else None
    if batch_size < 1 or (jobs is not None and jobs < 1):
        raise fail("--batch-size and --jobs must be at least 1")
    verified = _verify_model(model)  # a missing or tampered model: refused before any input
    ahead = engine is Engine.local and parse_ahead and jobs != 1
    with ParseAhead(paths, chunk_size=score_chunk(batch_size)) if ahead else nullcontext() as head:
        artifact = _load_model(model, verified)
        if _common.process_ends_after_command:
            # What this process holds by now (modules, the model) is kept to its end: frozen,
            # the collector no longer walks it at each full collection (~1 % of a large run).
            gc.freeze()
        try:
            check_model_predicts(artifact.model)
        except ScoringError as exc:
            raise fail(f"{model}: {exc}") from None
        scorer = _scorer(artifact, paths, only_missing, interval, level, explain, top)
        try:
            writer = TableWriter(out)
        except OutputError as exc:
            raise fail(str(exc)) from None
        if engine is Engine.dask:
            batches: Any = dask_batches(scorer, paths, scheduler=scheduler, workers=jobs or 2)
        else:
            batches = local_batches(scorer, paths, batch_size=batch_size, jobs=jobs, ahead=head)
        summary = _run(batches, writer, scorer, field_plan, out)
    write_error_report(errors_file, summary.errors)
    _report(summary, out, field_plan)
    raise typer.Exit(EXIT_BAD_INPUT if summary.errors else EXIT_OK)


def _run(
    batches: Any, writer: TableWriter, scorer: Scorer, plan: WriteBackPlan | None, out: Path | None
) -> PredictSummary:
    """Write every scored batch; failures while reading or writing are one line each."""
    try:
        with output_failures(out):
            return run_predict(
                batches,
                writer,
                empty=scorer.empty(),
                write_back_plan=plan,
                on_error=print_error,
                progress=is_terminal() and not (out is None and sys.stdout.isatty()),
            )
    except ScoringError as exc:
        raise fail(str(exc)) from None
    except WorkerDiedError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None


def _check_options(
    out: Path | None,
    errors_file: Path | None,
    only_missing: bool,
    write_back: bool,
    write_field: str | None,
    level: float,
    top: int,
) -> str:
    """Refuse bad option combinations before anything is read; returns the write-back field."""
    try:
        format_of(out)
        if errors_file is not None:
            format_of(errors_file)
    except OutputError as exc:
        raise fail(str(exc)) from None
    field = write_field or ("quality" if only_missing else DEFAULT_WRITE_FIELD)
    if write_field is not None and not write_back:
        raise fail("--write-field needs --write-back")
    if not _FIELD_NAME.match(field):
        raise fail(f"--write-field {field!r} is not a valid front matter key")
    if write_back and field == "quality" and not only_missing:
        raise fail("--write-field quality would overwrite known scores; add --only-missing")
    if not 0 < level < 1:
        raise fail(f"--level must be between 0 and 1, not {level}")
    if top < 1:
        raise fail("--top must be at least 1")
    return field


def _verify_model(path: Path) -> bytes:
    """The artifact's bytes once its digest checks out; any problem is one line, status 2."""
    try:
        return read_artifact(path)
    except ArtifactError as exc:
        raise fail(str(exc)) from None
    except FileNotFoundError:
        raise fail(f"{path}: model not found (train one with `score train`)") from None


def _load_model(path: Path, verified: bytes) -> Artifact:
    """Unpickle the verified artifact; any problem is one line and exit status 2."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            artifact = load_artifact(path, verified=verified)
    except ArtifactError as exc:
        raise fail(str(exc)) from None
    for warning in caught:
        typer.echo(f"warning: {' '.join(str(warning.message).split())}", err=True)
    return artifact


def _scorer(
    artifact: Artifact,
    paths: list[str],
    only_missing: bool,
    interval: bool,
    level: float,
    explain: bool,
    top: int,
) -> Scorer:
    halfwidth = None
    if interval:
        try:
            halfwidth = interval_halfwidth(artifact.metadata, level)
        except ScoringError as exc:
            raise fail(f"{artifact.path}: {exc}") from None
    explainer = None
    if explain:
        reference = artifact.metadata.get("explain_reference")
        if not isinstance(reference, dict):
            reference = {} if "-" in paths else reference_from_paths(artifact.model, paths)
        explainer = Explainer(artifact.model, reference, top=top)
    return Scorer(
        artifact.model, only_missing=only_missing, halfwidth=halfwidth, explainer=explainer
    )


def _report(summary: PredictSummary, out: Path | None, plan: WriteBackPlan | None) -> None:
    """One summary line (and a note on records that could not be written back) on stderr."""
    target = f" -> {out}" if out is not None else ""
    line = f"{summary.rows} rows from {summary.records} records{target}; "
    line += f"bad inputs: {len(summary.errors)}"
    stats = summary.write_back
    if plan is not None and stats is not None:
        line += f"; files written back: {stats.written} ({stats.unchanged} unchanged)"
    typer.echo(line, err=True)
    if stats is not None and stats.not_writable:
        typer.echo(
            f"note: {stats.not_writable} records not written back: not plain Markdown files "
            f"on disk (e.g. {stats.example})",
            err=True,
        )
