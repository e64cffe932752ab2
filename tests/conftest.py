"""Small hand-made records for the loader tests, rendered in every input format.

No test reads the third-party corpus except ``test_corpus.py`` (skipped when it is absent):
every other test writes its own few records through the helpers below.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import io
import json
import os
import re
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import LoadError

DROP = object()  # an override value that removes the field
# The `score` console script as a child process (the entry point pyproject.toml installs),
# runnable from the checkout without an installed script.
SCORE = [sys.executable, "-c", "from pipeline.console import main; main()"]

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


@pytest.fixture
def record() -> dict[str, Any]:
    return make_record()
