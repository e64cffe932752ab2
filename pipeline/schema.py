"""The one DataFrame schema every stage agrees on.

Markdown front matter and the JSON feed API use the same camelCase field names; the loader maps
both onto the snake_case columns below. Target-side fields (set by the aggregator's scoring
system together with ``quality``) are listed apart so that no feature step can use them.
"""

from __future__ import annotations

# column -> pandas dtype. Order is the column order of every frame the loader returns.
COLUMNS: dict[str, str] = {
    # identity and provenance
    "id": "string",  # sha1(canonical URL + published time)[:16]; same for a .md and its JSON twin
    "source": "string",  # "file", "archive::member", "file:line" (JSON Lines) or "file[i]" (arrays)
    "site": "string",  # name of the folder the record sits in (e.g. "diablo4")
    "is_related": "boolean",  # True for a row made from a parent's scored `related` entry
    "parent_id": "string",  # id of the parent record for related rows
    # text
    "title": "string",
    "excerpt": "string",
    "body": "string",
    "category": "string",
    "type": "string",  # "article" or "video"
    "locale": "string",
    "topics": "object",  # list[str]
    # time (never a target: publishedDateTime is when the article appeared)
    "published_at": "datetime64[ns, UTC]",
    # links
    "url": "string",  # canonical URL: originalUrl, else webUrl
    "original_url": "string",
    "web_url": "string",
    "amp_url": "string",
    "cdn_amp_url": "string",
    # provider
    "provider_name": "string",
    "provider_domain": "string",
    # structure
    "image_count": "Int64",
    "image_width": "Int64",  # first image
    "image_height": "Int64",
    "has_featured_content": "boolean",
    "related": "object",  # list[dict]: normalised related entries (same keys as a row, + quality)
    "related_count": "Int64",
    # duplicates (same canonical URL seen twice; see frame.mark_duplicates)
    "url_key": "string",
    "is_duplicate": "boolean",
    # target side: never features
    "quality": "Float64",
    "heat": "Float64",
    "published": "boolean",
}

TARGET = "quality"
# Set by the same scoring system as quality, or opaque: a model must never see these.
TARGET_SIDE: tuple[str, ...] = ("quality", "heat", "published")
NEVER_FEATURES: tuple[str, ...] = (*TARGET_SIDE, "secured", "id", "source", "parent_id")

# Keys of each entry in the `related` list column.
RELATED_KEYS: tuple[str, ...] = (
    "title",
    "excerpt",
    "published_at",
    "url",
    "original_url",
    "web_url",
    "amp_url",
    "cdn_amp_url",
    "type",
    "provider_name",
    "provider_domain",
    "image_count",
    "image_width",
    "image_height",
    "quality",
)
