"""Write frames as CSV, JSON Lines or Parquet, batch by batch, atomically.

Used by `score load` and `score predict`. The format comes from the file extension; without a
file, JSON Lines go to standard output. A file is written under a temporary name in the same
folder and renamed into place only when complete, so a crash never leaves half an output.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import LoadError, OutputWriteError, UsageError, one_line
from pipeline.io.atomic import AtomicFile, BusyError
from pipeline.load.globs import has_magic, literal_root
from pipeline.schema import RELATED_KEYS

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet"}


class OutputError(UsageError):
    """The output cannot be written (unknown extension, folder missing...)."""


def format_of(path: str | os.PathLike[str] | None) -> str:
    if path is None or str(path) == "-":
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OutputError(f"{path}: unknown output format '{suffix}' (use .csv, .jsonl, .parquet)")
    return FORMATS[suffix]


def check_output_path(path: str | os.PathLike[str] | None) -> None:
    """Refuse an output that cannot be written, before any input is read: an unknown
    extension, or a folder that does not exist (:class:`OutputError`)."""
    format_of(path)
    if path is not None and str(path) != "-":
        folder = Path(path).parent
        if not folder.is_dir():
            raise OutputError(f"{path}: folder {folder} does not exist")


def check_outputs(paths: Iterable[str], **outputs: str | os.PathLike[str] | None) -> None:
    """Refuse outputs that collide, before any input is read (:class:`OutputError`): each a
    writable path (:func:`check_output_path`), no two the same file, none an input or inside
    an input folder or pattern (it would replace the input, or be read back as input by the
    next run). ``outputs``: option name (``out``, ``errors``) -> path or None."""
    named = {
        f"--{flag}": Path(path)
        for flag, path in outputs.items()
        if path is not None and str(path) != "-"
    }
    for path in named.values():
        check_output_path(path)
    real = {flag: _real(path) for flag, path in named.items()}
    flags = list(real)
    for i, flag in enumerate(flags):
        for other in flags[i + 1 :]:
            if real[flag] == real[other]:
                raise OutputError(f"{flag} and {other} name the same file {named[flag]}")
    inputs = [os.fspath(p) for p in paths if os.fspath(p) != "-"]
    for flag, path in real.items():
        for given in inputs:
            if _collides(path, given):
                raise OutputError(
                    f"{flag} {named[flag]} is one of the inputs or inside one ({given}): "
                    "it would replace or be read as input; write it elsewhere"
                )


def _real(path: Path) -> str:
    """The path a file would have once written: its folder's links resolved."""
    return os.path.join(os.path.realpath(path.parent), path.name)


def _collides(output: str, given: str) -> bool:
    if os.path.isdir(given):
        folder = os.path.realpath(given)
        return os.path.commonpath([folder, output]) == folder
    if os.path.lexists(given):
        return output == os.path.realpath(given)
    if has_magic(given):
        pattern = os.path.join(os.path.realpath(literal_root(given)), "")
        rest = os.path.relpath(given, literal_root(given))
        return output.startswith(pattern) and fnmatch.fnmatch(output, pattern + rest)
    return False


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "isoformat"):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_OBJECT = np.dtype(object)

_RELATED_TYPES = {"published_at": pa.timestamp("ns", tz="UTC"), "quality": pa.float64()}
_RELATED_TYPES.update(dict.fromkeys(("image_count", "image_width", "image_height"), pa.int64()))
# Parquet holds the schema's list columns as lists (text formats hold them as JSON).
LIST_TYPES = {
    "topics": pa.list_(pa.string()),
    "related": pa.list_(
        pa.struct([(key, _RELATED_TYPES.get(key, pa.string())) for key in RELATED_KEYS])
    ),
}


