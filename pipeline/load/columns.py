"""Typed columns of the schema: the form records take between the parser and a frame.

Why columns: worker processes send typed columns (pandas arrays, plain lists for the object
columns) rather than frames, since arrays and lists pickle several times faster than a
Series; the parent builds one frame per batch from merged columns.
"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd

from pipeline._compat import concat_arrays
from pipeline.load.normalize import Record
from pipeline.schema import COLUMNS


def empty_frame() -> pd.DataFrame:
    """A frame with the schema's columns and dtypes and no rows."""
    return records_to_frame([])


def records_to_frame(records: list[Record]) -> pd.DataFrame:
    """Build a frame with exactly the schema's columns, in order, with the schema's dtypes."""
    return columns_to_frame(records_to_columns(records))


def records_to_columns(records: list[Record]) -> dict[str, Any]:
    """The schema's columns of ``records``, typed (pandas arrays); object columns stay lists."""
    columns: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        values = [record.get(column) for record in records]
        if dtype.startswith("datetime64"):
            series = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
            columns[column] = series.astype(dtype).array
        elif dtype == "object":
            columns[column] = values
        else:
            columns[column] = pd.array(values, dtype=dtype)
    return columns


def merge_columns(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate the columns of several parsed chunks (lists joined, arrays concatenated)."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Any] = {}
    for name, first in parts[0].items():
        pieces = [part[name] for part in parts]
        if isinstance(first, list):
            merged[name] = list(itertools.chain.from_iterable(pieces))
        else:
            merged[name] = concat_arrays(pieces)
    return merged


def columns_to_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """The frame of typed columns (see :func:`records_to_columns`)."""
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object) if isinstance(values, list) else values
            for name, values in columns.items()
        }
    )
