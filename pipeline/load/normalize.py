"""Map one parsed record (front matter or JSON object) onto the schema, checking each field.

Both formats use the same camelCase names (:mod:`pipeline.schema` lists the columns); a field
of the wrong type or over a cap raises :class:`~pipeline.errors.RecordError` with a one-line
reason that names the field, so the loader reports that record and goes on.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from typing import Any

import yaml

from pipeline.errors import RecordError, one_line
from pipeline.identity import canonical_url, record_id
from pipeline.limits import DEFAULT_LIMITS, Limits

PROBLEMS = "_problems"  # a kept record's reported problems (the loader turns them into errors)

Record = dict[str, Any]

# Front matter keys a record holds (read here, or set by the aggregator): write-back never
# overwrites one of them with a prediction, except `quality` where it is missing.
RECORD_KEYS = frozenset(
    {
        "title", "excerpt", "content", "body", "category", "categories", "type", "locale",
        "topics", "publishedDateTime", "originalUrl", "webUrl", "ampWebUrl", "cdnAmpWebUrl",
        "provider", "images", "related", "featuredContent", "quality", "heat", "published",
        "secured", "id", "path",
    }
)  # fmt: skip


def _text(meta: Mapping[str, Any], key: str, limits: Limits, where: str = "") -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(f"field '{where}{key}' should be text, got {type(value).__name__}")
    value = str(value)
    if len(value) > limits.max_field_chars:
        raise RecordError(
            f"field '{where}{key}' is {len(value)} characters, "
            f"over the cap {limits.max_field_chars}"
        )
    return value


def _number(meta: Mapping[str, Any], key: str, where: str = "") -> float | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError(f"field '{where}{key}' should be a number, got a boolean")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise RecordError(
                f"field '{where}{key}' should be a number, got {one_line(repr(value), 60)}"
            ) from None
    if not isinstance(value, int | float):
        raise RecordError(f"field '{where}{key}' should be a finite number, got {value!r:.60}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float (repr could fail on it too)
        raise RecordError(
            f"field '{where}{key}' should be a finite number, got an integer too large"
        ) from None
    if not math.isfinite(number):
        raise RecordError(f"field '{where}{key}' should be a finite number, got {number!r}")
    return number


_INT64_MAX = 2**63 - 1


def _count(meta: Mapping[str, Any], key: str, where: str = "") -> int | None:
    """A whole number that fits the Int64 columns (image sizes)."""
    value = _number(meta, key, where)
    if value is None:
        return None
    if abs(value) > _INT64_MAX:
        raise RecordError(f"field '{where}{key}' is out of range: {value:.3g}")
    return int(value)


# YAML 1.1 booleans (PyYAML reads `yes` as True, yaml-rs as the string "yes"): accepted as
# text so that a record means the same whichever YAML backend read it.
_BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "yes", "on", "y"), True),
    **dict.fromkeys(("false", "no", "off", "n"), False),
}


def _boolean(meta: Mapping[str, Any], key: str) -> bool | None:
    value = meta.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    raise RecordError(f"field '{key}' should be true or false, got {value!r:.60}")


def _timestamp(meta: Mapping[str, Any], key: str, where: str = "") -> dt.datetime | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if type(value) is str:
        parsed = _time_from_text(value)
        if parsed is None:
            raise RecordError(f"field '{where}{key}' is not an ISO date-time: {value!r:.60}")
        value = parsed
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise RecordError(f"field '{where}{key}' should be a date-time, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # naive times in these feeds are UTC
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:
        value = None
    if value is None or not _TIME_MIN <= value < _TIME_END:
        raise RecordError(f"field '{where}{key}' is out of the supported range (1678-2261)")
    return value


_YAML_TIMESTAMP = yaml.constructor.SafeConstructor.timestamp_regexp
_MAX_TIME_CHARS = 64  # "2001-12-14T21:59:43.123456789+05:00" is 35: longer is not a time


def _time_from_text(text: str) -> dt.datetime | dt.date | None:
    """A time written as text, or None: ISO 8601 (JSON, quoted YAML) or any YAML 1.1
    timestamp form (``2001-12-14 21:59:43.10 -5``), since YAML front matter is parsed
    without resolving dates (see :mod:`pipeline.load.yaml_backend`): plain ones arrive as text.
    Only short texts reach the cache, so it never holds a large value alive."""
    return _short_time_from_text(text) if len(text) <= _MAX_TIME_CHARS else None


@functools.lru_cache(maxsize=8192)  # related entries repeat the same times across records
def _short_time_from_text(text: str) -> dt.datetime | dt.date | None:
    text = text.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    if not _YAML_TIMESTAMP.match(text):
        return None
    node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", text)
    try:
        return yaml.constructor.SafeConstructor().construct_yaml_timestamp(node)
    except (ValueError, OverflowError):  # 2021-13-45: the shape of a time, not a time
        return None


# The published_at column is datetime64[ns]: pandas cannot hold times outside these bounds.
_TIME_MIN = dt.datetime(1678, 1, 1, tzinfo=dt.UTC)
_TIME_END = dt.datetime(2262, 1, 1, tzinfo=dt.UTC)


def _provider(
    meta: Mapping[str, Any], limits: Limits, where: str = ""
) -> tuple[str | None, str | None]:
    provider = meta.get("provider")
    if provider is None:
        return None, None
    if not isinstance(provider, dict):
        raise RecordError(
            f"field '{where}provider' should be a mapping (name, domain), got "
            f"{type(provider).__name__}"
        )
    name = _text(provider, "name", limits, f"{where}provider.")
    domain = _text(provider, "domain", limits, f"{where}provider.")
    return name, domain.strip().lower() if domain else domain


def _images(meta: Mapping[str, Any], where: str = "") -> tuple[int, int | None, int | None]:
    images = meta.get("images")
    if images is None:
        return 0, None, None
    if not isinstance(images, list):
        raise RecordError(f"field '{where}images' should be a list, got {type(images).__name__}")
    width = height = None
    if images:
        first = images[0]
        if not isinstance(first, dict):
            raise RecordError(f"field '{where}images[0]' should be a mapping")
        width = _count(first, "width", f"{where}images[0].")
        height = _count(first, "height", f"{where}images[0].")
    return len(images), width, height


def _links(meta: Mapping[str, Any], limits: Limits, where: str = "") -> dict[str, str | None]:
    original = _text(meta, "originalUrl", limits, where)
    web = _text(meta, "webUrl", limits, where)
    return {
        "url": original or web,
        "original_url": original,
        "web_url": web,
        "amp_url": _text(meta, "ampWebUrl", limits, where),
        "cdn_amp_url": _text(meta, "cdnAmpWebUrl", limits, where),
    }


def _related_score(item: Mapping[str, Any], where: str, problems: list[str]) -> float | None:
    """A related entry's ``quality``, or None (and a line in ``problems``) when it is not a
    number: the entry is evidence about other articles, so one broken score must not cost the
    record that lists it. (A number too large to be a score is the model's to refuse, as a
    record's own: :func:`pipeline.model.data.load_scored`.)"""
    try:
        return _number(item, "quality", where)
    except RecordError as exc:
        problems.append(f"{exc}; the entry is kept unscored")
        return None


def _related(meta: Mapping[str, Any], limits: Limits, problems: list[str]) -> list[Record]:
    related = meta.get("related")
    if related is None:
        return []
    if not isinstance(related, list):
        raise RecordError(f"field 'related' should be a list, got {type(related).__name__}")
    entries = []
    for index, item in enumerate(related):
        if not isinstance(item, dict):
            raise RecordError(f"field 'related[{index}]' should be a mapping")
        where = f"related[{index}]."
        name, domain = _provider(item, limits, where)
        count, width, height = _images(item, where)
        links = _links(item, limits, where)
        canonical_url(links["url"])  # refuse a bad URL here, not later in related_rows
        entries.append(
            {
                "title": _text(item, "title", limits, where),
                "excerpt": _text(item, "excerpt", limits, where),
                "published_at": _timestamp(item, "publishedDateTime", where),
                **links,
                "type": _text(item, "type", limits, where),
                "provider_name": name,
                "provider_domain": domain,
                "image_count": count,
                "image_width": width,
                "image_height": height,
                "quality": _related_score(item, where, problems),
            }
        )
    return entries


def _topics(meta: Mapping[str, Any]) -> list[str]:
    topics = meta.get("topics")
    if topics is None:
        return []
    if isinstance(topics, str):
        return [topics]
    if not isinstance(topics, list):
        raise RecordError(
            f"field 'topics' should be a list of strings, got {type(topics).__name__}"
        )
    if not all(t is None or isinstance(t, str | int | float) for t in topics):
        raise RecordError("field 'topics' should be a list of strings")
    return [str(t) for t in topics if t is not None and str(t).strip()]


def _category(meta: Mapping[str, Any], limits: Limits) -> str | None:
    category = meta.get("category")
    if category is None and isinstance(meta.get("categories"), list) and meta["categories"]:
        category = meta["categories"][0]  # the JSON API lists categories
    return _text({"category": category}, "category", limits)


def normalize(
    meta: Mapping[str, Any],
    body: str | None,
    source: str,
    site: str,
    limits: Limits = DEFAULT_LIMITS,
) -> Record:
    """Map one parsed record (front matter or JSON object) onto the schema, checking types."""
    if body is None:
        body = _text(meta, "content", limits) or _text(meta, "body", limits) or ""
    body = body.strip()
    if len(body) > limits.max_field_chars:
        raise RecordError(f"body is {len(body)} characters, over the cap {limits.max_field_chars}")
    links = _links(meta, limits)
    name, domain = _provider(meta, limits)
    count, width, height = _images(meta)
    published_at = _timestamp(meta, "publishedDateTime")
    problems: list[str] = []
    related = _related(meta, limits, problems)
    title = _text(meta, "title", limits)
    url_key = canonical_url(links["url"])
    return {
        "id": record_id(url_key, published_at, title),
        "source": source,
        "site": site,
        "is_related": False,
        "parent_id": None,
        "title": title,
        "excerpt": _text(meta, "excerpt", limits),
        "body": body,
        "category": _category(meta, limits),
        "type": _text(meta, "type", limits),
        "locale": _text(meta, "locale", limits),
        "topics": _topics(meta),
        "published_at": published_at,
        **links,
        "provider_name": name,
        "provider_domain": domain,
        "image_count": count,
        "image_width": width,
        "image_height": height,
        "has_featured_content": meta.get("featuredContent") not in (None, "", {}, []),
        "related": related,
        "related_count": len(related),
        "url_key": url_key,
        "is_duplicate": False,
        "quality": _number(meta, "quality"),
        "heat": _number(meta, "heat"),
        "published": _boolean(meta, "published"),
        **({PROBLEMS: problems} if problems else {}),
    }


def related_rows(record: Record) -> list[Record]:
    """Rows of their own for a record's scored related entries (flagged, with the parent id)."""
    rows = []
    for index, entry in enumerate(record["related"]):
        if entry["quality"] is None:
            continue
        url_key = canonical_url(entry["url"])
        rows.append(
            {
                **{key: None for key in record},
                **{key: value for key, value in entry.items()},
                "id": record_id(url_key, entry["published_at"], entry["title"]),
                "source": f"{record['source']}#related[{index}]",
                "site": record["site"],
                "is_related": True,
                "parent_id": record["id"],
                "body": "",
                "topics": [],
                "has_featured_content": False,
                "related": [],
                "related_count": 0,
                "url_key": url_key,
                "is_duplicate": False,
            }
        )
    return rows
