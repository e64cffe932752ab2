"""Text feature step on a few hand-written records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from pipeline.features.cells import text_cells, topic_lists
from pipeline.features.text import (
    TOPIC_FEATURES,
    TextStats,
    make_tfidf,
    text_matrix,
    text_stats,
    text_values,
    topic_values,
)


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


def topic_matches(title: str, excerpt: str, topics: list[str]) -> dict[str, float]:
    return dict(zip(TOPIC_FEATURES, topic_values(title, excerpt, topics), strict=True))


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


# ---- the batch path equals the one-text-at-a-time definition --------------------------------
_PIECES = [
    *"aAzZ09_ .!?|-'\"\t\n\x00\x1c\x0b\x85\xa0\u2028\u3000…’‘“”–—éΣİ²Ⓐ\u0301\u200d😀１中",
    "20",
    "2023",
    "1999",
    "best ",
    "Top ",
    "CAGR",
    "...",
    " - ",
    "you won't believe",
    "you won’t believe",
    "best\xa0",
    "market size",
    "everything you need to",
    "A",
    "AB_1",
    "_X",
    "1A",
]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(_PIECES, size=rng.integers(0, 14)).tolist()) for _ in range(n)] + [
        "",
        " ",
        "...",
        "… \x1c",
        "x...\x1f",
        "\x00",
        "A",
        "ab" * 500,
        "Pokémon ’20",
    ]


def test_text_matrix_equals_text_values_on_tricky_texts() -> None:
    texts = _random_texts(4000, seed=0)
    expected = np.asarray([text_values(t) for t in texts], dtype=float)
    np.testing.assert_array_equal(text_matrix(texts), expected)
    ascii_only = [t for t in texts if t.isascii()]
    np.testing.assert_array_equal(
        text_matrix(ascii_only), np.asarray([text_values(t) for t in ascii_only])
    )
    assert text_matrix([]).shape == (0, len(text_values("")))


def _reference_rows(step: TextStats, X: pd.DataFrame) -> np.ndarray:
    """TextStats as it was written first: one text / one row at a time."""
    texts = {c: text_cells(list(X[c])) for c in step.columns_}
    width = len(text_values(""))
    cols = [np.asarray([text_values(t) for t in v]).reshape(len(X), width) for v in texts.values()]
    if "title" in texts:
        over = [[max(len(t) - step.long_title, 0)] for t in texts["title"]]
        cols.append(np.asarray(over, dtype=float).reshape(len(X), 1))
    if step.use_topics_:
        titles, excerpts = texts.get("title", [""] * len(X)), texts.get("excerpt", [""] * len(X))
        topics = topic_lists(list(X["topics"]))
        rows = [topic_values(titles[i], excerpts[i], tp) for i, tp in enumerate(topics)]
        cols.append(np.asarray(rows, dtype=float).reshape(len(X), 5))
    return np.hstack(cols).astype(float)


def test_text_stats_batch_path_equals_row_by_row_reference() -> None:
    rng = np.random.default_rng(1)
    texts = _random_texts(300, seed=2)
    n = len(texts)
    topic_cells: list[object] = [
        ["Diablo 4"],
        ["diablo 4", "Barbarian", "Diablo 4"],
        [],
        None,
        np.nan,
        "Diablo 4",  # not a list: no topics
        ("A", "  "),
        np.asarray(["Σ", "é"], dtype=object),
        [1, 1.0, None],  # equal non-strings must not share a group
        [1.0],
        ["20", None],
    ]
    X = pd.DataFrame(
        {
            "title": pd.Series(rng.permutation(texts), dtype="string"),
            "excerpt": [None if i % 7 == 0 else t for i, t in enumerate(rng.permutation(texts))],
            "body": [np.nan if i % 3 else 12.5 for i in range(n)],  # not text at all
            "topics": [topic_cells[i % len(topic_cells)] for i in range(n)],
        }
    )
    step = TextStats().fit(X)
    for frame in (X, X.iloc[:1], X.iloc[:0], X.iloc[::-1]):
        out = step.transform(frame)
        assert out.shape == (len(frame), len(step.get_feature_names_out()))
        np.testing.assert_array_equal(out, _reference_rows(step, frame))
    no_topics = X.drop(columns=["topics", "body"])
    step = TextStats().fit(no_topics)
    np.testing.assert_array_equal(step.transform(no_topics), _reference_rows(step, no_topics))
