"""What makes two records the same article: one canonical URL, and an id built from it.

One definition for every stage: the loader's duplicates and ids, the features that tell a
record's own score apart in its related entries, and the splits that keep an article on one
side of an evaluation all compare :func:`url_key` values.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from urllib.parse import urlsplit, urlunsplit

from pipeline.errors import RecordError, one_line


def canonical_url(url: str | None) -> str | None:
    """The article key of a URL: lower-case scheme and host, no ``www.``, no fragment or
    trailing slash; None when there is no URL. Raises :class:`RecordError` for a URL that
    does not parse (e.g. ``http://[::1``)."""
    if not url:
        return None
    return _canonical_url(url)


@functools.lru_cache(maxsize=65_536)  # related articles recur across many parent records
def _canonical_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise RecordError(f"not a valid URL ({one_line(exc, 60)}): {url!r:.80}") from None
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower() or "https", host, path, parts.query, ""))


def url_key(value: object) -> str:
    """:func:`canonical_url` of any cell: "" when it is missing, not text or not a URL.

    For feature steps and splits, which take frames from anywhere and must not fail on one
    odd cell: an empty key matches nothing.
    """
    if type(value) is not str or not value.strip():
        return ""
    try:
        return _canonical_url(value)
    except RecordError:
        return ""


def record_id(url: str | None, published: dt.datetime | None, title: str | None) -> str:
    """Stable id from what identifies an article in any format: its URL key and publication
    time (the title too when there is no URL)."""
    basis = f"{url or ''}\n{published.isoformat() if published else ''}"
    if not url:
        basis += f"\n{title or ''}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]
