"""Which of a record's topics its title (and excerpt) names: the rule's topic terms.

A title that names none of the record's topics costs points, each further topic it names
earns some; matching is case-insensitive substring matching, as the aggregator's is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.features.cells import topic_lists

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
