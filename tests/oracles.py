"""Record-by-record definitions of the column-wise feature steps, kept only as test oracles.

The steps compute whole columns at once (table lookups, grouped reductions); these say what
each number means for one record, in the plainest code, so a test can compare the two on
tricky frames and catch a column-wise shortcut that changes a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline.features.cells import entries, frame_records, missing, number, topic_lists
from pipeline.features.prior import (
    PRIOR_FEATURES,
    PRIOR_KEYS,
    PriorTables,
    ProviderPrior,
    entry_url_key,
    structure_terms,
)
from pipeline.features.providers import parse_provider, top_level_domain, url_domain
from pipeline.features.structure import STRUCTURE_FEATURES
from pipeline.identity import url_key


def own_related_level(
    record: Mapping[str, object], domain: str, topics: Sequence[str], beta: np.ndarray
) -> float:
    """Structure-adjusted mean quality of the record's own related entries from its provider."""
    if not domain:
        return np.nan
    own_key = url_key(record.get("url"))
    levels = []
    for e in entries(record.get("related")):
        q = e.get("quality")
        if missing(q):
            continue
        if parse_provider(e.get("provider_name"), e.get("provider_domain")).domain != domain:
            continue
        if entry_url_key(e) == own_key:
            continue
        levels.append(float(q) - float(np.asarray(structure_terms(e, topics)) @ beta))  # type: ignore[arg-type]
    return float(np.mean(levels)) if levels else np.nan


def prior_rows(step: ProviderPrior, X: pd.DataFrame, prior: PriorTables) -> np.ndarray:
    """:meth:`ProviderPrior.transform` (with ``prior``), one record at a time."""
    lookups = {
        key: {
            value: [float(adj), float(np.log1p(n)), float(raw), float(std)]
            for value, adj, n, raw, std in zip(
                table.index, table["adj"], table["n"], table["raw"], table["std"], strict=True
            )
        }
        for key, table in prior.tables.items()
    }
    records = frame_records(X)
    topics_all = topic_lists(X["topics"]) if "topics" in X.columns else [[] for _ in records]
    rows = []
    for i, rec in enumerate(records):
        values: dict[str, float] = {}
        p = parse_provider(rec.get("provider_name"), rec.get("provider_domain"))
        s = np.asarray(structure_terms(rec, topics_all[i]), dtype=float)
        best = np.nan
        keys = (p.domain, p.origin, top_level_domain(p.domain))
        for key, value in zip(PRIOR_KEYS, keys, strict=True):
            found = lookups.get(key, {}).get(value)
            block = found or [prior.level, 0.0, prior.raw_level, np.nan]
            for stat, number_ in zip(("", "_log_n", "_raw", "_std"), block, strict=True):
                values[f"prior_{key}{stat}"] = number_
            if found is not None and np.isnan(best) and key != "tld":
                best = found[0]
        own = own_related_level(rec, p.domain, topics_all[i], prior.beta)
        if np.isnan(best) and not np.isnan(own):
            best = own  # a provider never seen in training, but scored in this record's list
        level = prior.level if np.isnan(best) else best
        values["prior_expected"] = float(s @ prior.beta + level)
        values["prior_level"] = level
        values["prior_own_related"] = own
        values["provider_syndicated"] = float(bool(p.syndicated))
        off = p.domain != "" and url_domain(rec.get("url")) not in ("", p.domain)
        values["url_off_provider"] = float(off)
        rows.append([values[name] for name in PRIOR_FEATURES])
    out = np.asarray(rows, dtype=float).reshape(len(records), len(PRIOR_FEATURES))
    keep = [name in set(step.get_feature_names_out()) for name in PRIOR_FEATURES]
    return out[:, keep]


def structure_row(record: Mapping[str, object]) -> list[float]:
    """:class:`StructureFeatures` of one record (the order of ``STRUCTURE_FEATURES``)."""
    get = record.get
    count = number(get("image_count"))
    w, h = number(get("image_width")), number(get("image_height"))
    featured = get("has_featured_content")
    listed = entries(get("related"))
    out = [
        float((count if not np.isnan(count) else 0.0) > 0),
        float(not missing(get("amp_url"))),
        float(not missing(get("cdn_amp_url"))),
        float(not missing(get("web_url"))),
        float(str(get("type") or "").strip().lower() == "video"),
        float(not missing(get("original_url"))),
        count,
        w,
        h,
        w * h,
        w / h if h and not np.isnan(h) and h > 0 else np.nan,
        float(bool(featured) and not missing(featured)),
        float(len(listed)),
    ]
    q = [v for v in (number(e.get("quality")) for e in listed) if not np.isnan(v)]
    if not listed:
        return [*out, 0.0, np.nan, np.nan, np.nan, np.nan, np.nan]
    arr = np.asarray(q, dtype=float)
    videos = sum(str(e.get("type") or "").strip().lower() == "video" for e in listed)
    stats = [float(arr.mean()), float(min(q)), float(max(q))] if q else [np.nan] * 3
    spread = float(arr.std()) if len(q) > 1 else np.nan
    return [*out, float(len(q)), *stats, spread, videos / len(listed)]


def structure_rows(X: pd.DataFrame) -> np.ndarray:
    """:class:`StructureFeatures` of every record, one at a time."""
    out = np.empty((len(X), len(STRUCTURE_FEATURES)), dtype=float)
    for i, record in enumerate(frame_records(X)):
        out[i] = structure_row(record)
    return out
