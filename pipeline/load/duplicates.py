"""Repeated articles: rows that share a canonical URL are one article, seen several times."""

from __future__ import annotations

import pandas as pd


def mark_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Flag repeated articles: rows sharing a canonical URL (``url_key``) are one article.

    The rule: per URL, the row kept (``is_duplicate`` False) is the newest by publication time;
    among equals, one with a known ``quality``; then the first in input order. Main records and
    related-entry rows are judged separately, so a related row never hides a main record.
    Rows without a URL are never duplicates.
    """
    frame = frame.copy()
    order = pd.DataFrame(
        {
            "key": frame["url_key"],
            "related": frame["is_related"].fillna(False).astype(bool),
            "time": frame["published_at"],
            "unscored": frame["quality"].isna(),
            "position": range(len(frame)),
        },
        index=frame.index,
    )
    ranked = order.sort_values(
        ["related", "key", "time", "unscored", "position"],
        ascending=[True, True, False, True, True],
        na_position="last",
    )
    repeated = ranked.duplicated(subset=["related", "key"], keep="first") & ranked["key"].notna()
    frame["is_duplicate"] = repeated.reindex(frame.index).astype("boolean")
    return frame
