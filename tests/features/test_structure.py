"""Structure feature step on a few hand-written records."""

from __future__ import annotations

import numpy as np
import pandas as pd
from oracles import structure_rows

from pipeline.features.structure import StructureFeatures


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


def _one(**record: object) -> dict[str, float]:
    X = pd.DataFrame([record])
    step = StructureFeatures().fit(X)
    return dict(zip(step.get_feature_names_out(), step.transform(X)[0], strict=True))


def test_flags_of_one_record() -> None:
    f = _one(image_count=2, amp_url="https://x/amp", type="Video")
    assert (f["has_image"], f["has_amp"], f["is_video"]) == (1.0, 1.0, 1.0)
    assert (f["has_cdn_amp"], f["has_web_url"]) == (0.0, 0.0)
    assert _one(title="x")["has_image"] == 0.0


def test_related_quality_statistics() -> None:
    s = _one(related=[{"quality": 80}, {"quality": 100}, {"quality": None}])
    assert s["related_n"] == 3 and s["related_scored_n"] == 2
    assert s["related_q_mean"] == 90 and s["related_q_min"] == 80 and s["related_q_max"] == 100
    assert np.isnan(_one(related=[])["related_q_mean"])


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


def _tricky_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Missing values of every kind, numbers as text / numpy scalars, odd related lists."""
    rng = np.random.default_rng(seed)

    def pick(options: list[object]) -> list[object]:
        return [options[i] for i in rng.integers(0, len(options), size=n)]

    def related() -> object:
        k = int(rng.choice([0, 1, 2, 3, 8, 9, 20]))
        entries: list[object] = [
            {
                "quality": rng.choice([np.nan, None, 11.0, 67.5, 0.1 * rng.normal(90, 30)]),
                "type": rng.choice(["video", " Video ", "article", None, ""]),
            }
            for _ in range(k)
        ]
        if rng.random() < 0.1:
            entries.append("not a dict")
        options: list[object] = [entries, None, np.nan, "x"]
        return options[int(rng.choice(4, p=[0.8, 0.1, 0.05, 0.05]))]

    return pd.DataFrame(
        {
            "type": pd.array(pick(["article", "video", "VIDEO ", None, ""]), dtype="string"),
            "image_count": pd.array(pick([0, 1, 3, None]), dtype="Int64"),
            "image_width": pd.array(pick([1200, 0, None, 7]), dtype="Int64"),
            "image_height": pd.array(pick([600, 0, None, 3]), dtype="Int64"),
            "amp_url": pd.array(pick(["https://a/amp", None, "  ", ""]), dtype="string"),
            "cdn_amp_url": pick(["https://cdn/x", None, np.nan, " ", np.float64("nan")]),
            "web_url": pick(["https://a.com/x", None, "\t"]),
            "original_url": pick(["https://o/x", None, 3]),
            "has_featured_content": pd.array(pick([True, False, None]), dtype="boolean"),
            "related": [related() for _ in range(n)],
            "related_count": pd.array(pick([0, 2, None]), dtype="Int64"),
        }
    )


def test_column_wise_transform_equals_record_by_record() -> None:
    X = _tricky_frame()
    step = StructureFeatures().fit(X)
    for frame in (X, X.iloc[:1], X.iloc[:0], X.iloc[::-1]):
        out = step.transform(frame)
        assert out.shape == (len(frame), len(step.get_feature_names_out()))
        np.testing.assert_array_equal(out, structure_rows(frame))
    # numbers of other dtypes (plain numpy, object with numpy scalars, text), missing columns
    odd = X.assign(
        image_count=X["image_count"].astype("float64"),
        image_width=[None if pd.isna(v) else np.int64(v) for v in X["image_width"]],
        image_height=[None if pd.isna(v) else str(v) for v in X["image_height"]],
        has_featured_content=X["has_featured_content"].astype(object),
    ).drop(columns=["web_url", "type"])
    np.testing.assert_array_equal(step.transform(odd), structure_rows(odd))
