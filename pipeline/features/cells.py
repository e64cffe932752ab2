"""Reading cells of a record frame: the helpers every feature step shares.

A frame can come from the loader (typed columns) or from a caller (any dtypes, missing values
as None, NaN or NA); these turn any of them into plain Python values the same way, so a
feature never depends on how its input frame was built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline._compat import arrow_string_cells, box_native


def missing(value: object) -> bool:
    """None, NA, NaN, or text that is only blanks."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float):
        return value != value  # NaN (np.isnan on a Python float costs ~10x more)
    return isinstance(value, str) and not value.strip()


def present(value: object) -> bool:
    """Not :func:`missing` (a link, a flag): the common cells (None, text) checked first."""
    if value is None:
        return False
    if type(value) is str:
        return bool(value.strip())
    return not missing(value)


def number(value: object) -> float:
    """A cell as a float: NaN when missing."""
    kind = type(value)
    if kind is float:  # the common cells first; the same results as the general line below
        return value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if value is None:
        return np.nan
    return np.nan if missing(value) else float(value)  # type: ignore[arg-type]


def one_text(value: object) -> str:
    """A cell as text: "" when missing, so every statistic is defined."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def is_video(value: object) -> bool:
    """Whether a ``type`` cell says video (any case, blanks around)."""
    return str(value or "").strip().lower() == "video"


def text_cells(values: pd.Series | Sequence[object]) -> list[str]:
    """:func:`one_text` of every cell of a column."""
    if isinstance(values, pd.Series):  # tolist boxes like iteration, in one C-level pass
        strings = arrow_string_cells(values)
        if strings is not None:
            return [v if v is not None else "" for v in strings]
        return [v if type(v) is str else one_text(v) for v in values.tolist()]
    return [
        "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)
        for v in values
    ]


def topic_lists(values: pd.Series | Sequence[object]) -> list[list[str]]:
    """Every ``topics`` cell as a list of non-blank strings (anything else: [])."""
    out: list[list[str]] = []
    for v in values:
        if isinstance(v, list | tuple | np.ndarray):
            out.append([str(t) for t in v if t is not None and str(t).strip()])
        else:
            out.append([])
    return out


def entries(value: object) -> list[Mapping[str, object]]:
    """A ``related`` cell as a list of dicts (missing/NaN -> [])."""
    if type(value) is list or isinstance(value, list | tuple | np.ndarray):
        return [e for e in value if type(e) is dict or isinstance(e, Mapping)]
    return []


_NATIVE_DTYPES = frozenset(["string", "Int64", "boolean", "Float64", "object"])
# Cells box_native returns unchanged (checked by type first: the common case is cheap).
_PLAIN = frozenset([list, dict, str, tuple, type(None)])


def frame_records(X: pd.DataFrame) -> list[dict[str, object]]:
    """``X.to_dict("records")``, built column-wise (same values: NA -> None, native scalars).

    ``to_dict`` walks the frame row by row through pandas' boxing; a column's ``tolist()``
    boxed the way ``to_dict`` boxes gives the same cells several times faster. Frames with
    other dtypes (datetimes, numpy numbers) go through ``to_dict`` itself.
    """
    if not X.columns.is_unique or any(str(d) not in _NATIVE_DTYPES for d in X.dtypes):
        return X.to_dict("records")
    names = list(X.columns)
    columns = [[box_native(v) for v in X[c].tolist()] for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def column_values(X: pd.DataFrame, name: str) -> list[object]:
    """One column of :func:`frame_records` (``record.get(name)`` of every row) as a list."""
    if name not in X.columns:
        return [None] * len(X)
    s = X[name]
    strings = arrow_string_cells(s)
    if strings is not None:
        return strings
    values = s.tolist()
    if s.dtype == object:  # numpy scalars may hide in object columns: box as to_dict does
        return [v if type(v) in _PLAIN else box_native(v) for v in values]
    if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and s.hasnans:
        return [None if v is pd.NA else v for v in values]  # box_native(NA) is None
    return values


def column_numbers(X: pd.DataFrame, name: str) -> np.ndarray:
    """:func:`number` of every cell of a column, as a float array."""
    if name in X.columns:
        s = X[name]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray([number(v) for v in column_values(X, name)], dtype=float).reshape(-1)


def column_texts(X: pd.DataFrame, name: str) -> list[str]:
    """:func:`text_cells` of a column, "" for every row when the frame has no such column."""
    return text_cells(X[name]) if name in X.columns else [""] * len(X)
