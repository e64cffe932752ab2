"""`score predict` as one library call: :func:`run` scores every record and writes one table.

The order matters and is the same for every caller (the CLI, a notebook, a program): the
options are checked and the model's digest verified before any input is read or any output
or write-back file is opened; then the engine scores the input batch by batch, and each
batch is written (and written back) and dropped, so memory stays flat however large the dump.
"""

from __future__ import annotations

import gc
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.artifact import Artifact, ArtifactError, load_artifact, read_artifact
from pipeline.choices import DEFAULT_BATCH_SIZE, DEFAULT_LEVEL, DEFAULT_TOP, Engine, check_site
from pipeline.errors import (
    ErrorReport,
    LoadError,
    OutputWriteError,
    ScoringError,
    UsageError,
    one_line,
)
from pipeline.features.observations import record_observations
from pipeline.io.outputs import TableWriter, check_outputs, run_outputs, tee_errors
from pipeline.io.writeback import WriteBackPlan, WriteBackStats, write_back_batch
from pipeline.load.frame import iter_batches
from pipeline.load.normalize import RECORD_KEYS
from pipeline.load.walk import named_folders
from pipeline.model.data import with_site
from pipeline.model.estimator import scoring_model
from pipeline.model.site_rule import SiteRuleRegressor
from pipeline.predict.engines import dask_batches, local_batches
from pipeline.predict.evidence import Evidence, gather
from pipeline.predict.explain import Explainer, typical_record
from pipeline.predict.scorer import (
    NOVELTY,
    PRED,
    SCORE_DECIMALS,
    ScoredBatch,
    Scorer,
    check_model_predicts,
)

DEFAULT_WRITE_FIELD = PRED
REFERENCE_ROWS = 512  # records the fallback explanation reference is taken from
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class PredictOptions:
    """How `score predict` scores and writes (every option of the command but its paths).

    ``batch_size``: files, or JSON Lines lines, parsed and scored per task, on either engine.
    ``write_back``: set the prediction in each Markdown file's front matter, as
    ``write_field`` (default: ``quality`` with ``only_missing``, else ``quality_pred``).
    ``freeze_heap``: the caller's process ends after the run (the `score` script), so what it
    holds may be frozen out of the garbage collector's sight. ``site``: every record's site
    (for inputs whose folder does not name it).
    """

    only_missing: bool = False
    write_back: bool = False
    write_field: str | None = None
    interval: bool = False
    level: float = DEFAULT_LEVEL
    explain: bool = False
    top: int = DEFAULT_TOP
    engine: Engine = Engine.local
    scheduler: str | None = None
    jobs: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    freeze_heap: bool = False
    site: str | None = None

    def write_back_plan(self, roots: Sequence[str] = ()) -> WriteBackPlan | None:
        """What write-back sets (in the folders ``roots`` only), or None; raises
        :class:`UsageError` for a bad combination."""
        field = self.write_field or ("quality" if self.only_missing else DEFAULT_WRITE_FIELD)
        if self.write_field is not None and not self.write_back:
            raise UsageError("--write-field needs --write-back")
        if not _FIELD_NAME.match(field):
            raise UsageError(f"--write-field {field!r} is not a valid front matter key")
        if field in RECORD_KEYS and field != "quality":
            raise UsageError(
                f"--write-field {field!r} is a field the records hold; choose a new name "
                f"(default {DEFAULT_WRITE_FIELD})"
            )
        if self.write_back and field == "quality" and not self.only_missing:
            raise UsageError(
                "--write-field quality would overwrite known scores; add --only-missing"
            )
        return WriteBackPlan(field, self.only_missing, tuple(roots)) if self.write_back else None

    def check(self, roots: Sequence[str] = ()) -> WriteBackPlan | None:
        """Refuse bad options before anything is read; returns the write-back plan."""
        plan = self.write_back_plan(roots)
        if not 0 < self.level < 1:
            raise UsageError(f"--level must be between 0 and 1, not {self.level}")
        if self.top < 1:
            raise UsageError("--top must be at least 1")
        if self.batch_size < 1 or (self.jobs is not None and self.jobs < 1):
            raise UsageError("--batch-size and --jobs must be at least 1")
        if self.site is not None:
            check_site(self.site)
        return plan


