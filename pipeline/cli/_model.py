"""`score train`, `score evaluate`, `score inspect`: the model's life cycle."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline.choices import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_RECORDS,
    DEFAULT_SHOTS,
    PROTOCOLS,
    check_site,
)
from pipeline.cli._app import app
from pipeline.cli._common import (
    DEFAULT_MODEL,
    EXIT_BAD_INPUT,
    ModelOption,
    default_training_paths,
    exit_codes,
    print_error,
    say,
)
from pipeline.errors import UsageError

ProtocolChoice = StrEnum("ProtocolChoice", {name: name for name in (*PROTOCOLS, "all")})

TrainPaths = Annotated[
    list[str] | None,
    typer.Argument(
        help="Scored records to learn from (files, folders, globs, archives). Default: ./seeds, "
        "plus ../shared/seed and every site folder of ../shared/corpus when they exist.",
        show_default=False,
    ),
]
SeedOption = Annotated[
    int,
    typer.Option(
        metavar="N", help="Random seed of the evaluation folds: same data + seed = same numbers."
    ),
]
SiteOption = Annotated[
    str | None,
    typer.Option(
        "--site",
        metavar="NAME",
        help="The site of every record read (for inputs whose folder does not name it: a feed "
        "dump, standard input).",
    ),
]


def _format_table(table: pd.DataFrame) -> str:
    shown = table.copy()
    for column in shown.columns:
        if column in ("n", "n_train"):
            shown[column] = shown[column].astype(int)
        elif pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    return shown.to_string()


@app.command("train")
def train_command(
    paths: TrainPaths = None,
    model: ModelOption = DEFAULT_MODEL,
    site: SiteOption = None,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base",
            metavar="MODEL",
            help="Start from this model and re-estimate only the sites of PATHS (a new site's "
            "few scored records: seconds, not a full retrain).",
        ),
    ] = None,
    min_records: Annotated[
        int,
        typer.Option("--min-records", metavar="N", help="Refuse to train on fewer scored records."),
    ] = DEFAULT_MIN_RECORDS,
    seed: SeedOption = 0,
) -> None:
    """Learn quality from every record with a numeric `quality`; save the model artifact.

    Prints the model's error on the newest 20 % of each site's records (trained on the rest)
    beside the baselines, then fits on everything, calibrates its intervals and saves. Exit status 1
    when some inputs were bad (the model is still saved), 2 when too few records are scored.
    """
    from pipeline.model.training import train_paths  # scikit-learn: loaded when needed

    with exit_codes():
        report = train_paths(
            paths or default_training_paths(),
            model,
            seed=seed,
            site=check_site(site) if site is not None else None,
            base=base,
            min_records=min_records,
            on_error=print_error,
            say=say,
        )
    if not report.holdout.empty:
        typer.echo("holdout (train on older 80 %, test on the newest 20 % of each site):")
        typer.echo(_format_table(report.holdout))
    sites = ", ".join(f"{name} ({count})" for name, count in report.metadata["sites"].items())
    typer.echo(
        f"saved {report.path} ({report.metadata['n_train']} training records; sites: {sites})"
    )
    if report.errors:
        say(f"note: {len(report.errors)} bad inputs were skipped; the model learned from the rest")
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("evaluate")
def evaluate_command(
    paths: TrainPaths = None,
    protocol: Annotated[
        list[ProtocolChoice],
        typer.Option(
            "--protocol",
            "-p",
            metavar="PROTOCOL",
            help="random (5-fold CV), time (each site's older 80 % -> its newest 20 %), "
            "provider (unseen providers), site (leave each site out), few-shot (a site's k "
            "oldest records), or all. Repeatable.",
        ),
    ] = [ProtocolChoice.random],  # noqa: B006 - typer needs a literal default
    site: SiteOption = None,
    shots: Annotated[
        str,
        typer.Option(
            "--shots",
            metavar="K,K,...",
            help="few-shot: the numbers of a site's records to train on.",
        ),
    ] = ",".join(map(str, DEFAULT_SHOTS)),
    level: Annotated[
        float,
        typer.Option("--level", metavar="P", help="Coverage level of the intervals evaluated."),
    ] = DEFAULT_LEVEL,
    seed: SeedOption = 0,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", metavar="FILE", help="Write metrics as JSON to this file."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", help="Folder for PNG plots and a Markdown summary of the evaluation."
        ),
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
            seed=seed,
            strict_related=strict_related,
            level=_level(level),
            shots=_shots(shots),
            site=check_site(site) if site is not None else None,
            json_out=json_file,
            report_dir=report,
            on_error=print_error,
            say=say,
        )
    typer.echo(_format_table(summary_table(results).set_index(["protocol", "estimator"])))
    for name, result in results.items():
        if name in ("site", "few-shot"):
            typer.echo(f"\n{name}, per fold:")
            typer.echo(_format_table(result.fold_table()))
        classes = result.class_table()
        if len(classes):
            typer.echo(f"\n{name}, per novelty class ({result.level:g} intervals):")
            typer.echo(_format_table(classes))


def _shots(text: str) -> tuple[int, ...]:
    try:
        shots = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise UsageError(f"--shots {text!r}: give whole numbers separated by commas") from None
    if not shots or min(shots) < 0:
        raise UsageError(f"--shots {text!r}: give whole numbers of 0 or more")
    return shots


def _level(level: float) -> float:
    if not 0 < level < 1:
        raise UsageError(f"--level must be between 0 and 1, not {level}")
    return level


@app.command("inspect")
def inspect_command(model: ModelOption = DEFAULT_MODEL) -> None:
    """Print the model card: metadata, holdout metrics, intervals and top features."""
    from pipeline.artifact import describe

    with exit_codes():
        card = describe(model)
    typer.echo(card, nl=False)
