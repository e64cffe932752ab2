"""Who published an article: provider names and domains normalised, syndication parsed.

Why: the same provider is spelled many ways ("GamesRadar+", "gamesradar.com", "www."), and a
syndicated article ("GameRant on MSN.com") is scored as its origin's, not its carrier's.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import pandas as pd

from pipeline.features.cells import missing

_SYNDICATION = re.compile(r"^(?P<origin>.+?)\s+(?:on|via|from|\|)\s+(?P<carrier>[\w.\- ]+)$", re.I)
_TWO_LEVEL_SUFFIXES = {"co", "com", "net", "org", "gov", "ac", "edu"}


def normalise_domain(value: object) -> str:
    """'https://WWW.GameRant.com/x' -> 'gamerant.com'; missing -> ''."""
    if missing(value):
        return ""
    d = str(value).strip().lower()
    d = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", d)
    d = d.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    return d.removeprefix("www.").removeprefix("m.")


def url_domain(value: object) -> str:
    """Domain of a URL, normalised like a provider domain."""
    if type(value) is str:
        return _normalise_domain_cached(value)
    return normalise_domain(value)


_normalise_domain_cached = functools.lru_cache(maxsize=65_536)(normalise_domain)


@functools.lru_cache(maxsize=65_536)
def top_level_domain(domain: str) -> str:
    """'bbc.co.uk' -> 'co.uk', 'ign.com' -> 'com', '' -> ''."""
    parts = [p for p in domain.split(".") if p]
    if len(parts) >= 3 and parts[-2] in _TWO_LEVEL_SUFFIXES and len(parts[-1]) == 2:
        return ".".join(parts[-2:])
    return parts[-1] if parts else ""


def normalise_name(value: object) -> str:
    """'GamesRadar+' / 'Games Radar' / 'gamesradar.com' -> 'gamesradar'."""
    if missing(value):
        return ""
    s = str(value).strip().lower()
    s = re.sub(r"\.(com|net|org|co\.uk|com\.au)$", "", s)
    return re.sub(r"[^0-9a-z]+", "", s)


class Provider(NamedTuple):
    """Who published an article, normalised: 'GameRant on MSN.com' @ msn.com is origin
    ``gamerant`` carried by ``msn.com`` (syndicated)."""

    origin: str
    carrier: str
    domain: str
    syndicated: str  # "1" when the name says it was carried by another site, else ""


def parse_provider(name: object, domain: object) -> Provider:
    """The :class:`Provider` of a (name, domain) pair; cached for text inputs.

    Providers repeat across records and related entries, so the regexes run once per distinct
    (name, domain) pair. Only str/None are cached (hashable, and equal only when identical).
    """
    if (name is None or type(name) is str) and (domain is None or type(domain) is str):
        return _parse_provider_cached(name, domain)
    return _parse_provider(name, domain)


def _parse_provider(name: object, domain: object) -> Provider:
    dom = normalise_domain(domain)
    raw = "" if missing(name) else str(name).strip()
    m = _SYNDICATION.match(raw)
    if m:
        origin = normalise_name(m.group("origin"))
        carrier_raw = m.group("carrier").strip()
        carrier = normalise_domain(carrier_raw) if "." in carrier_raw else dom
        return Provider(origin, carrier or dom, dom, "1")
    return Provider(normalise_name(raw) or normalise_name(dom), "", dom, "")


_parse_provider_cached = functools.lru_cache(maxsize=65_536)(_parse_provider)


def provider_keys(frame: pd.DataFrame) -> pd.Series:
    """Normalised provider domain per row (for grouping folds and provider baselines)."""
    return pd.Series(
        [
            parse_provider(n, d).domain
            for n, d in zip(frame["provider_name"], frame["provider_domain"], strict=True)
        ],
        index=frame.index,
        dtype=object,
    )
