"""Observations: one row per scored article -- a record, or an entry of a record's ``related``.

Why related entries count: each is another article of the same site with the score the
aggregator gave it, so they cover providers the records never show and, for a site never
seen, they are the only evidence of its scale. Every observation carries its site (the
parent record's), its provider keys, its article key and the rule's terms.

The provider key is the URL's host, else the provider's domain: a YouTube video listed under
another provider is scored as YouTube. The domain and the origin name are kept to back off
to when a host was never seen.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.features.cells import column_values, entries, missing, number, topic_lists
from pipeline.features.providers import parse_provider, url_domain
from pipeline.features.rule import RULE_TERMS, entry_terms, record_terms
from pipeline.identity import url_key
from pipeline.limits import MAX_ABS_SCORE

KEYS: tuple[str, ...] = ("key", "domain", "origin")
COLUMNS: tuple[str, ...] = ("row", "is_record", "site", *KEYS, "url_key", *RULE_TERMS, "y")
UNKNOWN_SITE = "unknown"


def entry_url_key(entry: Mapping[str, object]) -> str:
    """The article key of a related entry (its original URL, else its web URL)."""
    return url_key(entry.get("url") or entry.get("web_url") or entry.get("original_url"))


def provider_key(name: object, domain: object, url: object) -> tuple[str, str, str]:
    """(key, domain, origin): the URL's host (else the provider's domain), the normalised
    domain and origin name."""
    provider = parse_provider(name, domain)
    host = url_domain(url) if isinstance(url, str) else ""
    return host or provider.domain, provider.domain, provider.origin


def sites_of(X: pd.DataFrame) -> list[str]:
    """Every row's site; :data:`UNKNOWN_SITE` where none is told."""
    return [s if isinstance(s, str) and s else UNKNOWN_SITE for s in column_values(X, "site")]


def record_observations(X: pd.DataFrame, y: np.ndarray | None = None) -> pd.DataFrame:
    """One observation per row of ``X`` (``y`` NaN when not given)."""
    n = len(X)
    keys = [
        provider_key(name, domain, url)
        for name, domain, url in zip(
            column_values(X, "provider_name"),
            column_values(X, "provider_domain"),
            column_values(X, "url"),
            strict=True,
        )
    ]
    table = pd.DataFrame(record_terms(X), columns=list(RULE_TERMS))
    table.insert(0, "row", np.arange(n))
    table.insert(1, "is_record", True)
    table.insert(2, "site", sites_of(X))
    for j, name in enumerate(KEYS):
        table.insert(3 + j, name, [k[j] for k in keys])
    table.insert(6, "url_key", [url_key(u) for u in column_values(X, "url")])
    table["y"] = np.full(n, np.nan) if y is None else np.asarray(y, dtype=float)
    return table


def related_observations(
    X: pd.DataFrame, bounds: tuple[float, float] | None = None
) -> pd.DataFrame:
    """One observation per scored related entry of the rows of ``X`` (``row``: the parent).

    ``bounds``: scores outside them (or not numbers, or beyond ±:data:`MAX_ABS_SCORE`) are
    left out -- a related entry is evidence, and one broken entry must not move a whole site.
    """
    low, high = bounds if bounds is not None else (-MAX_ABS_SCORE, MAX_ABS_SCORE)
    related = column_values(X, "related")
    sites = sites_of(X)
    topic_cells = column_values(X, "topics")
    rows: list[list[object]] = []
    for i, value in enumerate(related):
        listed = entries(value)
        if not listed:
            continue
        topics: list[str] | None = None
        for e in listed:
            q = number(e.get("quality")) if not missing(e.get("quality")) else np.nan
            if not low <= q <= high:  # NaN too
                continue
            if topics is None:
                topics = topic_lists([topic_cells[i]])[0]
            url = e.get("url") or e.get("web_url") or e.get("original_url")
            key = provider_key(e.get("provider_name"), e.get("provider_domain"), url)
            terms = entry_terms(e, topics)
            rows.append([i, False, sites[i], *key, entry_url_key(e), *terms, q])
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"is_record": bool})


def observations(X: pd.DataFrame, y: np.ndarray, *, related: bool = True) -> pd.DataFrame:
    """The scored records of ``X`` and (``related``) their scored related entries, each
    article once (:func:`dedupe`)."""
    parts = [record_observations(X, y)]
    if related:
        parts.append(related_observations(X))
    table = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(map(len, parts))
        else parts[0]
    )
    return dedupe(table[table["y"].notna()])


def dedupe(obs: pd.DataFrame) -> pd.DataFrame:
    """The same article (site, URL key, score) counted once; a record wins over related copies,
    and which copy stays never depends on the order of the rows."""
    if obs.empty:
        return obs.reset_index(drop=True)
    order = obs.sort_values(
        ["is_record", "site", "url_key", "y", "key", *RULE_TERMS],
        ascending=[False, True, True, True, True, *[True] * len(RULE_TERMS)],
        kind="stable",
    )
    keyed = order[order["url_key"] != ""].drop_duplicates(["site", "url_key", "y"])
    return pd.concat([keyed, order[order["url_key"] == ""]], ignore_index=True)
