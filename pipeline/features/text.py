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


def _one_text(v: object) -> str:
    """``_as_text([v])[0]`` for one value."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    return str(v)


def _as_topics(values: pd.Series | Sequence[object]) -> list[list[str]]:
    out: list[list[str]] = []
    for v in values:
        if isinstance(v, list | tuple | np.ndarray):
            out.append([str(t) for t in v if t is not None and str(t).strip()])
        else:
            out.append([])
    return out


_STAT_SUFFIXES: tuple[str, ...] = (
    "chars",
    "words",
    "mean_word_len",
    "digits",
    "question",
    "exclaim",
    "caps_ratio",
    "allcaps_words",
    "truncated",
    "pipe",
    "quote",
    "clickbait",
    "press_release",
    "year_mention",
)
_YEAR = re.compile(r"\b20[0-4]\d\b")
_QUOTES = re.compile("[\"'‘’“”]")


def _ascii_complement(keep: bytes) -> bytes:
    return bytes(b for b in range(128) if b not in keep)


_NOT_ASCII_ALPHA = _ascii_complement(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_NOT_ASCII_UPPER = _ascii_complement(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NOT_ASCII_DIGIT = _ascii_complement(b"0123456789")


def text_stats(text: str, prefix: str) -> dict[str, float]:
    """Surface statistics of one text (pure function, shared by steps and related entries)."""
    return dict(zip([f"{prefix}_{s}" for s in _STAT_SUFFIXES], text_values(text), strict=True))


def text_values(text: str) -> list[float]:
    """The values of :func:`text_stats`, in ``_STAT_SUFFIXES`` order (no dict per text).

    Counting runs through C-level ``map``/``filter`` instead of per-character generators;
    the results are the same numbers (integer sums, one division).
    """
    words = _WORD.findall(text)
    if text.isascii():  # ASCII: isalpha/isdigit/isupper are exactly these byte classes
        raw = text.encode("ascii")
        n_letters = len(raw.translate(None, _NOT_ASCII_ALPHA))
        n_upper = len(raw.translate(None, _NOT_ASCII_UPPER))
        n_digits = len(raw.translate(None, _NOT_ASCII_DIGIT))
    else:
        letters = "".join(filter(str.isalpha, text))
        n_letters = len(letters)
        n_upper = sum(map(str.isupper, letters))
        n_digits = sum(map(str.isdigit, text))
    low = text.lower()
    n_words = len(words)
    return [
        float(len(text)),
        float(n_words),
        sum(map(len, words)) / n_words if n_words else 0.0,
        float(n_digits),
        float(text.count("?")),
        float(text.count("!")),
        (n_upper / n_letters) if n_letters else 0.0,
        float(sum(1 for w in filter(str.isupper, words) if len(w) > 1)),
        float(text.rstrip().endswith(("...", "…"))),
        float(("|" in text) or (" - " in text)),
        float(_QUOTES.search(text) is not None),
        float(sum(map(low.__contains__, CLICKBAIT_CUES))),
        float(sum(map(low.__contains__, PRESS_RELEASE_CUES))),
        float("20" in text and _YEAR.search(text) is not None),
    ]


def topic_matches(title: str, excerpt: str, topics: list[str]) -> dict[str, float]:
    """How many of the record's topics its title / excerpt name (case-insensitive)."""
    return dict(zip(_TOPIC_NAMES, _topic_values(title, excerpt, topics), strict=True))


_TOPIC_NAMES: tuple[str, ...] = (
    "topics_n",
    "topics_in_title",
    "topics_in_excerpt",
    "title_names_no_topic",
    "topics_extra_in_title",
)


def _topic_values(title: str, excerpt: str, topics: list[str]) -> list[float]:
    """The values of :func:`topic_matches`, in ``_TOPIC_NAMES`` order."""
    if not topics:
        return [0.0, 0.0, 0.0, 0.0, 0.0]
    t, e = title.lower(), excerpt.lower()
    lowered = [tp.lower() for tp in topics]
    in_title = sum(1 for tp in lowered if tp in t)
    in_excerpt = sum(1 for tp in lowered if tp in e)
    return [
        float(len(topics)),
        float(in_title),
        float(in_excerpt),
        float(in_title == 0),
        float(max(in_title - 1, 0)),
    ]


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
        names = self._names()
        out = np.empty((n, len(names)), dtype=float)
        texts = {c: _as_text(X[c]) for c in self.columns_}
        at = 0
        width = len(_STAT_SUFFIXES)
        for vals in texts.values():
            if n:
                out[:, at : at + width] = [text_values(v) for v in vals]
            at += width
        if "title" in texts:
            long_title = self.long_title
            out[:, at] = [float(max(len(v) - long_title, 0)) for v in texts["title"]]
            at += 1
        if self.use_topics_:
            titles = texts.get("title", [""] * n)
            excerpts = texts.get("excerpt", [""] * n)
            topics = _as_topics(X["topics"])
            if n:
                out[:, at : at + 5] = [
                    _topic_values(titles[i], excerpts[i], tp) for i, tp in enumerate(topics)
                ]
            at += 5
        assert at == len(names)
        return pd.DataFrame(out, columns=names, index=X.index)

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
