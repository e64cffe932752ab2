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
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _num(v: object) -> float:
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
    if isinstance(value, list | tuple | np.ndarray):
        return [e for e in value if isinstance(e, Mapping)]
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
        records = frame_records(X)
        out = np.empty((len(records), len(self.feature_names_out_)), dtype=float)
        if records:
            out[:] = [_row_values(r) for r in records]
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()
