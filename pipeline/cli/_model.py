"""`score train`, `score evaluate`, `score inspect`: the model's life cycle."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from pipeline.artifact import ArtifactError, load_artifact, model_card
from pipeline.choices import DEFAULT_KIND, KINDS, PROTOCOLS
from pipeline.cli._app import app
from pipeline.cli._common import (
    DEFAULT_MODEL,
    EXIT_BAD_INPUT,
    EXIT_USAGE,
    ModelOption,
    default_training_paths,
    fail,
    print_error,
)
from pipeline.errors import WorkerDiedError
from pipeline.frame import load_records

TrainPaths = Annotated[
    list[str] | None,
    typer.Argument(
        help="Scored records to learn from (files, folders, globs, archives). Default: ./seeds, "
        "plus ../shared/seed and every site folder of ../shared/corpus when they exist.",
        show_default=False,
    ),
]
KindOption = Annotated[str, typer.Option(help=f"Estimator: {', '.join(KINDS)}.")]
SeedOption = Annotated[int, typer.Option(help="Random seed: same data + seed = same model.")]


def _load_scored(paths: list[str] | None) -> pd.DataFrame:
    paths = paths or default_training_paths()
    if not paths:
        raise fail("no input: give record paths, or run where ./seeds or ../shared/corpus is")
    try:
        result = load_records(paths, on_error=print_error)
    except WorkerDiedError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    scored = int(result.frame["quality"].notna().sum())
    typer.echo(
        f"loaded {len(result.frame)} records ({scored} scored) from {len(paths)} path(s); "
        f"bad inputs skipped: {len(result.errors)}",
        err=True,
    )
    if scored == 0:
        raise fail("none of the records has a numeric `quality` to learn from")
    return result.frame


def _finite(value: Any) -> Any:
    """JSON has no NaN: an undefined metric (e.g. ρ of a constant baseline) becomes null."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise fail(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")


def _format_table(table: pd.DataFrame) -> str:
    shown = table.copy()
    for column in ("mae", "rmse", "r2", "spearman"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    if "n" in shown:
        shown["n"] = shown["n"].astype(int)
    return shown.to_string()


@app.command("train")
def train_command(
    paths: TrainPaths = None,
    model: ModelOption = DEFAULT_MODEL,
    kind: KindOption = DEFAULT_KIND,
    seed: SeedOption = 0,
) -> None:
    """Learn quality from every record with a numeric `quality`; save the model artifact.

    Prints the model's error on the newest 20 % of records (trained on the older 80 %) beside
    the global-mean and provider-mean baselines, then fits on everything and saves.
    """
    _check_kind(kind)
    frame = _load_scored(paths)
    from pipeline.training import train_and_save  # scikit-learn: loaded when needed

    report = train_and_save(frame, model, seed=seed, kind=kind)
    typer.echo("holdout (train on older 80 %, test on newest 20 %):")
    typer.echo(_format_table(report.holdout))
    typer.echo(f"saved {report.path} ({report.metadata['n_train']} training records)")


@app.command("evaluate")
def evaluate_command(
    paths: TrainPaths = None,
    protocol: Annotated[
        list[str],
        typer.Option(
            "--protocol",
            "-p",
            help="random (5-fold CV), time (older 80 % -> newest 20 %), provider (unseen "
            "providers), site (leave one folder out), or all. Repeatable.",
        ),
    ] = ["random"],  # noqa: B006 - typer needs a literal default
    kind: KindOption = DEFAULT_KIND,
    seed: SeedOption = 0,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write metrics as JSON to this file.")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Folder for PNG plots and a Markdown summary of the evaluation."),
    ] = None,
    strict_related: Annotated[
        bool,
        typer.Option(
            help="Also remove held-out articles from the training records' related lists (the "
            "pessimistic setting: a held-out provider is truly unseen)."
        ),
    ] = False,
) -> None:
    """Measure the model honestly under one or more protocols, beside the baselines."""
    _check_kind(kind)
    protocols = list(PROTOCOLS) if "all" in protocol else protocol
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise fail(f"unknown protocol {unknown[0]!r}: use {', '.join(PROTOCOLS)} or all")
    from pipeline.model import evaluate, summary_table  # scikit-learn: loaded when needed

    frame = _load_scored(paths)
    results = {}
    for name in protocols:
        try:
            results[name] = evaluate(
                frame, name, seed=seed, kind=kind, strict_related=strict_related
            )
        except ValueError as exc:  # e.g. the site protocol with a single site
            raise fail(f"protocol {name}: {exc}") from None
    typer.echo(_format_table(summary_table(results).set_index(["protocol", "estimator"])))
    if json_file is not None:
        payload = _finite({name: result.to_dict() for name, result in results.items()})
        json_file.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    if report is not None:
        from pipeline.report import write_report  # plotting is loaded only when asked for

        written = write_report(results, frame, report)
        typer.echo(f"report: {written}", err=True)


@app.command("inspect")
def inspect_command(model: ModelOption = DEFAULT_MODEL) -> None:
    """Print the model card: metadata, holdout metrics, intervals and top features."""
    try:
        artifact = load_artifact(model)
    except ArtifactError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    typer.echo(model_card(artifact), nl=False)
