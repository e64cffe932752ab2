"""The project's own tables read back: a row of what `score load` writes is a record again.

`score load` writes the schema's snake_case columns (JSON Lines, CSV, Parquet); the feed API
and front matter use camelCase fields. A row is mapped back onto the feed's fields, so the one
checked path (:func:`~pipeline.load.normalize.normalize`) reads it, and gives the record the
original gave: the same site, links, provider, structure and score, hence the same prediction.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pipeline.errors import RecordError, one_line
from pipeline.limits import Limits
from pipeline.load.normalize import RECORD_KEYS, Record, normalize
from pipeline.schema import COLUMNS

# Columns only our tables have: a JSON object holding one of them (and no feed field of the
# same meaning) is a table row.
_TABLE_ONLY = ("provider_domain", "provider_name", "original_url", "published_at", "url_key")
_LINKS = {
    "original_url": "originalUrl",
    "web_url": "webUrl",
    "amp_url": "ampWebUrl",
    "cdn_amp_url": "cdnAmpWebUrl",
    "published_at": "publishedDateTime",
}
_SAME = ("title", "excerpt", "category", "type", "locale", "quality", "heat", "published")
KNOWN_KEYS = frozenset(RECORD_KEYS | set(COLUMNS))


def is_table_row(item: Mapping[str, Any]) -> bool:
    """True for a row of our own tables (snake_case columns), not a feed object."""
    return any(key in item for key in _TABLE_ONLY) and not any(
        key in item for key in ("provider", "originalUrl", "publishedDateTime")
    )


def check_known(item: Mapping[str, Any]) -> None:
    """Refuse a JSON object with none of the fields of a record (neither schema fits)."""
    if not any(key in KNOWN_KEYS for key in item):
        keys = one_line(", ".join(repr(k) for k in sorted(map(str, item))[:5]) or "none", 80)
        raise RecordError(
            f"not an article record: none of its keys ({keys}) is a record field "
            "(title, originalUrl, provider...)"
        )


def _cell(value: Any) -> Any:
    """A missing cell (None, "", NaN) as None."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    return value


def _nested(value: Any, name: str) -> Any:
    """A list column as a list: JSON text in CSV (and in older Parquet files), or the list."""
    value = _cell(value)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise RecordError(f"column '{name}' should hold a JSON list") from None
    if value is not None and hasattr(value, "tolist"):  # a numpy array from pandas
        return value.tolist()
    return value


def _images(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    count = _cell(row.get("image_count"))
    try:
        count = int(float(count)) if count is not None else 0
    except (TypeError, ValueError):
        raise RecordError(f"column 'image_count' should be a number, got {count!r:.40}") from None
    if count <= 0:
        return []
    first = {"width": _cell(row.get("image_width")), "height": _cell(row.get("image_height"))}
    return [first] + [{} for _ in range(min(count, 10_000) - 1)]


def _feed_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The feed's camelCase fields of one table row (or one related entry of it)."""
    meta: dict[str, Any] = {key: _cell(row.get(key)) for key in _SAME if key in row}
    meta.update({feed: _cell(row.get(col)) for col, feed in _LINKS.items() if col in row})
    name, domain = _cell(row.get("provider_name")), _cell(row.get("provider_domain"))
    if name is not None or domain is not None:
        meta["provider"] = {"name": name, "domain": domain}
    meta["images"] = _images(row)
    return meta


def table_record(row: Mapping[str, Any], source: str, site: str, limits: Limits) -> Record:
    """The record a table row was written from (its site the row's own ``site``)."""
    meta = _feed_fields(row)
    topics = _nested(row.get("topics"), "topics")
    if topics is not None:
        meta["topics"] = topics
    related = _nested(row.get("related"), "related")
    if related is not None:
        if not isinstance(related, list):
            raise RecordError("column 'related' should hold a list of entries")
        meta["related"] = [_feed_fields(e) if isinstance(e, dict) else e for e in related]
    featured = _cell(row.get("has_featured_content"))
    if featured in (True, "True", "true"):
        meta["featuredContent"] = True
    record = normalize(meta, _cell(row.get("body")) or "", source, site, limits)
    row_site = _cell(row.get("site"))
    if isinstance(row_site, str) and row_site.strip():
        record["site"] = row_site
    if _cell(row.get("is_related")) in (True, "True", "true"):
        record["is_related"] = True
        parent = _cell(row.get("parent_id"))
        record["parent_id"] = str(parent) if parent is not None else None
    return record


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a CSV table with a header line."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        yield reader.line_num, row


def parquet_rows(data: bytes) -> Iterator[dict[str, Any]]:
    """Rows of a Parquet table, batch by batch."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(io.BytesIO(data))
    for batch in table.iter_batches(batch_size=1_000):
        yield from batch.to_pylist()
