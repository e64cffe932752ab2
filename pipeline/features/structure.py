"""Structure features: images, links, type, embedded content, related entries.

Why: the scoring system adds fixed bonuses for an image and for an AMP link and scores videos
on their own scale, so these flags explain most of the variance once the provider is known.
The scored ``related`` entries of a record are inputs too (they come with the record), so their
count and quality statistics are features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.core.dtypes.cast import maybe_box_native
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

STRUCTURE_COLUMNS: tuple[str, ...] = (
    "type",
    "image_count",
    "image_width",
    "image_height",
    "amp_url",
    "cdn_amp_url",
    "web_url",
    "original_url",
    "has_featured_content",
    "related",
    "related_count",
)

# Flags computable both for a record and for one of its related entries.
ENTRY_FLAGS: tuple[str, ...] = ("has_image", "has_amp", "has_cdn_amp", "has_web_url", "is_video")


def _missing(v: object) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float):
        return v != v  # NaN (np.isnan on a Python float costs ~10x more)
    return isinstance(v, str) and not v.strip()


def _num(v: object) -> float:
    t = type(v)
    if t is float:  # the common cells first; the same results as the general line below
        return v  # type: ignore[return-value]
    if t is int:
        return float(v)  # type: ignore[arg-type]
    if v is None:
        return np.nan
    return np.nan if _missing(v) else float(v)  # type: ignore[arg-type]


_NATIVE_DTYPES = frozenset(["string", "Int64", "boolean", "Float64", "object"])


def frame_records(X: pd.DataFrame) -> list[dict[str, object]]:
    """``X.to_dict("records")``, built column-wise (same values: NA -> None, native scalars).

    ``to_dict`` walks the frame row by row through pandas' boxing; a column's ``tolist()``
    plus pandas' own ``maybe_box_native`` gives the same cells several times faster. Frames
    with other dtypes (datetimes, numpy numbers) go through ``to_dict`` itself.
    """
    if not X.columns.is_unique or any(str(d) not in _NATIVE_DTYPES for d in X.dtypes):
        return X.to_dict("records")
    names = list(X.columns)
    columns = [[maybe_box_native(v) for v in X[c].tolist()] for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def entry_flags(entry: Mapping[str, object]) -> dict[str, float]:
    """Binary structure flags of a record or related entry (dict with schema keys)."""
    count = _num(entry.get("image_count"))
    return {
        "has_image": float((count if not np.isnan(count) else 0.0) > 0),
        "has_amp": float(not _missing(entry.get("amp_url"))),
        "has_cdn_amp": float(not _missing(entry.get("cdn_amp_url"))),
        "has_web_url": float(not _missing(entry.get("web_url"))),
        "is_video": float(str(entry.get("type") or "").strip().lower() == "video"),
    }


def as_entries(value: object) -> list[Mapping[str, object]]:
    """The ``related`` cell as a list of dicts (missing/NaN -> [])."""
    if type(value) is list or isinstance(value, list | tuple | np.ndarray):
        return [e for e in value if type(e) is dict or isinstance(e, Mapping)]
    return []


def related_quality_stats(entries: Sequence[Mapping[str, object]]) -> dict[str, float]:
    """Count and quality summary of a record's scored related entries."""
    q = np.asarray([_num(e.get("quality")) for e in entries], dtype=float)
    q = q[~np.isnan(q)]
    has = len(q) > 0
    return {
        "related_n": float(len(entries)),
        "related_scored_n": float(len(q)),
        "related_q_mean": float(q.mean()) if has else np.nan,
        "related_q_min": float(q.min()) if has else np.nan,
        "related_q_max": float(q.max()) if has else np.nan,
        "related_q_std": float(q.std()) if len(q) > 1 else np.nan,
        "related_share_video": float(np.mean([entry_flags(e)["is_video"] for e in entries]))
        if entries
        else np.nan,
    }


def _is_missing_text(v: object) -> bool:
    """_missing for the common cells (None/str) without the float/NA checks; else _missing."""
    if v is None:
        return True
    if type(v) is str:
        return not v.strip()
    return _missing(v)


def _row_values(rec: Mapping[str, object]) -> list[float]:
    """``StructureFeatures._row(rec)`` values in its key order, without the dicts.

    The same arithmetic as entry_flags / related_quality_stats (quality mean/std stay numpy
    reductions, so the floats are identical).
    """
    get = rec.get
    count = _num(get("image_count"))
    w, h = _num(get("image_width")), _num(get("image_height"))
    featured = get("has_featured_content")
    entries = as_entries(get("related"))
    out = [
        float((count if not np.isnan(count) else 0.0) > 0),
        float(not _is_missing_text(get("amp_url"))),
        float(not _is_missing_text(get("cdn_amp_url"))),
        float(not _is_missing_text(get("web_url"))),
        float(str(get("type") or "").strip().lower() == "video"),
        float(not _is_missing_text(get("original_url"))),
        count,
        w,
        h,
        w * h,
        w / h if h and not np.isnan(h) and h > 0 else np.nan,
        float(bool(featured) and not _missing(featured)),
        float(len(entries)),
    ]
    if not entries:
        out += [0.0, np.nan, np.nan, np.nan, np.nan, np.nan]
        return out
    qs = [_num(e.get("quality")) for e in entries]
    q = [v for v in qs if not np.isnan(v)]
    n = len(q)
    videos = sum(str(e.get("type") or "").strip().lower() == "video" for e in entries)
    if n:
        arr = np.asarray(q, dtype=float)
        out += [
            float(n),
            float(arr.mean()),
            float(min(q)),
            float(max(q)),
            float(arr.std()) if n > 1 else np.nan,
        ]
    else:
        out += [0.0, np.nan, np.nan, np.nan, np.nan]
    out.append(videos / len(entries))
    return out


