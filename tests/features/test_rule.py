"""The rule's terms: each as the aggregator prices it, for a frame and one entry alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.features.rule import RULE_TERMS, entry_terms, record_terms, title_penalty


@pytest.mark.parametrize(
    ("length", "penalty"), [(0, 0), (70, 0), (71, 0), (72, 1), (73, 1), (98, 14), (170, 50)]
)
def test_the_title_penalty_is_the_rules_floor(length: int, penalty: int) -> None:
    assert title_penalty(length) == penalty


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": ["Diablo 4 patch", "x" * 98, None, "Season and Patch notes", "Beta"],
            "excerpt": ["", None, "", "", ""],
            "topics": [["Diablo 4"], ["Patch"], None, ["Season", "Patch"], []],
            "image_count": pd.array([1, 0, None, 3, 1], dtype="Int64"),
            "amp_url": ["https://a/amp", None, " ", "https://b/amp", None],
        }
    )


def test_terms_of_a_few_records() -> None:
    S = pd.DataFrame(record_terms(_frame()), columns=list(RULE_TERMS))
    assert S["has_image"].tolist() == [1, 0, 0, 1, 1]
    assert S["has_amp"].tolist() == [1, 0, 0, 1, 0]  # a blank link is no link
    assert S["title_penalty"].tolist() == [0, 14, 0, 0, 0]
    assert S["title_names_no_topic"].tolist() == [0, 1, 0, 0, 0]  # no topics: no cost
    assert S["topics_extra_in_title"].tolist() == [0, 0, 0, 1, 0]


def test_a_frame_and_one_entry_at_a_time_agree() -> None:
    """Related entries are priced one by one (with their parent's topics): the same terms."""
    frame = _frame()
    topics = [t if isinstance(t, list) else [] for t in frame["topics"]]
    one_by_one = [
        entry_terms({k: (None if v is pd.NA else v) for k, v in row.items()}, topics[i])
        for i, row in enumerate(frame.to_dict("records"))
    ]
    np.testing.assert_array_equal(record_terms(frame), np.asarray(one_by_one))
