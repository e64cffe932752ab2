"""Checks on the real corpus in ../shared (third-party: read in place, never copied here).

Skipped when the corpus is absent. The seed record is read from ../shared/seed, like the corpus.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import CORPUS, SHARED, needs_corpus

from pipeline.load import load_records
from pipeline.load.parse import decode_text
from pipeline.load.yaml_backend import FastYAMLHandler
from pipeline.schema import COLUMNS

SEED = SHARED / "seed" / "000_72ea4ef02d840edc.txt"


@pytest.fixture(scope="module")
def md_result():
    return load_records([str(CORPUS / "diablo4"), str(CORPUS / "power-apps")])


@needs_corpus
def test_markdown_corpus_counts(md_result):
    frame = md_result.frame
    assert md_result.errors == []
    assert len(frame) == 1803
    assert int(frame["quality"].notna().sum()) == 1692
    counts = frame["url_key"].value_counts()
    repeated = counts[counts > 1]
    assert len(repeated) == 13
    assert int(repeated.sum()) == 33
    assert int(frame["is_duplicate"].sum()) == 20  # 33 records, one kept per URL
    assert frame.loc[~frame["is_duplicate"], "id"].is_unique  # same URL and time: same id
    assert set(frame["site"]) == {"diablo4", "power-apps"}
    assert list(frame.columns) == list(COLUMNS)


@needs_corpus
def test_feed_pages_are_twins_of_markdown_records(md_result):
    pages = sorted((CORPUS / "feeds").rglob("*.json"))
    assert len(pages) == 36
    feeds = load_records([str(p) for p in pages], duplicates="keep")
    assert feeds.errors == []
    assert len(feeds.frame) == 883
    assert set(feeds.frame["id"]) <= set(md_result.frame["id"])


@pytest.mark.skipif(not SEED.is_file(), reason="seed record absent")
def test_seed_record_is_complete():
    result = load_records(str(SEED))
    assert result.ok
    assert len(result.frame) == 1
    row = result.frame.iloc[0]
    allowed_missing = {"locale", "amp_url", "cdn_amp_url", "parent_id"}
    missing = {column for column in COLUMNS if _is_missing(row[column])}
    assert missing == allowed_missing
    assert row["published_at"] == pd.Timestamp("2021-05-10 07:01:00", tz="UTC")
    assert row["topics"] and row["related"]


def _is_missing(value) -> bool:
    if isinstance(value, list):
        return False
    return bool(pd.isna(value))


@needs_corpus
def test_yaml_backends_agree_on_every_corpus_file():
    fast = FastYAMLHandler()
    fallback = FastYAMLHandler(backend="pyyaml")
    assert fast.backend == "yaml-rs"
    files = sorted(CORPUS.rglob("*.md"))
    if SEED.is_file():
        files.append(SEED)
    assert len(files) > 1800
    for path in files:
        header, _ = fast.split(decode_text(path.read_bytes()))
        assert fast.load(header) == fallback.load(header), path