@dataclass
class PredictSummary:
    """What a run did: rows written, records read, bad inputs, write-back counts, rows per
    novelty, and the sites placed by related entries of the input (or left unplaced)."""

    rows: int = 0
    records: int = 0
    errors: ErrorReport = field(default_factory=ErrorReport)
    write_back: WriteBackStats | None = None
    novelty: Counter[str] = field(default_factory=Counter)
    placed_sites: list[str] = field(default_factory=list)
    unread_stdin: bool = False
    written: bool = True  # False: no input could be read, so no output was written


def run(
    paths: Sequence[str],
    model: str | Path,
    out: str | Path | None = None,
    *,
    options: PredictOptions = PredictOptions(),
    errors_out: str | Path | None = None,
    on_error: Callable[[LoadError], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    progress: bool = False,
) -> PredictSummary:
    """Score every record of ``paths`` with the model at ``model``; write one row per record
    to ``out`` (JSON Lines on standard output when None) and the error report to
    ``errors_out``.

    Raises :class:`UsageError`, :class:`ArtifactError` or :class:`ScoringError` before any
    input is read or anything is written; :class:`OutputWriteError` when an output cannot be
    written (nothing half-written is left). ``on_error`` is called with each bad input as it
    is found, ``on_warning`` with each one-line warning (a model saved by other versions).
    """
    plan = options.check(named_folders(paths))
    check_outputs(paths, out=out, errors=errors_out)
    verified = _verify(Path(model))  # a missing or tampered model: refused before any input
    local = options.engine is Engine.local
    artifact = _load(Path(model), verified, on_warning)
    try:
        check_model_predicts(artifact.model)
    except ScoringError as exc:
        raise ScoringError(f"{model}: {exc}") from None
    scorer, evidence = build_scorer(artifact, paths, options)
    if options.freeze_heap:
        # What this process holds by now (modules, the model) is kept to its end: frozen, the
        # collector no longer walks it -- here, and in the workers that inherit it by fork.
        gc.freeze()
    # From here on, whatever stops the run drops the partial outputs.
    with run_outputs(out, errors_out, decimals=SCORE_DECIMALS) as (writer, report):
        if local:
            batches: Iterable[ScoredBatch] = local_batches(
                scorer, paths, batch_size=options.batch_size, jobs=options.jobs
            )
        else:
            batches = dask_batches(
                scorer,
                paths,
                scheduler=options.scheduler,
                workers=options.jobs or 2,
                chunk=options.batch_size,
            )
        summary = drive(
            batches,
            writer,
            empty=scorer.empty(),
            plan=plan,
            on_error=tee_errors(report, on_error),
            progress=progress,
        )
        if evidence is not None:
            summary.placed_sites = evidence.sites
            summary.unread_stdin = evidence.unread_stdin
    return summary


def _verify(path: Path) -> bytes:
    """The artifact's bytes once its digest checks out (nothing is unpickled yet)."""
    try:
        return read_artifact(path)
    except FileNotFoundError:
        raise ArtifactError(f"{path}: model not found (train one with `score train`)") from None


def _load(path: Path, verified: bytes, on_warning: Callable[[str], None] | None) -> Artifact:
    """Unpickle the verified artifact; version warnings go to ``on_warning`` as one line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        artifact = load_artifact(path, verified=verified)
    for warning in caught:
        if on_warning is not None:
            on_warning(" ".join(str(warning.message).split()))
    return artifact


def build_scorer(
    artifact: Artifact, paths: Sequence[str], options: PredictOptions
) -> tuple[Scorer, Evidence | None]:
    """The scorer of this run; for the site model, with what the input's related entries say
    of the sites it knows little of (read once before scoring: :mod:`.evidence`)."""
    model = artifact.model
    regressor = model[-1] if hasattr(model, "steps") else model
    scoring: Any = model
    evidence = None
    if isinstance(regressor, SiteRuleRegressor):
        evidence = gather(paths, regressor.needs_evidence, site=options.site)
        scoring = scoring_model(model, evidence.records)
    calibration = getattr(regressor, "calibration_", None)
    if options.interval and calibration is None:
        raise ScoringError(
            f"{artifact.path}: the model has no calibrated prediction intervals (retrain with "
            "`score train`)"
        )
    explainer = None
    if options.explain:
        reference = artifact.metadata.get("explain_reference")
        if not isinstance(reference, dict):
            reference = reference_from_paths(scoring, paths, options.site)
        if reference is not None:
            explainer = Explainer(scoring, reference, top=options.top)
    scorer = Scorer(
        scoring,
        only_missing=options.only_missing,
        site=options.site,
        level=options.level if options.interval else None,
        calibration=calibration,
        explainer=explainer,
    )
    return scorer, evidence


def _progress(enabled: bool) -> Any:
    """A tqdm bar on standard error (records/s, errors so far), or None when not on a terminal."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit=" rec", file=sys.stderr, dynamic_ncols=True, leave=False)


def drive(
    batches: Iterable[ScoredBatch],
    writer: TableWriter,
    *,
    empty: pd.DataFrame,
    plan: WriteBackPlan | None = None,
    on_error: Callable[[LoadError], None] | None = None,
    progress: bool = False,
) -> PredictSummary:
    """Write scored batches in order, write predictions back, report errors, show progress.

    The writer is closed (renamed into place) only when every batch went through; on any
    exception it is aborted, so no half-written output replaces an existing file.
    """
    summary = PredictSummary(write_back=WriteBackStats() if plan else None)
    bar = _progress(progress)
    try:
        with writer:
            for batch in batches:
                _take(batch, writer, summary, plan, on_error)
                if bar is not None:
                    bar.update(batch.records)
                    bar.set_postfix(errors=len(summary.errors))  # one refresh per batch
            if writer.rows == 0 and summary.errors and not summary.records:
                writer.abort()  # no input could be read: nothing to write, no empty file
                summary.written = False
            elif writer.rows == 0:
                writer.write(empty)
    except (BrokenPipeError, OutputWriteError):  # the reader of standard output left (`| head`)
        raise  # or the error report failed: the caller's call
    except OSError as exc:  # a full disk: the output is dropped, the original file kept
        where = writer.path or "standard output"
        raise OutputWriteError(f"cannot write {where}: {one_line(exc)}") from None
    finally:
        if bar is not None:
            bar.close()
        if summary.write_back is not None and summary.write_back.trees is not None:
            summary.write_back.trees.close()
    return summary


def _take(
    batch: ScoredBatch,
    writer: TableWriter,
    summary: PredictSummary,
    plan: WriteBackPlan | None,
    on_error: Callable[[LoadError], None] | None,
) -> None:
    errors = list(batch.errors)
    if len(batch.frame):
        writer.write(batch.frame)
    if plan is not None and summary.write_back is not None and len(batch.frame):
        frame = batch.frame
        errors += write_back_batch(frame["source"], frame[PRED], plan, summary.write_back)
    summary.rows += len(batch.frame)
    summary.records += batch.records
    if NOVELTY in batch.frame and len(batch.frame):
        summary.novelty.update(batch.frame[NOVELTY].dropna().astype(str))
    summary.errors += errors
    if on_error is not None:
        for error in errors:
            on_error(error)


def reference_from_paths(
    model: Any, paths: Sequence[str], site: str | None = None, rows: int = REFERENCE_ROWS
) -> dict[str, Any] | None:
    """Fallback explanation reference: the typical record among the first ``rows`` input
    records (for a model whose artifact stores none); None for standard input."""
    if "-" in paths:
        return None
    frames, have = [], 0
    for batch in iter_batches(paths, batch_size=rows, jobs=1):
        frames.append(batch.frame)
        have += len(batch.frame)
        if have >= rows:
            break
    if not have:
        return None
    frame = with_site(pd.concat(frames, ignore_index=True).head(rows), site)
    return typical_record(frame, record_observations(frame), model.predict(frame))
