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

from pipeline.features.cells import text_cells, topic_lists

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


# ---- batch path: the same statistics for many ASCII texts at once ------------------------------
# Disjoint byte classes of ASCII text (everything else, NUL included, is _OTHER).
_UPPER, _LOWER, _DIGIT, _UNDERSCORE, _QUESTION, _EXCLAIM, _QUOTE, _OTHER = range(8)
_N_CLASSES = 8
_BYTE_CLASS = np.full(256, _OTHER, dtype=np.uint8)  # small codes: less memory to touch
for _chars, _code in (
    ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _UPPER),
    ("abcdefghijklmnopqrstuvwxyz", _LOWER),
    ("0123456789", _DIGIT),
    ("_", _UNDERSCORE),
    ("?", _QUESTION),
    ("!", _EXCLAIM),
    ("\"'", _QUOTE),
):
    _BYTE_CLASS[list(_chars.encode("ascii"))] = _code
_DIGIT_BYTE = _BYTE_CLASS == _DIGIT
_CASE_BITS = np.where(_BYTE_CLASS == _UPPER, 1, np.where(_BYTE_CLASS == _LOWER, 2, 0))
_CASE_BITS = _CASE_BITS.astype(np.uint8)  # bit 0: upper-case letter, bit 1: lower-case
_ALL_CUES: tuple[str, ...] = CLICKBAIT_CUES + PRESS_RELEASE_CUES
assert all(len(c) >= 4 and c.isascii() and c == c.lower() for c in _ALL_CUES)
# Positions whose first two bytes could start a cue, then the cues sharing a 4-byte prefix.
_CUE_BIGRAMS = np.zeros(1 << 16, dtype=bool)
_CUES_BY_PREFIX: dict[int, list[tuple[int, bytes]]] = {}
for _i, _cue in enumerate(_ALL_CUES):
    _b = _cue.encode("ascii")
    _CUE_BIGRAMS[(_b[0] << 8) | _b[1]] = True
    _CUES_BY_PREFIX.setdefault(int.from_bytes(_b[:4], "big"), []).append((_i, _b))
_CUE_PREFIXES = np.asarray(sorted(_CUES_BY_PREFIX), dtype=np.uint32)


