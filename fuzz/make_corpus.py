"""Write the seed corpus of fuzz/fuzz_records.py into fuzz/corpus/ (made-up records only).

Each seed starts with the target byte the harness dispatches on (see fuzz_records.py). The
records are invented here; nothing comes from the third-party corpus in /work/shared.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

CORPUS = Path(__file__).with_name("corpus")

MARKDOWN = """---
category: news
title: "Robots learn to fold laundry"
excerpt: "A lab shows a two-armed robot folding towels."
publishedDateTime: 2022-03-04T05:06:07Z
originalUrl: "https://example.org/robots-fold"
webUrl: "https://example.org/robots-fold"
type: article
quality: 57
heat: 3
published: true
provider:
  name: Example Org
  domain: example.org
topics:
  - Robotics
  - AI
images:
  - url: "https://example.org/img.jpg"
    width: 640
    height: 480
related:
  - title: "Folding is hard"
    publishedDateTime: 2022-03-01T00:00:00Z
    webUrl: "https://example.net/folding"
    provider:
      name: example.net
      domain: example.net
    quality: 44
base: &base {type: article, quality: 12}
copy: *base
---

Body text.
"""

RECORD = {
    "title": "Quantum chips get colder",
    "excerpt": "A new fridge reaches 5 mK.",
    "publishedDateTime": "2023-01-02T03:04:05Z",
    "webUrl": "https://example.com/q?x=1#frag",
    "type": "video",
    "provider": {"name": "Example", "domain": "WWW.Example.com"},
    "images": [{"width": 100, "height": "50"}],
    "topics": ["Quantum", 3, None],
    "categories": ["science"],
    "quality": "61.5",
    "published": "false",
    "featuredContent": {"x": 1},
    "content": "Long body",
}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def seeds() -> dict[str, bytes]:
    """Seed name -> bytes (target byte first)."""
    md = MARKDOWN.encode()
    line = json.dumps(RECORD).encode()
    members = {
        "site/a.md": md,
        "site/b.jsonl": line + b"\n",
        "site/c.json.gz": gzip.compress(json.dumps([RECORD]).encode()),
        "../evil.md": md,
    }
    return {
        "md": b"\x00" + md,
        "md_crlf_bom": b"\x00\xef\xbb\xbf" + md.replace(b"\n", b"\r\n"),
        "md_pyyaml": b"\x01" + md,
        "md_bomb": b"\x01---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, *b]\n---\n",
        "json_record": b"\x02" + json.dumps(RECORD).encode(),
        "json_array": b"\x02" + json.dumps([RECORD, 1, {"title": None}]).encode(),
        "json_feed": b"\x02" + json.dumps({"page": 1, "value": [RECORD]}).encode(),
        "jsonl": b"\x03" + line + b"\n\n[1]\n{bad\n" + line,
        "zip": b"\x04" + _zip(members),
        "tar": b"\x05" + _tar(members),
        "edit": b"\x06\x00" + md,
        "edit_crlf": b"\x06\x01" + md.replace(b"\n", b"\r\n"),
    }


def main() -> None:
    """Write the seeds."""
    CORPUS.mkdir(exist_ok=True)
    for name, data in seeds().items():
        (CORPUS / f"seed_{name}").write_bytes(data)


if __name__ == "__main__":
    main()
