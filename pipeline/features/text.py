"""Text features: surface statistics of title/excerpt/body and n-gram TF-IDF.

Why these: the aggregator's score reacts to the *form* of a headline more than to its topic
(long titles lose points, a title that names none of the record's topics loses points, each
extra topic named gains points), so the hand-made statistics below carry most of the signal;
TF-IDF catches the remaining lexical cues (clickbait, press releases).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

TEXT_COLUMNS: tuple[str, ...] = ("title", "excerpt", "body")

CLICKBAIT_CUES: tuple[str, ...] = (
    "you won't believe",
    "you need to",
    "everything we know",
    "everything you need",
    "here's why",
    "here's how",
    "this is why",
    "what we know",
    "revealed",
    "shocking",
    "best ",
    "top ",
    "reasons",
    "must ",
    "insane",
    "amazing",
    "reaction",
    "rumor",
    "leak",
)
PRESS_RELEASE_CUES: tuple[str, ...] = (
    "market size",
    "market share",
    "cagr",
    "forecast to",
    "forecast period",
    "market research",
    "press release",
    "key players",
    "industry analysis",
    "globenewswire",
    "prnewswire",
    "business wire",
    "announces",
)

_WORD = re.compile(r"\w+", re.UNICODE)


def _as_text(values: pd.Series | Sequence[object]) -> list[str]:
    """Missing text becomes "" so every statistic is defined."""
    return [
        "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)
        for v in values
    ]


def _as_topics(values: pd.Series | Sequence[object]) -> list[list[str]]:
    out: list[list[str]] = []
    for v in values:
        if isinstance(v, list | tuple | np.ndarray):
            out.append([str(t) for t in v if t is not None and str(t).strip()])
        else:
            out.append([])
    return out


def text_stats(text: str, prefix: str) -> dict[str, float]:
    """Surface statistics of one text (pure function, shared by steps and related entries)."""
    words = _WORD.findall(text)
    letters = [c for c in text if c.isalpha()]
    low = text.lower()
    return {
        f"{prefix}_chars": float(len(text)),
        f"{prefix}_words": float(len(words)),
        f"{prefix}_mean_word_len": float(np.mean([len(w) for w in words])) if words else 0.0,
        f"{prefix}_digits": float(sum(c.isdigit() for c in text)),
        f"{prefix}_question": float(text.count("?")),
        f"{prefix}_exclaim": float(text.count("!")),
        f"{prefix}_caps_ratio": (sum(c.isupper() for c in letters) / len(letters))
        if letters
        else 0.0,
        f"{prefix}_allcaps_words": float(sum(1 for w in words if len(w) > 1 and w.isupper())),
        f"{prefix}_truncated": float(text.rstrip().endswith(("...", "…"))),
        f"{prefix}_pipe": float(("|" in text) or (" - " in text)),
        f"{prefix}_quote": float(any(q in text for q in "\"'‘’“”")),
        f"{prefix}_clickbait": float(sum(c in low for c in CLICKBAIT_CUES)),
        f"{prefix}_press_release": float(sum(c in low for c in PRESS_RELEASE_CUES)),
        f"{prefix}_year_mention": float(bool(re.search(r"\b20[0-4]\d\b", text))),
    }


def topic_matches(title: str, excerpt: str, topics: list[str]) -> dict[str, float]:
    """How many of the record's topics its title / excerpt name (case-insensitive)."""
    t, e = title.lower(), excerpt.lower()
    in_title = sum(1 for tp in topics if tp.lower() in t)
    in_excerpt = sum(1 for tp in topics if tp.lower() in e)
    return {
        "topics_n": float(len(topics)),
        "topics_in_title": float(in_title),
        "topics_in_excerpt": float(in_excerpt),
        "title_names_no_topic": float(bool(topics) and in_title == 0),
        "topics_extra_in_title": float(max(in_title - 1, 0)),
    }


class TextStats(TransformerMixin, BaseEstimator):
    """Length, punctuation, capitals, truncation, cue counts and topic matches per text column.

    Input: a DataFrame with any of ``title``, ``excerpt``, ``body`` and optionally ``topics``.
    """

    def __init__(self, columns: Sequence[str] = TEXT_COLUMNS, long_title: int = 70) -> None:
        self.columns = columns
        self.long_title = long_title

    def fit(self, X: pd.DataFrame, y: object = None) -> TextStats:
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.columns_ = [c for c in self.columns if c in X.columns]
        self.use_topics_ = "topics" in X.columns
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        return self

    def _names(self) -> list[str]:
        names = [k for c in self.columns_ for k in text_stats("", c)]
        names += ["title_chars_over_long"] if "title" in self.columns_ else []
        names += list(topic_matches("", "", [])) if self.use_topics_ else []
        return names

    def _rows(self, X: pd.DataFrame) -> pd.DataFrame:
        n = len(X)
        texts = {c: _as_text(X[c]) for c in self.columns_}
        rows: list[dict[str, float]] = [{} for _ in range(n)]
        for c, vals in texts.items():
            for i, v in enumerate(vals):
                rows[i].update(text_stats(v, c))
        if "title" in texts:
            for i, v in enumerate(texts["title"]):
                rows[i]["title_chars_over_long"] = float(max(len(v) - self.long_title, 0))
        if self.use_topics_:
            titles = texts.get("title", [""] * n)
            excerpts = texts.get("excerpt", [""] * n)
            for i, tp in enumerate(_as_topics(X["topics"])):
                rows[i].update(topic_matches(titles[i], excerpts[i], tp))
        return pd.DataFrame(rows, columns=self._names(), index=X.index, dtype=float)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self._rows(X).to_numpy(dtype=float)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()


class JoinText(TransformerMixin, BaseEstimator):
    """Concatenate text columns into one string per row (input of a TfidfVectorizer)."""

    def fit(self, X: pd.DataFrame, y: object = None) -> JoinText:
        self.n_features_in_ = X.shape[1]
        self.columns_ = list(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "columns_")
        parts = [_as_text(X[c]) for c in self.columns_]
        return np.asarray([" \n ".join(p) for p in zip(*parts, strict=True)], dtype=object)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(["text"], dtype=object)


def make_tfidf(
    columns: Sequence[str] = ("title", "excerpt"),
    max_word_features: int = 3000,
    max_char_features: int = 3000,
) -> ColumnTransformer:
    """Word (1-2) and char_wb (3-5) TF-IDF on the title and on the joined title+excerpt.

    Sublinear tf and min_df=2 keep it small and stable on corpora of a few thousand records.
    """
    from sklearn.pipeline import make_pipeline

    def word(n: int) -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, max_features=n, sublinear_tf=True, dtype=np.float64
        )

    def char(n: int) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            min_df=2,
            max_features=n,
            sublinear_tf=True,
            dtype=np.float64,
        )

    cols = list(columns)
    return ColumnTransformer(
        [
            ("title_word", make_pipeline(JoinText(), word(max_word_features // 2)), ["title"]),
            ("all_word", make_pipeline(JoinText(), word(max_word_features)), cols),
            ("all_char", make_pipeline(JoinText(), char(max_char_features)), cols),
        ],
        sparse_threshold=1.0,
    )
