"""`score train`, `score evaluate`, `score inspect`: the model's life cycle."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline.choices import DEFAULT_KIND, PROTOCOLS, Kind
from pipeline.cli._app import app
from pipeline.cli._common import (
    DEFAULT_MODEL,
    ModelOption,
    default_training_paths,
    exit_codes,
    print_error,
    say,
)

ProtocolChoice = StrEnum("ProtocolChoice", {name: name for name in (*PROTOCOLS, "all")})

TrainPaths = Annotated[
    list[str] | None,
    typer.Argument(
        help="Scored records to learn from (files, folders, globs, archives). Default: ./seeds, "
        "plus ../shared/seed and every site folder of ../shared/corpus when they exist.",
        show_default=False,
    ),
]
KindOption = Annotated[Kind, typer.Option(help="Estimator.")]
SeedOption = Annotated[int, typer.Option(help="Random seed: same data + seed = same model.")]


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
    from pipeline.model.training import train_paths  # scikit-learn: loaded when needed

    with exit_codes():
        report = train_paths(
            paths or default_training_paths(),
            model,
            kind=kind,
            seed=seed,
            on_error=print_error,
            say=say,
        )
    typer.echo("holdout (train on older 80 %, test on newest 20 %):")
    typer.echo(_format_table(report.holdout))
    typer.echo(f"saved {report.path} ({report.metadata['n_train']} training records)")


@app.command("evaluate")
def evaluate_command(
    paths: TrainPaths = None,
    protocol: Annotated[
        list[ProtocolChoice],
        typer.Option(
            "--protocol",
            "-p",
            help="random (5-fold CV), time (older 80 % -> newest 20 %), provider (unseen "
            "providers), site (leave one folder out), or all. Repeatable.",
        ),
    ] = [ProtocolChoice.random],  # noqa: B006 - typer needs a literal default
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
    from pipeline.model import summary_table
    from pipeline.model.evaluation import evaluate_paths  # scikit-learn: loaded when needed

    chosen = list(PROTOCOLS) if "all" in protocol else [str(p) for p in protocol]
    with exit_codes():
        results = evaluate_paths(
            paths or default_training_paths(),
            chosen,
            kind=kind,
            seed=seed,
            strict_related=strict_related,
            json_out=json_file,
            report_dir=report,
            on_error=print_error,
            say=say,
        )
    typer.echo(_format_table(summary_table(results).set_index(["protocol", "estimator"])))


@app.command("inspect")
def inspect_command(model: ModelOption = DEFAULT_MODEL) -> None:
    """Print the model card: metadata, holdout metrics, intervals and top features."""
    from pipeline.artifact import describe

    with exit_codes():
        card = describe(model)
    typer.echo(card, nl=False)
