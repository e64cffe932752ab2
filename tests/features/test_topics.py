"""Which topics a title names: the rule's topic terms, one record and many at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.features.topics import TOPIC_FEATURES, topic_matrix, topic_values


def topic_matches(title: str, excerpt: str, topics: list[str]) -> dict[str, float]:
    return dict(zip(TOPIC_FEATURES, topic_values(title, excerpt, topics), strict=True))


def test_topic_matches_title_and_excerpt() -> None:
    m = topic_matches("New Barbarian build for Diablo 4", "", ["Diablo 4", "Barbarian"])
    assert m["topics_in_title"] == 2 and m["topics_extra_in_title"] == 1
    assert m["title_names_no_topic"] == 0
    m = topic_matches("Diablo IV skill trees", "diablo 4 news", ["Diablo 4"])
    assert m["title_names_no_topic"] == 1 and m["topics_in_excerpt"] == 1
    assert topic_matches("Anything", "", [])["title_names_no_topic"] == 0  # no topics: no cost


def test_the_matrix_equals_one_record_at_a_time() -> None:
    titles = ["Diablo 4 and Barbarian", "nothing", "DIABLO 4", "", "Rogue guide"]
    excerpts = ["", "diablo 4", "", "x", "rogue"]
    cells = pd.Series(
        [["Diablo 4", "Barbarian"], ["Diablo 4"], ["diablo 4", 1], None, ("Rogue", " ")],
        dtype=object,
    )
    expected = [
        topic_values(t, e, [str(x) for x in c if x is not None and str(x).strip()] if c else [])
        for t, e, c in zip(titles, excerpts, cells, strict=True)
    ]
    np.testing.assert_array_equal(topic_matrix(titles, excerpts, cells), np.asarray(expected))
