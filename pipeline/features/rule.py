"""The aggregator's rule: the structure terms every site prices, for records and related entries.

On diablo4 every scored record fits exactly::

    quality = 67 + 20·[image] + 20·[AMP link] − ⌊(len(title) − 70) / 2⌋ (titles over 71)
              − 15·[title names none of the topics] + 17·[each further topic in the title]
              + provider tier

and the other sites use the same terms, with their own level, tiers and sometimes prices.
So these terms are what sites share; :mod:`pipeline.model.site_rule` learns their prices once
and each site's level and tiers apart. A related entry is priced with its parent's topics
(it has none of its own; it is an article of the same site, shown beside the parent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline.features.cells import (
    column_numbers,
    column_texts,
    column_values,
    missing,
    number,
    one_text,
)
from pipeline.features.topics import TOPIC_FEATURES, topic_matrix, topic_values

LONG_TITLE = 70  # characters a title may have before each further two cost a point
RULE_TERMS: tuple[str, ...] = (
    "has_image",
    "has_amp",
    "title_penalty",
    "title_names_no_topic",
    "topics_extra_in_title",
)
# The fields each term reads (explanations name the fields; see pipeline.predict.explain).
TERM_FIELDS: dict[str, tuple[str, ...]] = {
    "has_image": ("images",),
    "has_amp": ("amp_url",),
    "title_penalty": ("title",),
    "title_names_no_topic": ("title", "topics"),
    "topics_extra_in_title": ("title", "topics"),
}
_TOPIC_TERMS = [TOPIC_FEATURES.index(name) for name in RULE_TERMS[3:]]


def title_penalty(length: int) -> float:
    """⌊(length − 70) / 2⌋ for titles over 71 characters, else 0."""
    return float((length - LONG_TITLE) // 2) if length > LONG_TITLE + 1 else 0.0


def entry_terms(entry: Mapping[str, object], topics: Sequence[str]) -> list[float]:
    """The :data:`RULE_TERMS` of one record or related entry (``topics``: the record's)."""
    get = entry.get
    count = number(get("image_count"))
    title = one_text(get("title"))
    named = topic_values(title, one_text(get("excerpt")), list(topics))
    return [
        float((count if not np.isnan(count) else 0.0) > 0),
        float(not missing(get("amp_url"))),
        title_penalty(len(title)),
        *(named[i] for i in _TOPIC_TERMS),
    ]


def record_terms(X: pd.DataFrame) -> np.ndarray:
    """The :data:`RULE_TERMS` of every record of ``X``, column by column, as (n, 5)."""
    S = np.zeros((len(X), len(RULE_TERMS)), dtype=float)
    count = column_numbers(X, "image_count")
    S[:, 0] = np.where(np.isnan(count), 0.0, count) > 0
    S[:, 1] = [not missing(v) for v in column_values(X, "amp_url")]
    titles = column_texts(X, "title")
    S[:, 2] = [title_penalty(len(t)) for t in titles]
    if "topics" in X.columns:
        S[:, 3:5] = topic_matrix(titles, column_texts(X, "excerpt"), X["topics"])[:, _TOPIC_TERMS]
    return S