def arrow_strings(s: pd.Series) -> list[str | None] | None:
    """A pyarrow-backed string column as str/None cells (missing -> None, as frame_records).

    ``to_pylist`` on the arrow data is several times faster than ``tolist`` plus replacing
    NA; None when the column is not arrow strings.
    """
    data = getattr(s.array, "_pa_array", None)
    if data is None or not isinstance(s.dtype, pd.StringDtype):
        return None
    if not isinstance(data, pa.ChunkedArray | pa.Array) or not (
        pa.types.is_string(data.type) or pa.types.is_large_string(data.type)
    ):
        return None
    return data.to_pylist()


# Cells maybe_box_native returns unchanged (checked by type first: the common case is cheap).
_PLAIN = frozenset([list, dict, str, tuple, type(None)])


def column_values(X: pd.DataFrame, name: str) -> list[object]:
    """One column of :func:`frame_records` (``rec.get(name)`` of every row) as a list."""
    if name not in X.columns:
        return [None] * len(X)
    s = X[name]
    strings = arrow_strings(s)
    if strings is not None:
        return strings
    values = s.tolist()
    if s.dtype == object:  # numpy scalars may hide in object columns: box as to_dict does
        return [v if type(v) in _PLAIN else maybe_box_native(v) for v in values]
    if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and s.hasnans:
        return [None if v is pd.NA else v for v in values]  # maybe_box_native(NA) is None
    return values


def column_numbers(X: pd.DataFrame, name: str) -> np.ndarray:
    """``_num(rec.get(name))`` of every row as a float array."""
    if name in X.columns:
        s = X[name]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray([_num(v) for v in column_values(X, name)], dtype=float).reshape(-1)


def _is_video(v: object) -> bool:
    return str(v or "").strip().lower() == "video"


def _related_block(related: list[object]) -> np.ndarray:
    """The related_* columns of :func:`_row_values` for every row, (n, 7).

    Entries are read row by row (they are dicts), but the quality mean and std are taken per
    group of rows with the same number of scored entries, as rows of one 2-D array: numpy
    reduces each row exactly as it reduces that row alone.
    """
    n = len(related)
    out = np.zeros((n, 7), dtype=float)
    out[:, 2:] = np.nan
    by_count: dict[int, tuple[list[int], list[list[float]]]] = {}
    for i, value in enumerate(related):
        entries = as_entries(value)
        if not entries:
            continue
        get_q = [_num(e.get("quality")) for e in entries]
        q = [v for v in get_q if not np.isnan(v)]
        videos = sum(str(e.get("type") or "").strip().lower() == "video" for e in entries)
        out[i, 0] = len(entries)
        out[i, 1] = len(q)
        out[i, 6] = videos / len(entries)
        if q:
            out[i, 3] = min(q)
            out[i, 4] = max(q)
            rows, values = by_count.setdefault(len(q), ([], []))
            rows.append(i)
            values.append(q)
    for count, (rows, values) in by_count.items():
        Q = np.asarray(values, dtype=float)
        out[rows, 2] = Q.mean(axis=1)
        if count > 1:
            out[rows, 5] = Q.std(axis=1)
    return out


class StructureFeatures(TransformerMixin, BaseEstimator):
    """Image count/size/aspect, link presence, video vs article, embeds, related stats."""

    def fit(self, X: pd.DataFrame, y: object = None) -> StructureFeatures:
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.feature_names_out_ = np.asarray(list(self._row({}).keys()), dtype=object)
        return self

    @staticmethod
    def _row(rec: Mapping[str, object]) -> dict[str, float]:
        flags = entry_flags(rec)
        w, h = _num(rec.get("image_width")), _num(rec.get("image_height"))
        featured = rec.get("has_featured_content")
        out = {
            **flags,
            "has_original_url": float(not _missing(rec.get("original_url"))),
            "image_count": _num(rec.get("image_count")),
            "image_width": w,
            "image_height": h,
            "image_area": w * h,
            "image_aspect": w / h if h and not np.isnan(h) and h > 0 else np.nan,
            "has_featured_content": float(bool(featured) and not _missing(featured)),
        }
        out.update(related_quality_stats(as_entries(rec.get("related"))))
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        if not X.columns.is_unique:
            return self._transform_rows(X)
        n = len(X)
        out = np.empty((n, len(self.feature_names_out_)), dtype=float)
        count = column_numbers(X, "image_count")
        w, h = column_numbers(X, "image_width"), column_numbers(X, "image_height")
        out[:, 0] = np.where(np.isnan(count), 0.0, count) > 0
        for col, name in ((1, "amp_url"), (2, "cdn_amp_url"), (3, "web_url"), (5, "original_url")):
            out[:, col] = [not _is_missing_text(v) for v in column_values(X, name)]
        out[:, 4] = [_is_video(v) for v in column_values(X, "type")]
        out[:, 6] = count
        out[:, 7] = w
        out[:, 8] = h
        out[:, 9] = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, 10] = np.where(h > 0, w / np.where(h > 0, h, 1.0), np.nan)
        featured = column_values(X, "has_featured_content")
        out[:, 11] = [bool(f) and not _missing(f) for f in featured]
        out[:, 12:] = _related_block(column_values(X, "related"))
        return out

    def _transform_rows(self, X: pd.DataFrame) -> np.ndarray:
        """The record-by-record definition (kept for frames with repeated column names)."""
        records = frame_records(X)
        out = np.empty((len(records), len(self.feature_names_out_)), dtype=float)
        if records:
            out[:] = [_row_values(r) for r in records]
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()
