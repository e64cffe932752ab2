"""Text feature step on a few hand-written records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from pipeline.features.text import TextStats, make_tfidf, text_stats, topic_matches


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": [
                "Diablo 4 Is HERE! Why 7 Classes?",
                "Widget Market Size, CAGR and Forecast to 2027 by Key Players",
                None,
            ],
            "excerpt": ["Blizzard has finally ...", "The global widget market", ""],
            "body": [None, None, None],
            "topics": [["Diablo 4", "Barbarian"], ["Widgets"], []],
        }
    )


def test_text_stats_counts_surface_cues() -> None:
    s = text_stats("Diablo 4 Is HERE! Why 7 Classes?", "title")
    assert s["title_chars"] == 32
    assert s["title_digits"] == 2
    assert s["title_question"] == 1 and s["title_exclaim"] == 1
    assert s["title_allcaps_words"] == 1  # HERE
    assert s["title_truncated"] == 0
    assert text_stats("and so on ...", "x")["x_truncated"] == 1
    assert text_stats("Widget market size, CAGR, forecast to 2027", "x")["x_press_release"] >= 3


def test_topic_matches_title_and_excerpt() -> None:
    m = topic_matches("New Barbarian build for Diablo 4", "", ["Diablo 4", "Barbarian"])
    assert m["topics_in_title"] == 2 and m["topics_extra_in_title"] == 1
    assert m["title_names_no_topic"] == 0
    m = topic_matches("Diablo IV skill trees", "diablo 4 news", ["Diablo 4"])
    assert m["title_names_no_topic"] == 1 and m["topics_in_excerpt"] == 1


def test_text_stats_step_shape_names_and_missing_text() -> None:
    X = _frame()
    step = TextStats().fit(X)
    out = step.transform(X)
    names = list(step.get_feature_names_out())
    assert out.shape == (3, len(names))
    assert np.isfinite(out).all()
    row = dict(zip(names, out[0], strict=True))
    assert row["excerpt_truncated"] == 1
    assert row["topics_in_title"] == 1
    assert row["title_chars_over_long"] == 0
    long_title = dict(zip(names, out[1], strict=True))
    assert long_title["title_press_release"] >= 3
    assert dict(zip(names, out[2], strict=True))["title_chars"] == 0


def test_text_stats_requires_fit() -> None:
    with pytest.raises(NotFittedError):
        TextStats().transform(_frame())


def test_tfidf_word_and_char_ngrams() -> None:
    X = pd.concat([_frame()] * 3, ignore_index=True)
    tfidf = make_tfidf().fit(X[["title", "excerpt"]])
    out = tfidf.transform(X[["title", "excerpt"]])
    names = tfidf.get_feature_names_out()
    assert out.shape == (9, len(names))
    assert any(n.startswith("all_char__") for n in names)
    assert any(n.startswith("title_word__") for n in names)