def _plain_list(value: Any) -> list[Any] | None:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value if isinstance(value, list) else None


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` for Parquet: ``topics`` and ``related`` as list columns, other nested values
    as JSON text."""
    lists = [name for name in LIST_TYPES if name in frame.columns] if _plain(frame) else []
    table = pa.Table.from_pandas(_encode_nested(frame.drop(columns=lists)), preserve_index=False)
    for name in sorted(lists, key=frame.columns.get_loc):
        values = [_plain_list(v) for v in frame[name]]
        try:
            column = pa.array(values, type=LIST_TYPES[name])
        except (pa.ArrowException, TypeError, ValueError):  # not the schema's shape: JSON text
            column = pa.array(_encode_nested(frame[[name]])[name], type=pa.string())
        table = table.add_column(frame.columns.get_loc(name), name, column)
    return table


def _plain(frame: pd.DataFrame) -> bool:
    return frame.columns.is_unique and all(type(name) is str for name in frame.columns)


def _encode_nested(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts (topics, related) as JSON text, so every format holds them losslessly;
    arrays too (list columns of a frame read back from Parquet hold numpy arrays)."""
    nested = [i for i, dtype in enumerate(frame.dtypes) if dtype == _OBJECT]  # by position:
    if not nested:  # a name may be repeated
        return frame
    frame = frame.copy()
    for i in nested:
        frame.isetitem(
            i,
            [
                json.dumps(v, default=_json_default, ensure_ascii=False)
                if isinstance(v, list | dict | np.ndarray)
                else v
                for v in frame.iloc[:, i]
            ],
        )
    return frame


_ENCODE = json.JSONEncoder(default=_json_default, ensure_ascii=False).encode


def _python_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of Python values, missing ones (NA, NaN, NaT) as None."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def frame_to_jsonl(frame: pd.DataFrame) -> str:
    """One JSON object per row; missing values as null, times as ISO 8601."""
    return "".join(_ENCODE(row) + "\n" for row in _python_rows(frame))


# A cell holding one of these is quoted (its quotes doubled). A lone CR is among them: readers
# that split lines on any line end would otherwise cut the row in two.
_CSV_NEEDS_QUOTES = re.compile('[,"\n\r]')


def _csv_cell(value: Any, *, alone: bool) -> str:
    """One cell's text. An empty cell alone on its row is quoted, or the row would be blank."""
    if value is None:
        text = ""
    elif isinstance(value, list | dict | np.ndarray):
        text = json.dumps(value, default=_json_default, ensure_ascii=False)
    elif isinstance(value, pd.Timestamp):
        text = value.isoformat()
    elif isinstance(value, float | np.floating):
        text = repr(float(value))
    else:
        text = str(value)
    if _CSV_NEEDS_QUOTES.search(text) or (alone and not text):
        return '"' + text.replace('"', '""') + '"'
    return text


def frame_to_csv(frame: pd.DataFrame, *, header: bool = True) -> str:
    """CSV text (see :func:`write_csv`)."""
    buffer = io.StringIO()
    write_csv(frame, buffer, header=header)
    return buffer.getvalue()


def write_csv(frame: pd.DataFrame, stream: IO[str], *, header: bool = True) -> None:
    """Write ``frame`` as CSV: rows end in LF; missing values are empty; lists and dicts are
    JSON; times are ISO 8601; a cell holding a comma, a quote, LF or CR is quoted."""
    if not len(frame.columns):
        return
    alone = len(frame.columns) == 1
    lines = []
    if header:
        lines.append(",".join(_csv_cell(str(name), alone=alone) for name in frame.columns))
    for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
        lines.append(",".join(_csv_cell(value, alone=alone) for value in row))
    if lines:
        stream.write("\n".join(lines) + "\n")


class TableWriter:
    """Append frames to one output; ``close()`` renames the finished file into place.

    The file is written under a locked temporary name beside it (:class:`AtomicFile`), so a
    crash never leaves half an output, and a killed run's leftover is taken over next time.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None, *, decimals: Mapping[str, int] | None = None
    ) -> None:
        self.format = format_of(path)
        self.decimals = dict(decimals or {})  # text formats only: Parquet keeps full precision
        self.path = None if path is None or str(path) == "-" else Path(path)
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._header = True
        self._stream: IO[str] | None = None
        self._file: AtomicFile | None = None
        if self.path is None:
            self._stream = sys.stdout
            return
        folder = self.path.parent
        if not folder.is_dir():
            raise OutputError(f"{self.path}: folder {folder} does not exist")
        try:
            self._file = AtomicFile(self.path)
        except BusyError as exc:
            raise OutputError(str(exc)) from None
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write there ({exc.strerror or exc})") from None
        if self.format != "parquet":
            try:
                self._stream = io.TextIOWrapper(self._file.file, encoding="utf-8", newline="")
            except BaseException:  # (a stop signal, say): the caller never gets the writer
                self._file.abort()
                raise

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows. Raises :class:`OutputError` for repeated column names in
        JSON Lines or Parquet (an object or a schema holds each name once; CSV writes them)."""
        if self.format != "csv":
            self._check_names(frame)
        if self.decimals and self.format != "parquet":
            frame = frame.round({k: v for k, v in self.decimals.items() if k in frame.columns})
        if self.format == "jsonl":
            assert self._stream is not None
            self._stream.write(frame_to_jsonl(frame))
        elif self.format == "csv":
            assert self._stream is not None
            write_csv(frame, self._stream, header=self._header)
            self._header = False
        else:
            table = _arrow_table(frame)
            if self._parquet is None:
                self._schema = table.schema
                assert self._file is not None
                self._parquet = pq.ParquetWriter(self._file.file, self._schema)
            self._parquet.write_table(table.cast(self._schema))
        self.rows += len(frame)

    def _check_names(self, frame: pd.DataFrame) -> None:
        names = pd.Index([str(name) for name in frame.columns])  # the names as written
        if not names.is_unique:
            repeated = dict.fromkeys(names[names.duplicated()])
            where = self.path if self.path is not None else "standard output"
            raise OutputError(
                f"{where}: repeated column names ({', '.join(repeated)}): "
                f"{_FORMAT_NAMES[self.format]} holds each name once"
            )

    def close(self) -> None:
        """Finish the output: flush, fsync, and atomically rename it into place."""
        if self._file is None:
            if self._stream is not None:
                self._stream.flush()
            return
        if self.format == "parquet":
            if self._parquet is None:  # nothing written: an empty file with no columns
                pq.write_table(pa.table({}), self._file.file)
            else:
                self._parquet.close()
        elif self._stream is not None:
            self._stream.flush()
            self._stream.detach()  # the file is the atomic file's to close
            self._stream = None
        self._file.commit()
        self._file = None

    def abort(self) -> None:
        """Drop the partial output; the user's existing file (if any) is left as it was.

        Never raises for a failing close (on a full disk the close's flush fails as the
        write did): the temporary file is removed whatever happens.
        """
        try:
            if self._parquet is not None:
                with contextlib.suppress(OSError, pa.ArrowException):
                    self._parquet.close()
            if self._stream is not None and self._file is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._stream.detach()
                self._stream = None
        finally:
            self._parquet = None
            if self._file is not None:
                self._file.abort()
            self._file = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:  # the flush, fsync or rename failed: no partial file is left
            self.abort()
            raise


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str] | None) -> None:
    """Write one whole frame (see :class:`TableWriter`)."""
    with TableWriter(path) as writer:
        writer.write(frame)


ERROR_COLUMNS = ["source", "reason"]


def write_errors(path: str | os.PathLike[str], errors: Iterable[LoadError]) -> None:
    """The error report as a table (source, reason), JSON Lines unless the extension says else."""
    with ErrorWriter(path) as writer:
        for error in errors:
            writer.add(error)


class ErrorWriter:
    """The error report written as errors are found, a few hundred rows at a time: a dump of
    millions of bad lines streams to the file instead of being held. Atomic like any output
    (:class:`TableWriter`); ``close()`` puts it in place, with the header alone if no error."""

    FLUSH_ROWS = 500

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.table = TableWriter(path)
        self.pending: list[dict[str, str]] = []

    def add(self, error: LoadError) -> None:
        self.pending.append(error.to_dict())
        if len(self.pending) >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.pending or not self.table.rows:
            self.table.write(pd.DataFrame(self.pending, columns=ERROR_COLUMNS))
        self.pending = []

    def close(self) -> None:
        """Put the report in place; :class:`OutputWriteError` (one line) if it cannot be."""
        try:
            self._flush()
            self.table.close()
        except OSError as exc:
            self.table.abort()
            raise OutputWriteError(f"cannot write the error report: {one_line(exc)}") from None
        except BaseException:
            self.table.abort()
            raise

    def abort(self) -> None:
        self.table.abort()

    def __enter__(self) -> ErrorWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


def tee_errors(
    report: ErrorWriter | None, on_error: Callable[[LoadError], None] | None
) -> Callable[[LoadError], None] | None:
    """``on_error`` that first writes each error to ``report`` (the ``--errors`` file)."""
    if report is None:
        return on_error

    def both(error: LoadError) -> None:
        try:
            report.add(error)
        except OSError as exc:
            raise OutputWriteError(f"cannot write the error report: {one_line(exc)}") from None
        if on_error is not None:
            on_error(error)

    return both


@contextlib.contextmanager
def run_outputs(
    out: str | os.PathLike[str] | None,
    errors_out: str | os.PathLike[str] | None,
    *,
    decimals: Mapping[str, int] | None = None,
) -> Iterator[tuple[TableWriter, ErrorWriter | None]]:
    """The table and the error report of one command's run. Whatever stops the block (a bad
    input under ``--strict``, a crash, a stop) drops both partial files; a block that ends
    puts the report in place. The table is the caller's to close (or abort, when nothing
    could be read)."""
    writer = TableWriter(out, decimals=decimals)
    try:
        report = ErrorWriter(errors_out) if errors_out is not None else None
    except BaseException:
        writer.abort()
        raise
    try:
        yield writer, report
    except BaseException:
        writer.abort()
        if report is not None:
            report.abort()
        raise
    if report is not None:
        report.close()
