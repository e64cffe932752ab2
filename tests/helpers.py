"""Everything the tests share: records they write in every input format, rule-following
feeds, a small real model, and the paths of the repository and the shared corpus.

No test reads the third-party corpus except through :data:`CORPUS` (those tests skip when it
is absent): every other test writes its own few records through the helpers below.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import io
import json
import os
import random
import re
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import LoadError

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")
# The `score` console script as a child process (the entry point pyproject.toml installs),
# runnable from the checkout without an installed script.
SCORE = [sys.executable, "-c", "from pipeline.console import main; main()"]


# --- one hand-made record, rendered in every input format ---------------------------------------

DROP = object()  # an override value that removes the field

_BASE: dict[str, Any] = {
    "category": "news",
    "title": "Gold ore found under the old mill",
    "excerpt": "Workers renovating the mill hit a seam of quartz with visible gold.",
    "publishedDateTime": "2021-05-10T07:01:00Z",
    "originalUrl": "https://news.example.com/local/gold-ore-mill",
    "webUrl": "https://news.example.com/local/gold-ore-mill",
    "type": "article",
    "quality": 39,
    "heat": -1,
    "published": False,
    "provider": {"name": "Example News", "domain": "News.Example.com"},
    "topics": ["Mining", "Local history"],
    "images": [
        {"url": "https://img.example.com/mill.jpg", "width": 639, "height": 426, "isCached": True}
    ],
    "related": [
        {
            "title": "Prospectors flock to the valley",
            "excerpt": "A second find has drawn hobby prospectors.",
            "publishedDateTime": "2021-05-06T14:37:00Z",
            "webUrl": "https://other.example.org/valley-prospectors.html",
            "ampWebUrl": "https://other.example.org/valley-prospectors.amp",
            "cdnAmpWebUrl": "https://other-example-org.cdn.example.net/c/valley-prospectors.amp",
            "type": "article",
            "provider": {"name": "other.example.org", "domain": "other.example.org"},
            "quality": 59,
            "images": [{"url": "https://img.example.org/v.jpg", "width": 1920, "height": 1280}],
        },
        {
            "title": "Unscored follow-up",
            "publishedDateTime": "2021-05-07T09:00:00Z",
            "webUrl": "https://third.example.net/follow-up",
            "type": "video",
        },
    ],
    "secured": "opaque-token==",
}

BODY = "The mill was built in 1820.\n\nIts owners plan a small museum."


def make_record(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A record as parsed front matter / JSON (camelCase); ``n`` makes title and URLs unique.

    Overrides replace fields; the value :data:`DROP` removes one.
    """
    record = copy.deepcopy(_BASE)
    if n:
        record["title"] = f"{record['title']} #{n}"
        for key in ("originalUrl", "webUrl"):
            record[key] = f"{record[key]}-{n}"
    for key, value in overrides.items():
        if value is DROP:
            record.pop(key, None)
        else:
            record[key] = value
    return record


# --- rendering --------------------------------------------------------------------------------

_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value)  # only for empty ones: [] / {}
    if _ISO_TIME.match(value):
        return value  # unquoted, as the aggregator writes it: YAML reads a timestamp
    return json.dumps(value, ensure_ascii=False)


