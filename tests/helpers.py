"""Records that follow the aggregator's rule, written by the tests that need them.

Why a rule: a test can only notice a wrong score if the model has learned something it would
lose. These records score like the real sites do (a provider tier, +20 for an image, +20 for
an AMP link, a long-title cost, -15 when the title names none of the topics, a video tier),
so a model trained on them reacts to every field a scoring bug could drop.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

RULE_TIERS: dict[str, int] = {"alpha.com": 0, "beta.org": 40, "gamma.net": 90, "delta.io": 0}
RULE_TOPICS: tuple[str, ...] = ("Patch", "Season", "Beta", "Builds")


def rule_quality(
    tier: int, *, image: bool, amp: bool, title: str, topics: list[str], video: bool
) -> int:
    """The diablo4 rule (README "The model"), with a video tier."""
    named = sum(topic.lower() in title.lower() for topic in topics)
    long_title = max(len(title) - 70, 0) // 2
    return (
        67
        + tier
        + 20 * image
        + 20 * amp
        - long_title
        - 15 * (named == 0)
        + 17 * max(named - 1, 0)
        + 50 * video
    )


def rule_record(i: int, seed: int = 0, *, quality: bool = True) -> dict[str, Any]:
    """API-style record ``i`` (camelCase, like the feed pages): every field the rule reads."""
    rng = random.Random(seed * 100_003 + i)
    domain = sorted(RULE_TIERS)[i % len(RULE_TIERS)]
    image, amp, video = rng.random() < 0.6, rng.random() < 0.4, rng.random() < 0.15
    topics = rng.sample(RULE_TOPICS, rng.choice([1, 1, 2]))
    named = rng.sample(topics, rng.choice([0, 1, len(topics)]))
    title = f"Story {i}: " + " and ".join(named or ["something else"])
    if rng.random() < 0.25:
        title += ", with everything else you might want to know about it in detail"
    record: dict[str, Any] = {
        "title": title,
        "excerpt": f"An excerpt of story {i}, with a few words.",
        "publishedDateTime": f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        "originalUrl": f"https://{domain}/story-{i}",
        "type": "video" if video else "article",
        "provider": {"name": domain.split(".")[0].title(), "domain": domain},
        "topics": topics,
    }
    if image:
        record["images"] = [{"url": f"https://{domain}/{i}.jpg", "width": 800, "height": 450}]
    if amp:
        record["ampWebUrl"] = f"https://{domain}/amp/story-{i}"
    if i % 3 == 0:  # scored related entries, as most real records carry
        other = sorted(RULE_TIERS)[(i + 1) % len(RULE_TIERS)]
        record["related"] = [
            {
                "title": f"Related {i}-{k}: Patch",
                "webUrl": f"https://{other}/related-{i}-{k}",
                "provider": {"name": other.split(".")[0].title(), "domain": other},
                "quality": 67 + RULE_TIERS[other] + 20 * (k == 0),
                "images": [{"url": f"https://{other}/r{i}.jpg"}] if k == 0 else [],
            }
            for k in range(2)
        ]
    if quality:
        record["quality"] = rule_quality(
            RULE_TIERS[domain], image=image, amp=amp, title=title, topics=topics, video=video
        )
    return record


def write_rule_jsonl(path: Path, n: int, *, start: int = 0, seed: int = 0) -> Path:
    """``n`` rule records as one JSON Lines file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(rule_record(i, seed)) + "\n" for i in range(start, start + n))
    path.write_text("".join(lines), encoding="utf-8")
    return path