def _ascii_values(texts: list[str], originals: list[str] | None = None) -> np.ndarray:
    """:func:`text_values` of many ASCII texts as an (n, 14) matrix, with whole-batch passes.

    The texts are joined by NUL bytes into one buffer: character classes are counted with a
    byte lookup table and a cumulative sum read at the text boundaries; words are the runs of
    word bytes (``\\w+`` in ASCII), and the all-caps and year tests are made on those runs
    (``\\b20[0-4]\\d\\b`` is a run of exactly those four characters); cues are found by their
    first bytes and confirmed with ``startswith``. NUL is neither a word character nor part
    of any cue, so no word or cue spans two texts -- the counts are the same integers as
    :func:`text_values`, and the two ratios the same divisions.

    ``originals``: the texts before :func:`_as_ascii` (truncation and separators are read
    from them).
    """
    n = len(texts)
    out = np.zeros((n, len(_STAT_SUFFIXES)), dtype=float)
    if n == 0:
        return out
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    raw = "\0".join(texts).encode("ascii")
    buf = np.frombuffer(raw, dtype=np.uint8)

    code = np.take(_BYTE_CLASS, buf)
    byte_owner = np.repeat(np.arange(n, dtype=np.int64), lengths + 1)[: len(buf)]  # text of a byte
    counts = np.bincount(byte_owner * _N_CLASSES + code, minlength=n * _N_CLASSES)
    counts = counts.reshape(n, _N_CLASSES).astype(float)
    n_upper, n_lower = counts[:, _UPPER], counts[:, _LOWER]
    n_letters = n_upper + n_lower
    n_word_chars = n_letters + counts[:, _DIGIT] + counts[:, _UNDERSCORE]
    # word runs [run_start, run_end): maximal runs of [A-Za-z0-9_]
    word = (code <= _UNDERSCORE).view(np.int8)
    edges = np.diff(word, prepend=np.int8(0), append=np.int8(0))
    run_start, run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    run_owner = byte_owner[run_start]
    run_len = run_end - run_start
    if len(run_start):  # a run's segment reaches the next run: the gap has no letters
        case = np.bitwise_or.reduceat(np.take(_CASE_BITS, buf), run_start)
    else:
        case = np.zeros(0, dtype=np.uint8)
    allcaps = (run_len > 1) & (case == 1)  # an upper-case letter and no lower-case one
    four = run_start[run_len == 4]
    padded = np.concatenate([buf, np.zeros(4, dtype=np.uint8)])
    year = four[
        (padded[four] == ord("2"))
        & (padded[four + 1] == ord("0"))
        & (padded[four + 2] >= ord("0"))
        & (padded[four + 2] <= ord("4"))
        & _DIGIT_BYTE[padded[four + 3]]
    ]
    out[:, 0] = lengths
    out[:, 1] = np.bincount(run_owner, minlength=n)
    has_words = out[:, 1] > 0
    out[has_words, 2] = n_word_chars[has_words] / out[has_words, 1]
    out[:, 3] = counts[:, _DIGIT]
    out[:, 4] = counts[:, _QUESTION]
    out[:, 5] = counts[:, _EXCLAIM]
    has_letters = n_letters > 0
    out[has_letters, 6] = n_upper[has_letters] / n_letters[has_letters]
    out[:, 7] = np.bincount(run_owner[allcaps], minlength=n)
    plain = texts if originals is None else originals
    out[:, 8] = [t.rstrip().endswith(("...", "…")) for t in plain]
    out[:, 9] = [("|" in t) or (" - " in t) for t in plain]
    out[:, 10] = counts[:, _QUOTE] > 0
    out[:, 13] = np.bincount(byte_owner[year], minlength=n) > 0
    # cues: candidates by first two bytes, then by four, then the whole cue
    low = raw.lower()
    lbuf = np.frombuffer(low + b"\0\0\0\0", dtype=np.uint8).astype(np.uint32)
    bigrams = (lbuf[:-4] << 8) | lbuf[1:-3]
    cand = np.flatnonzero(_CUE_BIGRAMS[bigrams])
    prefix = (lbuf[cand] << 24) | (lbuf[cand + 1] << 16) | (lbuf[cand + 2] << 8) | lbuf[cand + 3]
    at = np.minimum(np.searchsorted(_CUE_PREFIXES, prefix), len(_CUE_PREFIXES) - 1)
    cand, prefix = cand[_CUE_PREFIXES[at] == prefix], prefix[_CUE_PREFIXES[at] == prefix]
    found: set[tuple[int, int]] = set()
    texts_of = byte_owner[cand].tolist()
    for text, pos, key in zip(texts_of, cand.tolist(), prefix.tolist(), strict=True):
        for i, cue in _CUES_BY_PREFIX[key]:
            if low.startswith(cue, pos):
                found.add((text, i))
    n_click = len(CLICKBAIT_CUES)
    for text, i in found:
        out[text, 11 if i < n_click else 12] += 1.0
    return out


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_QUOTE_MARKS = frozenset("‘’“”")
_STAND_INS: dict[str, str | None] = {}


def _stand_in(char: str) -> str | None:
    """An ASCII byte that every statistic treats like ``char``, or None if there is none.

    A non-ASCII character that is not alphanumeric (so not in ``\\w``, not a letter or a
    digit) and that ``lower()`` leaves alone counts only as one character, and as a quote if
    it is one: '"' for the quote marks, '#' for the rest (neither is in a cue; truncation and
    separators are read from the original text).
    """
    out = _STAND_INS.get(char)
    if out is None and char not in _STAND_INS:
        safe = not char.isalnum() and char.lower() == char
        out = _STAND_INS[char] = ('"' if char in _QUOTE_MARKS else "#") if safe else None
    return out


def _as_ascii(text: str) -> str | None:
    """``text`` with its non-ASCII characters replaced by stand-ins, or None if one has none."""
    found = set(_NON_ASCII.findall(text))
    table = {c: _stand_in(c) for c in found}
    if None in table.values():
        return None
    return _NON_ASCII.sub(lambda m: table[m.group()], text)  # type: ignore[arg-type,return-value]