def _emit(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(_emit(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, dict | list) and item:
                sub = _emit(item, indent + 2)
            else:
                sub = [" " * (indent + 2) + _scalar(item)]
            lines.append(f"{pad}- {sub[0][indent + 2 :]}")
            lines.extend(sub[1:])
    return lines


def yaml_header(record: dict[str, Any]) -> str:
    """The YAML front matter text of a record (without the ``---`` lines)."""
    return "".join(line + "\n" for line in _emit(record, 0))


def to_markdown(record: dict[str, Any], body: str = BODY) -> str:
    """A Markdown record: YAML front matter between ``---`` lines, then the body."""
    return f"---\n{yaml_header(record)}---\n{body}\n"


def to_api_object(record: dict[str, Any], body: str = BODY, offset_hours: int = -7) -> dict:
    """The same article as the JSON feed API serves it: `categories` list, `content`, and the
    publication time in a local offset (the same instant)."""
    obj = copy.deepcopy(record)
    obj.pop("secured", None)
    category = obj.pop("category", None)
    obj["categories"] = [category] if category is not None else None
    obj["content"] = body
    obj["path"] = "_news/some-article.md"
    obj["tags"] = None
    obj["featuredContent"] = None
    when = obj.get("publishedDateTime")
    if isinstance(when, str) and _ISO_TIME.match(when):
        instant = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        local = dt.timezone(dt.timedelta(hours=offset_hours))
        obj["publishedDateTime"] = instant.astimezone(local).isoformat()
    return obj


def feed_page(objects: list[dict], page: int = 1) -> dict:
    return {"page": page, "value": objects, "nextPage": None}


def jsonl_text(objects: Iterable[dict]) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects)


# --- writing files ----------------------------------------------------------------------------


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def write_md(path: Path, record: dict[str, Any] | None = None, body: str = BODY) -> Path:
    return write(path, to_markdown(record if record is not None else make_record(), body))


def write_json(path: Path, document: Any) -> Path:
    return write(path, json.dumps(document, ensure_ascii=False, indent=1))


def gz(data: str | bytes) -> bytes:
    return gzip.compress(data.encode("utf-8") if isinstance(data, str) else data, mtime=0)


def tar_bytes(members: Iterable[tuple[str, str | bytes]], mode: str = "w") -> bytes:
    """A tar (mode "w") or gzipped tar ("w:gz") built in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def zip_bytes(members: Iterable[tuple[str, str | bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def listing(root: Path) -> list[str]:
    """Every path under ``root`` (relative, sorted): to show nothing else was written."""
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, dirs, files in os.walk(root)
        for name in dirs + files
    )


# --- assertions -------------------------------------------------------------------------------


def assert_one_error(errors: list[LoadError], source: str | Path, *fragments: str) -> LoadError:
    """Exactly one error, naming ``source``, with a one-line reason containing ``fragments``."""
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert error.source == str(source), str(error)
    assert error.reason and "\n" not in error.reason and "Traceback" not in error.reason
    for fragment in fragments:
        assert fragment.lower() in error.reason.lower(), str(error)
    return error


# --- feeds whose quality follows the aggregator's rule ------------------------------------------
# Why a rule: a test can only notice a wrong score if the model has learned something it would
# lose. These records score like the real sites do (a provider tier, +20 for an image, +20 for
# an AMP link, a long-title cost, -15 when the title names none of the topics, a video tier),
# so a model trained on them reacts to every field a scoring bug could drop.

RULE_TIERS: dict[str, int] = {
    "alpha.com": 0,
    "beta.org": 40,
    "gamma.net": 90,
    "delta.io": 0,
    "youtube.com": 50,
}
RULE_TOPICS: tuple[str, ...] = ("Patch", "Season", "Beta", "Builds")


def rule_quality(
    level: int, tier: int, *, image: bool, amp: bool, title: str, topics: list[str]
) -> int:
    """The diablo4 rule (README "The model") at a site's ``level`` (diablo4's is 67)."""
    named = sum(topic.lower() in title.lower() for topic in topics)
    long_title = max(len(title) - 70, 0) // 2 if len(title) > 71 else 0
    no_topic = 15 * (named == 0) if topics else 0
    extra = 17 * max(named - 1, 0)
    return level + tier + 20 * image + 20 * amp - long_title - no_topic + extra


def rule_record(
    i: int,
    seed: int = 0,
    *,
    quality: bool = True,
    level: int = 67,
    tiers: dict[str, int] | None = None,
    related: bool | None = None,
) -> dict[str, Any]:
    """API-style record ``i`` (camelCase, like the feed pages) of a site at ``level`` whose
    providers sit at ``tiers``: every field the rule reads, and (every third record, or as
    ``related`` says) scored related entries of the same site, priced by the same rule."""
    tiers = tiers or RULE_TIERS
    rng = random.Random(seed * 100_003 + i)
    domains = sorted(tiers)
    domain = domains[i % len(domains)]
    topics = rng.sample(RULE_TOPICS, rng.choice([1, 1, 2]))

    def article(n: str, where: str) -> tuple[dict[str, Any], int]:
        image, amp = rng.random() < 0.6, rng.random() < 0.4
        named = rng.sample(topics, rng.choice([0, 1, len(topics)]))
        title = f"Story {n}: " + " and ".join(named or ["something else"])
        if rng.random() < 0.25:
            title += ", with everything else you might want to know about it in detail"
        entry: dict[str, Any] = {
            "title": title,
            "originalUrl": f"https://{where}/story-{n}",
            "type": "video" if where == "youtube.com" else "article",
            "provider": {"name": where.split(".")[0].title(), "domain": where},
        }
        if image:
            entry["images"] = [{"url": f"https://{where}/{n}.jpg", "width": 800, "height": 450}]
        if amp:
            entry["ampWebUrl"] = f"https://{where}/amp/story-{n}"
        score = rule_quality(level, tiers[where], image=image, amp=amp, title=title, topics=topics)
        return entry, score

    record, score = article(f"{seed}-{i}", domain)
    record.update(
        excerpt=f"An excerpt of story {i}, with a few words.",
        publishedDateTime=f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        topics=topics,
    )
    if related if related is not None else i % 3 == 0:
        listed = []
        for k in range(3):
            entry, entry_score = article(f"{seed}-{i}-r{k}", domains[(i + 1 + k) % len(domains)])
            listed.append({**entry, "quality": entry_score})
        record["related"] = listed
    if quality:
        record["quality"] = score
    return record


def write_rule_jsonl(path: Path, n: int, *, start: int = 0, seed: int = 0, **site: Any) -> Path:
    """``n`` rule records as one JSON Lines file (``site``: rule_record's level, tiers...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(rule_record(i, seed, **site)) + "\n" for i in range(start, start + n))
    path.write_text("".join(lines), encoding="utf-8")
    return path


# --- a small folder of scored records (reports, plots, notebook) --------------------------------
# Several providers, both structure levels, related entries -- some from providers the main
# records never show -- and dates spread over a year for the time protocol.

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


# --- Markdown records and a tiny real model (scoring, CLI, engines) -----------------------------

PROVIDERS = [("IGN", "ign.com", 120), ("Blog", "someblog.net", 60), ("Wire", "wire.org", 90)]


def record_meta(i: int, *, quality: bool = True) -> dict:
    """Front matter of a synthetic record: quality follows provider and image, like the real one."""
    name, domain, base = PROVIDERS[i % len(PROVIDERS)]
    image = i % 2 == 0
    meta = {
        "title": f"Article number {i} about {'patch notes' if i % 3 else 'a leak'}",
        "excerpt": f"Excerpt of article {i}.",
        "publishedDateTime": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}T10:00:00Z",
        "originalUrl": f"https://{domain}/news/{i}",
        "type": "video" if i % 5 == 0 else "article",
        "provider": {"name": name, "domain": domain},
        "topics": ["Diablo 4"],
    }
    if image:
        meta["images"] = [{"url": f"https://{domain}/{i}.jpg", "width": 800, "height": 450}]
    if i % 4 == 1:  # scored related entries, as many real records have
        meta["related"] = [
            {"title": f"Related {i}", "webUrl": f"https://{domain}/r/{i}", "quality": base - k}
            for k in (3, 9)
        ]
    if quality:
        meta["quality"] = base + (20 if image else -10) + (i % 7)
    return meta


