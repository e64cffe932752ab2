"""`score load` as one library call: records from anywhere, written as one table."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from pipeline.choices import DuplicateRule
from pipeline.errors import ErrorReport, LoadError, OutputWriteError, one_line
from pipeline.io.outputs import TableWriter, check_outputs, run_outputs, tee_errors
from pipeline.load.frame import load_records


@dataclass
class ExportSummary:
    """What a load wrote: the records (scored, duplicates) and the bad inputs beside them."""

    written: bool = True  # False: no input could be read, so no table was written
    rows: int = 0
    scored: int = 0
    duplicates: int = 0
    errors: ErrorReport = field(default_factory=ErrorReport)


def export(
    paths: Iterable[str],
    out: str | os.PathLike[str] | None = None,
    *,
    errors_out: str | os.PathLike[str] | None = None,
    related: bool = False,
    duplicates: DuplicateRule = DuplicateRule.mark,
    strict: bool = False,
    jobs: int | None = None,
    on_error: Callable[[LoadError], None] | None = None,
) -> ExportSummary:
    """Load every record of ``paths`` and write them to ``out`` (JSON Lines on standard output
    when None), the error report to ``errors_out``.

    Outputs are checked before anything is read; the table is written atomically, so a crash
    or an interrupt leaves no partial or temporary file. Raises :class:`StrictModeError`
    (``strict``) or :class:`WorkerDiedError` with nothing written, and
    :class:`OutputWriteError` when an output cannot be written.
    """
    check_outputs(paths := list(paths), out=out, errors=errors_out)
    with run_outputs(out, errors_out) as (writer, report):
        result = load_records(
            paths,
            duplicates=duplicates,
            jobs=jobs,
            strict=strict,
            expand_related=related,
            on_error=tee_errors(report, on_error),
        )
        if len(result.frame) or not result.errors:
            _write(writer, result.frame)
        else:  # no input could be read: nothing to write, no empty file
            writer.abort()
    frame = result.frame
    return ExportSummary(
        written=bool(len(frame)) or not result.errors,
        rows=len(frame),
        scored=int(frame["quality"].notna().sum()),
        duplicates=int(frame["is_duplicate"].sum()),
        errors=result.errors,
    )


def _write(writer: TableWriter, frame: pd.DataFrame) -> None:
    """Write and close the output: a failure leaves nothing half-written."""
    try:
        with writer:
            writer.write(frame)
    except BrokenPipeError:  # the reader of standard output left: the caller's call
        raise
    except OSError as exc:
        where = writer.path or "standard output"
        raise OutputWriteError(f"cannot write {where}: {one_line(exc)}") from None
