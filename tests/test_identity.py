"""What makes two records the same article: one canonical URL key for every stage."""

from __future__ import annotations

import pytest

from pipeline.errors import RecordError
from pipeline.identity import canonical_url, record_id, url_key


def test_the_key_ignores_what_does_not_name_another_page() -> None:
    key = canonical_url("https://www.A.com/x/#top")
    assert key == "https://a.com/x"
    assert canonical_url("HTTPS://a.com/x/") == key
    assert canonical_url("") is None and canonical_url(None) is None


def test_queries_name_other_pages() -> None:
    """youtube.com/watch?v=1 and ?v=2 are two videos, not one article."""
    assert canonical_url("https://youtube.com/watch?v=1") != canonical_url(
        "https://youtube.com/watch?v=2"
    )


def test_url_key_never_fails_on_a_cell() -> None:
    assert url_key("https://www.a.com/x/") == canonical_url("https://a.com/x")
    for cell in (None, float("nan"), 3, "", "  ", "http://[::1"):
        assert url_key(cell) == ""
    with pytest.raises(RecordError, match="not a valid URL"):
        canonical_url("http://[::1")


def test_record_ids_join_formats_and_need_a_title_only_without_url() -> None:
    assert record_id("https://a.com/x", None, "A") == record_id("https://a.com/x", None, "B")
    assert record_id(None, None, "A") != record_id(None, None, "B")