def markdown(meta: dict, body: str = "Body text.\n") -> str:
    """A Markdown record as the aggregator writes it (JSON values are valid YAML)."""
    lines = ["---"]
    for key, value in meta.items():
        lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join([*lines, "---", "", body])


def write_corpus(folder: Path, n: int, *, start: int = 0, unscored: tuple[int, ...] = ()) -> list:
    """Write ``n`` Markdown records into ``folder``; those in ``unscored`` have no quality."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        path = folder / f"{i:04d}.md"
        path.write_text(markdown(record_meta(i, quality=i not in unscored)), encoding="utf-8")
        paths.append(path)
    return paths


def api_object(i: int, *, quality: bool = True) -> dict:
    """The same record as a JSON API object (camelCase, like the feed pages)."""
    return record_meta(i, quality=quality)


def train_tiny_model(folder: Path, path: Path, *, calibrated: bool = True) -> Path:
    """A real pipeline.model pipeline, trained (and calibrated) in about a second on records
    the test wrote; its artifact holds no explanation reference (the input's is used)."""
    from pipeline.artifact import save_artifact
    from pipeline.load import load_records
    from pipeline.model import make_model, training_rows
    from pipeline.model.calibration import calibrate

    write_corpus(folder, 60)
    frame = training_rows(load_records([str(folder)]).frame)
    y = frame["quality"].astype(float).to_numpy()
    model = make_model().fit(frame, y)
    if calibrated:
        model[-1].calibration_ = calibrate(model[-1], model[:-1].transform(frame), y)
    return save_artifact(model, path, metadata={})