def text_matrix(texts: list[str]) -> np.ndarray:
    """``[text_values(t) for t in texts]`` as an (n, 14) float matrix.

    ASCII texts, and texts whose other characters are punctuation-like (curly quotes,
    ellipses, dashes, non-breaking spaces), go through the batch path; the rest one by one.
    """
    out = np.empty((len(texts), len(_STAT_SUFFIXES)), dtype=float)
    if not any(texts):  # all empty (an unused column): one row of constants
        out[:] = text_values("")
        return out
    if all(map(str.isascii, texts)):
        out[:] = _ascii_values(texts)
        return out
    batch, converted, one_by_one = [], [], []
    for i, t in enumerate(texts):
        a = t if t.isascii() else _as_ascii(t)
        if a is None:
            one_by_one.append(i)
        else:
            batch.append(i)
            converted.append(a)
    if batch:
        out[batch] = _ascii_values(converted, [texts[i] for i in batch])
    if one_by_one:
        out[one_by_one] = [text_values(texts[i]) for i in one_by_one]
    return out


TOPIC_FEATURES: tuple[str, ...] = (
    "topics_n",
    "topics_in_title",
    "topics_in_excerpt",
    "title_names_no_topic",
    "topics_extra_in_title",
)


def topic_values(title: str, excerpt: str, topics: list[str]) -> list[float]:
    """How many of the record's topics its title / excerpt name (case-insensitive), in
    ``TOPIC_FEATURES`` order."""
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


def topic_matrix(
    titles: list[str], excerpts: list[str], topics: pd.Series | Sequence[object]
) -> np.ndarray:
    """``[topic_values(title, excerpt, topics)]`` of every row as an (n, 5) matrix.

    Rows are grouped by their topic list (usually one of a few), so each topic is lowered
    once and tested against the group's lowered titles/excerpts in one comprehension. Lists
    with anything but strings go row by row (equal non-strings such as 1 and 1.0 would
    share a group but not a ``str``).
    """
    n = len(titles)
    out = np.zeros((n, len(TOPIC_FEATURES)), dtype=float)
    groups: dict[tuple[str, ...], list[int]] = {}
    one_by_one: list[int] = []
    cells = topics.tolist() if isinstance(topics, pd.Series) else list(topics)
    for i, v in enumerate(cells):
        if type(v) is list and len(v) == 1 and type(v[0]) is str:  # the usual cell
            key: tuple[str, ...] = (v[0],)
        elif isinstance(v, list | tuple | np.ndarray):
            key = tuple(v)
            if not all(type(t) is str for t in key):
                one_by_one.append(i)
                continue
        else:
            continue
        group = groups.get(key)
        if group is None:
            groups[key] = [i]
        else:
            group.append(i)
    low_titles: list[str] | None = None
    low_excerpts: list[str] | None = None
    for key, rows in groups.items():
        lowered = [t.lower() for t in key if t.strip()]
        if not lowered:
            continue
        if low_titles is None or low_excerpts is None:
            low_titles, low_excerpts = list(map(str.lower, titles)), list(map(str.lower, excerpts))
        group_titles = [low_titles[i] for i in rows]
        group_excerpts = [low_excerpts[i] for i in rows]
        in_title = np.zeros(len(rows), dtype=float)
        in_excerpt = np.zeros(len(rows), dtype=float)
        for tp in lowered:
            in_title += [tp in t for t in group_titles]
            in_excerpt += [tp in e for e in group_excerpts]
        out[rows, 0] = float(len(lowered))
        out[rows, 1] = in_title
        out[rows, 2] = in_excerpt
        out[rows, 3] = in_title == 0
        out[rows, 4] = np.maximum(in_title - 1, 0)
    for i in one_by_one:
        out[i] = topic_values(titles[i], excerpts[i], topic_lists([cells[i]])[0])
    return out


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
        names += list(TOPIC_FEATURES) if self.use_topics_ else []
        return names

    def _rows(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self._matrix(X), columns=self._names(), index=X.index)

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        n = len(X)
        names = self._names()
        out = np.empty((n, len(names)), dtype=float)
        texts = {c: text_cells(X[c]) for c in self.columns_}
        at = 0
        width = len(_STAT_SUFFIXES)
        for vals in texts.values():
            out[:, at : at + width] = text_matrix(vals)
            at += width
        if "title" in texts:
            long_title = self.long_title
            out[:, at] = [float(max(len(v) - long_title, 0)) for v in texts["title"]]
            at += 1
        if self.use_topics_:
            titles = texts.get("title", [""] * n)
            excerpts = texts.get("excerpt", [""] * n)
            out[:, at : at + 5] = topic_matrix(titles, excerpts, X["topics"])
            at += 5
        assert at == len(names)
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self._matrix(X)

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
        parts = [text_cells(X[c]) for c in self.columns_]
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
