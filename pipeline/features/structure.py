"""Structure features: images, links, type, embedded content, related entries.

Why: the scoring system adds fixed bonuses for an image and for an AMP link and scores videos
on their own scale, so these flags explain most of the variance once the provider is known.
The scored ``related`` entries of a record are inputs too (they come with the record), so their
count and quality statistics are features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.features.cells import (
    column_numbers,
    column_values,
    entries,
    is_video,
    missing,
    number,
    present,
)

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
RELATED_FEATURES: tuple[str, ...] = (
    "related_n",
    "related_scored_n",
    "related_q_mean",
    "related_q_min",
    "related_q_max",
    "related_q_std",
    "related_share_video",
)
STRUCTURE_FEATURES: tuple[str, ...] = (
    "has_image",
    "has_amp",
    "has_cdn_amp",
    "has_web_url",
    "is_video",
    "has_original_url",
    "image_count",
    "image_width",
    "image_height",
    "image_area",
    "image_aspect",
    "has_featured_content",
    *RELATED_FEATURES,
)


def related_block(related: list[object]) -> np.ndarray:
    """The :data:`RELATED_FEATURES` of every row's related entries, (n, 7).

    Entries are read row by row (they are dicts), but the quality mean and std are taken per
    group of rows with the same number of scored entries, as rows of one 2-D array: numpy
    reduces each row exactly as it reduces that row alone.
    """
    n = len(related)
    out = np.zeros((n, len(RELATED_FEATURES)), dtype=float)
    out[:, 2:] = np.nan
    by_count: dict[int, tuple[list[int], list[list[float]]]] = {}
    for i, value in enumerate(related):
        listed = entries(value)
        if not listed:
            continue
        scores = [number(e.get("quality")) for e in listed]
        q = [v for v in scores if not np.isnan(v)]
        out[i, 0] = len(listed)
        out[i, 1] = len(q)
        out[i, 6] = sum(is_video(e.get("type")) for e in listed) / len(listed)
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
        self.feature_names_out_ = np.asarray(STRUCTURE_FEATURES, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        count = column_numbers(X, "image_count")
        w, h = column_numbers(X, "image_width"), column_numbers(X, "image_height")
        with np.errstate(divide="ignore", invalid="ignore"):
            aspect = np.where(h > 0, w / np.where(h > 0, h, 1.0), np.nan)
        values = {
            "has_image": np.where(np.isnan(count), 0.0, count) > 0,
            **{
                f"has_{name}": [present(v) for v in column_values(X, column)]
                for name, column in (
                    ("amp", "amp_url"),
                    ("cdn_amp", "cdn_amp_url"),
                    ("web_url", "web_url"),
                    ("original_url", "original_url"),
                )
            },
            "is_video": [is_video(v) for v in column_values(X, "type")],
            "image_count": count,
            "image_width": w,
            "image_height": h,
            "image_area": w * h,
            "image_aspect": aspect,
            "has_featured_content": [
                bool(f) and not missing(f) for f in column_values(X, "has_featured_content")
            ],
        }
        out = np.empty((len(X), len(self.feature_names_out_)), dtype=float)
        for j, name in enumerate(self.feature_names_out_[: -len(RELATED_FEATURES)]):
            out[:, j] = values[name]
        out[:, -len(RELATED_FEATURES) :] = related_block(column_values(X, "related"))
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()
