"""A small folder of scored records for the report, plot and notebook tests.

Why synthetic: tests must not read the third-party corpus, and a quality that follows a known
rule (provider tier + image + AMP bonuses, like the aggregator's) keeps every chart non-trivial:
several providers, both structure levels, related entries -- some from providers the main
records never show -- and dates spread over a year for the time protocol.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

TIERS: dict[str, int] = {"alpha.com": 67, "beta.org": 87, "gamma.net": 107, "delta.io": 127}
RELATED_ONLY: dict[str, int] = {"epsilon.dev": 147, "zeta.tv": 47}


def _entry(domain: str, i: int, tier: int, rng: random.Random, *, main: bool) -> dict[str, Any]:
    image, amp = rng.random() < 0.7, rng.random() < 0.3
    video = rng.random() < 0.15
    record: dict[str, Any] = {
        "title": f"Story {i} about {rng.choice(['builds', 'patch', 'season', 'beta'])}",
        "excerpt": "An excerpt of the story, with a few words.",
        "publishedDateTime": f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        "originalUrl": f"https://{domain}/{'story' if main else 'rel'}-{i}",
        "type": "video" if video else "article",
        "provider": {"name": domain.split(".")[0].title(), "domain": domain},
        "quality": tier + 20 * image + 20 * amp + rng.choice([-1, 0, 1]),
        "images": [{"url": f"https://{domain}/{i}.jpg", "width": 800, "height": 450}]
        if image
        else [],
    }
    if amp:
        record["ampWebUrl"] = f"https://{domain}/amp/{i}"
    return record


def scored_records(n: int = 48, seed: int = 0) -> list[dict[str, Any]]:
    """API-style records whose quality follows a known rule, with scored related entries."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        domain = rng.choice(sorted(TIERS))
        record = _entry(domain, i, TIERS[domain], rng, main=True)
        pool = {**TIERS, **RELATED_ONLY}
        record["related"] = [
            _entry(other, 1000 + 10 * i + k, pool[other], rng, main=False)
            for k, other in enumerate(rng.sample(sorted(pool), 2))
        ]
        records.append(record)
    return records


def write_scored_folder(root: Path, n: int = 48, sites: tuple[str, ...] = ("site-a",)) -> Path:
    """Write ``n`` records split over ``sites`` (one JSON Lines file per site folder)."""
    records = scored_records(n)
    for index, site in enumerate(sites):
        folder = root / site
        folder.mkdir(parents=True, exist_ok=True)
        part = records[index :: len(sites)]
        (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    return root
