"""Explanations in the record's own fields: how many points each field moved the prediction.

A contribution is the Shapley value of a field: the model's prediction is compared with its
prediction for a *reference* -- a typical training record, chosen by ``score train`` -- and
the difference is shared among the fields the record changes (its site, its provider, its
images, its AMP link, its title, its topics, its related entries), each field getting its
average effect over every order in which the record's values could replace the reference's.
It is exact: the model is run on every mix of the record's and the reference's fields (a
record rarely differs in more than six fields: at most 64 runs), so the contributions add up
to the prediction minus the reference's prediction. For the terms of the aggregator's rule
each field's share is the rule's own price (an AMP link: about +20); where two fields act
together (a title naming a topic) the effect is split between them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.choices import DEFAULT_TOP
from pipeline.features.cells import column_values, entries, present, topic_lists
from pipeline.features.guard import FIELD_COLUMNS
from pipeline.features.observations import provider_key
from pipeline.load.columns import records_to_frame

FIELDS: tuple[str, ...] = tuple(FIELD_COLUMNS)


@dataclass(frozen=True)
class Explanation:
    """Per row: the ``why`` text, the structured contributions; and the reference prediction."""

    why: list[str]
    contributions: list[list[dict[str, Any]]]
    reference: float


def reference_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """The reference record (stored in the model's metadata) as a one-row frame."""
    return records_to_frame([dict(record)])


def typical_record(
    frame: pd.DataFrame, table: pd.DataFrame, predictions: Sequence[float]
) -> dict[str, Any]:
    """The reference of explanations: a record of the largest site whose rule terms are the
    site's most common ones and whose prediction is the closest to the site's median one
    (then the first by id, so the same data gives the same reference). ``table``: the
    records' observations; ``predictions``: the model's, for ``frame``."""
    table = table.assign(pred=np.asarray(predictions, dtype=float))
    site = table["site"].value_counts().sort_index().idxmax()
    mine = table[table["site"] == site]
    median = float(mine["pred"].median())
    terms = [c for c in mine.columns if c.startswith(("has_", "title_", "topics_"))]
    for column in terms:
        mine = mine[mine[column] == mine[column].mode().iloc[0]]
    mine = mine.assign(
        distance=(mine["pred"] - median).abs(), id=frame["id"].to_numpy()[mine["row"]]
    )
    chosen = frame.iloc[int(mine.sort_values(["distance", "id"]).iloc[0]["row"])]
    columns = sorted({c for cols in FIELD_COLUMNS.values() for c in cols})
    return {c: _plain(chosen[c]) for c in columns}


def _plain(value: Any) -> Any:
    """A cell as JSON-able Python (the reference travels in the model's metadata)."""
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _same(a: Any, b: Any) -> bool:
    try:
        equal = a == b
        return bool(equal) if not isinstance(equal, np.ndarray) else bool(equal.all())
    except (TypeError, ValueError):
        return False


def _differs(frame: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """(rows, fields) booleans: where a record's field is not the reference's."""
    out = np.zeros((len(frame), len(FIELDS)), dtype=bool)
    for j, name in enumerate(FIELDS):
        for column in FIELD_COLUMNS[name]:
            ref = _plain(column_values(reference, column)[0])
            out[:, j] |= [not _same(_plain(v), ref) for v in column_values(frame, column)]
    return out


def _hybrids(
    frame: pd.DataFrame, reference: pd.DataFrame, differ: np.ndarray
) -> tuple[pd.DataFrame, list[np.ndarray], list[np.ndarray]]:
    """Every mix of each record's differing fields with the reference's: one frame.

    Returns it, and per record its differing fields and the hybrid rows of its 2^m mixes
    (mix ``mask``: bit ``b`` set takes the record's ``b``-th differing field).
    """
    owner, masks, fields_of, rows_of = [], [], [], []
    at = 0
    for i in range(len(frame)):
        fields = np.flatnonzero(differ[i])
        count = 1 << len(fields)
        owner.append(np.full(count, i))
        masks.append(np.arange(count))
        fields_of.append(fields)
        rows_of.append(np.arange(at, at + count))
        at += count
    owner_all = np.concatenate(owner) if owner else np.empty(0, dtype=int)
    mask_all = np.concatenate(masks) if masks else np.empty(0, dtype=int)
    hybrid = reference.iloc[np.zeros(len(owner_all), dtype=int)].reset_index(drop=True)
    for j, name in enumerate(FIELDS):
        # the bit of field j in each record's mask (-1: the record does not change it)
        bit = np.full(len(frame), -1)
        for i, fields in enumerate(fields_of):
            where = np.flatnonzero(fields == j)
            if len(where):
                bit[i] = where[0]
        takes = (bit[owner_all] >= 0) & ((mask_all >> np.maximum(bit[owner_all], 0)) & 1 == 1)
        if not takes.any():
            continue
        source = owner_all[takes]
        for column in FIELD_COLUMNS[name]:
            if column not in frame.columns:
                continue
            values = hybrid[column].astype(object).to_numpy()
            values = values.copy()
            values[takes] = frame[column].astype(object).to_numpy()[source]
            hybrid[column] = pd.Series(values, dtype=frame[column].dtype)
    return hybrid, fields_of, rows_of


@functools.lru_cache(maxsize=16)
def _shapley_weights(m: int) -> np.ndarray:
    """(m, 2^m) weights: Shapley value of player ``b`` = weights[b] @ values."""
    out = np.zeros((m, 1 << m))
    for mask in range(1 << m):
        size = bin(mask).count("1")
        for b in range(m):
            if mask >> b & 1:  # the coalition with b, minus the one without it
                w = math.factorial(size - 1) * math.factorial(m - size) / math.factorial(m)
                out[b, mask] += w
                out[b, mask ^ 1 << b] -= w
    return out


def _shapley(values: np.ndarray, m: int) -> np.ndarray:
    """Exact Shapley values of ``m`` players from ``values[mask]`` of every coalition."""
    return _shapley_weights(m) @ values if m else np.zeros(0)


def describe(field: str, record: pd.Series) -> str:
    """A field's value, short: what the ``why`` text shows beside its points."""
    if field == "site":
        return str(record.get("site") or "unknown")
    if field == "provider_domain":
        key = provider_key(
            record.get("provider_name"), record.get("provider_domain"), record.get("url")
        )[0]
        return key or "none"
    if field == "images":
        count = record.get("image_count")
        count = 0 if count is None or count is pd.NA else int(count)
        return "none" if count == 0 else f"{count} image" + ("s" if count > 1 else "")
    if field == "amp_url":
        return "present" if present(record.get("amp_url")) else "none"
    if field == "title":
        title = record.get("title")
        text = f"{len(title) if isinstance(title, str) else 0} chars"
        topics = topic_lists([record.get("topics")])[0]
        if topics:
            named = sum(t.lower() in (title or "").lower() for t in topics)
            text += ", names no topic" if not named else f", names {named} topics" * (named > 1)
        return text
    if field == "topics":
        topics = record.get("topics")
        listed = [str(t) for t in topics] if isinstance(topics, list | tuple | np.ndarray) else []
        text = "; ".join(listed) if listed else "none"
        return text if len(text) <= 40 else text[:37] + "..."
    if field == "related":
        listed = entries(record.get("related"))
        scored = sum(1 for e in listed if not pd.isna(e.get("quality")))
        return f"{scored} scored"
    return ""


def points(value: float) -> str:
    """Signed points, one decimal at most, ASCII minus: +20, -14, +0.5."""
    rounded = round(float(value), 1)
    text = f"{abs(rounded):.0f}" if rounded == int(rounded) else f"{abs(rounded):.1f}"
    return f"-{text}" if rounded < 0 else f"+{text}"


@dataclass
class Explainer:
    """Field contributions of a model's predictions against a reference record."""

    model: Any  # anything with predict_table (a ScoringModel)
    reference: Mapping[str, Any]
    top: int = DEFAULT_TOP

    def explain(self, frame: pd.DataFrame, predictions: Sequence[float]) -> Explanation:
        """The explanation of each row of ``frame`` (whose predictions are ``predictions``)."""
        reference = reference_frame(self.reference)[list(frame.columns)]
        base = float(self.model.predict_table(reference)["pred"].iloc[0])
        differ = _differs(frame, reference)
        hybrid, fields_of, rows_of = _hybrids(frame, reference, differ)
        values = (
            self.model.predict_table(hybrid)["pred"].to_numpy(dtype=float)
            if len(hybrid)
            else np.empty(0)
        )
        why, contributions = [], []
        for i in range(len(frame)):
            fields = fields_of[i]
            phi = _shapley(values[rows_of[i]], len(fields))
            record = frame.iloc[i]
            listed = [
                {"field": FIELDS[j], "value": describe(FIELDS[j], record), "points": float(p)}
                for j, p in zip(fields, phi, strict=True)
            ]
            listed.sort(key=lambda c: -abs(c["points"]))
            contributions.append(listed)
            why.append(self._text(listed, float(predictions[i]) - base))
        return Explanation(why, contributions, base)

    def _text(self, listed: list[dict[str, Any]], total: float) -> str:
        """The ``top`` largest contributions, the rest summed as ``other``."""
        shown = [c for c in listed[: self.top] if round(c["points"], 1) != 0]
        parts = [f"{c['field']}={c['value']} {points(c['points'])}" for c in shown]
        rest = total - sum(c["points"] for c in shown)
        if round(rest, 1) != 0:
            parts.append(f"other {points(rest)}")
        return ", ".join(parts) or "typical: as the reference record"


def summarise(
    contributions: Sequence[Sequence[Mapping[str, Any]]], sites: Sequence[str]
) -> pd.DataFrame:
    """Attributions over a dataset: per field, the mean of |points| over every record (a field
    a record does not change counts 0), and the signed mean per site."""
    rows = [
        {"record": i, "site": site, "field": c["field"], "points": float(c["points"])}
        for i, (listed, site) in enumerate(zip(contributions, sites, strict=True))
        for c in listed
    ]
    if not rows:
        return pd.DataFrame(columns=["mean_abs_points"])
    table = pd.DataFrame(rows)
    counts = pd.Series(list(sites)).value_counts()
    total = len(sites)
    out = pd.DataFrame(
        {
            "mean_abs_points": table.assign(a=table["points"].abs()).groupby("field")["a"].sum()
            / total
        }
    )
    signed = table.groupby(["field", "site"])["points"].sum().unstack(fill_value=0.0)
    for site in sorted(counts.index):
        out[site] = signed[site] / counts[site] if site in signed else 0.0
    return out.fillna(0.0).sort_values("mean_abs_points", ascending=False)


def explain_dataset(
    model: Any, frame: pd.DataFrame, reference: Mapping[str, Any], per_site: int = 300
) -> tuple[Explanation, list[str]]:
    """Explanations of up to ``per_site`` records of each site (the first by id): for the
    dataset summary of reports and the notebook. Returns them and each record's site."""
    sites = frame["site"].astype(object).fillna("unknown")
    chosen = (
        frame.assign(_site=sites)
        .sort_values("id")
        .groupby("_site", sort=True)
        .head(per_site)
        .drop(columns="_site")
        .reset_index(drop=True)
    )
    explanation = Explainer(model, reference).explain(chosen, model.predict(chosen))
    return explanation, list(chosen["site"].astype(object).fillna("unknown"))
