"""Structure feature step on a few hand-written records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.features.structure import StructureFeatures, entry_flags, related_quality_stats


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "type": ["article", "video", None],
            "image_count": pd.array([1, 1, 0], dtype="Int64"),
            "image_width": pd.array([1200, 480, None], dtype="Int64"),
            "image_height": pd.array([600, 360, None], dtype="Int64"),
            "amp_url": ["https://a.com/amp/x", None, None],
            "cdn_amp_url": ["https://cdn/x", None, None],
            "web_url": ["https://a.com/x", None, "https://c.com/z"],
            "original_url": ["https://a.com/x", "https://youtube.com/watch?v=1", None],
            "has_featured_content": pd.array([False, True, None], dtype="boolean"),
            "related": [
                [{"quality": 80.0, "type": "article"}, {"quality": 100.0, "type": "video"}],
                [],
                None,
            ],
            "related_count": pd.array([2, 0, 0], dtype="Int64"),
        }
    )


def test_entry_flags() -> None:
    f = entry_flags({"image_count": 2, "amp_url": "https://x/amp", "type": "Video"})
    assert f == {
        "has_image": 1.0,
        "has_amp": 1.0,
        "has_cdn_amp": 0.0,
        "has_web_url": 0.0,
        "is_video": 1.0,
    }
    assert entry_flags({})["has_image"] == 0.0


def test_related_quality_stats() -> None:
    s = related_quality_stats([{"quality": 80}, {"quality": 100}, {"quality": None}])
    assert s["related_n"] == 3 and s["related_scored_n"] == 2
    assert s["related_q_mean"] == 90 and s["related_q_min"] == 80 and s["related_q_max"] == 100
    assert np.isnan(related_quality_stats([])["related_q_mean"])


def test_structure_step_values() -> None:
    X = _frame()
    step = StructureFeatures().fit(X)
    names = list(step.get_feature_names_out())
    out = pd.DataFrame(step.transform(X), columns=names)
    assert out.loc[0, "has_amp"] == 1 and out.loc[0, "has_cdn_amp"] == 1
    assert out.loc[0, "image_aspect"] == 2.0 and out.loc[0, "image_area"] == 720000
    assert out.loc[1, "is_video"] == 1 and out.loc[1, "has_featured_content"] == 1
    assert out.loc[1, "has_web_url"] == 0
    assert out.loc[0, "related_q_mean"] == 90 and out.loc[0, "related_share_video"] == 0.5
    assert out.loc[2, "has_image"] == 0 and np.isnan(out.loc[2, "image_aspect"])
    assert out.loc[2, "related_n"] == 0
