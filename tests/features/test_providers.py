"""Provider names and domains: normalisation, syndication, top-level domains."""

from __future__ import annotations

from pipeline.features.providers import (
    normalise_domain,
    normalise_name,
    parse_provider,
    top_level_domain,
)


def test_normalisation_and_tld() -> None:
    assert normalise_domain("https://WWW.GameRant.com/x?y=1") == "gamerant.com"
    assert normalise_domain(None) == ""
    assert normalise_name("GamesRadar+") == normalise_name("gamesradar.com") == "gamesradar"
    assert top_level_domain("bbc.co.uk") == "co.uk"
    assert top_level_domain("ign.com") == "com"


def test_syndication_is_parsed() -> None:
    p = parse_provider("GameRant on MSN.com", "msn.com")
    assert p == ("gamerant", "msn.com", "msn.com", "1")
    p = parse_provider("Game Rant on MSN", "www.msn.com")
    assert p.origin == "gamerant" and p.carrier == "msn.com"
    assert parse_provider("IGN", "ign.com").syndicated == ""
