"""Evaluation protocols: splits, the model beside its baselines, intervals that hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_site_rule import OTHER_TIERS, site_frame

from pipeline import model as M
from pipeline.model.splits import few_shot_splits, splits


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.concat(
        [
            site_frame("big", 160, related=True),
            site_frame("small", 60, seed=1, level=17, tiers=OTHER_TIERS, related=False),
        ],
        ignore_index=True,
    )


# MAE of the model on `frame`, about twice what each protocol gives (the rule is exact, so a
# correct model is within a point; the baselines are tens of points off).
MODEL_MAE = {"random": 0.5, "time": 0.5, "provider": 10.0, "site": 20.0}


@pytest.mark.parametrize("protocol", ["random", "time", "provider", "site"])
def test_protocols_report_the_model_beside_the_baselines(frame, protocol) -> None:
    res = M.evaluate(frame, protocol, seed=0)
    assert set(res.metrics) == {"model", "global_mean", "provider_mean", "shared_rule"}
    for values in res.metrics.values():
        assert {"mae", "rmse", "r2", "spearman", "n"} <= set(values)
    assert res.metrics["model"]["mae"] <= MODEL_MAE[protocol]
    assert res.metrics["global_mean"]["mae"] > 10
    assert res.metrics["model"]["coverage"] >= 0.85
    assert {"id", "fold", "site", "novelty", "cls", "y", "pred", "low", "high"} <= set(
        res.predictions
    )
    assert res.to_dict()["protocol"] == protocol


def test_leave_one_site_out_has_a_row_per_site_and_places_a_site_with_related_entries(frame):
    res = M.evaluate(frame, "site")
    table = res.fold_table()
    assert list(table.index) == ["big", "small"]
    # big's records carry related entries: placed almost exactly, honest narrow interval
    assert table.loc["big", "model_mae"] < 1.0 and table.loc["big", "coverage"] >= 0.85
    # small's carry none: it cannot be placed; its interval says so (the whole scale)
    assert table.loc["small", "coverage"] == 1.0
    assert table.loc["small", "median_width"] > 100
    classes = res.class_table()
    assert set(classes.index) == {"new_site", "new_site_related"}


def test_few_shot_learns_a_site_from_its_oldest_records(frame) -> None:
    res = M.evaluate(frame, "few-shot", shots=(0, 10, 40), intervals=False)
    table = res.fold_table()
    assert {"small:k=0", "small:k=10", "small:k=40"} <= set(table.index)
    assert table.loc["small:k=40", "model_mae"] < table.loc["small:k=0", "model_mae"]
    assert table.loc["small:k=40", "model_mae"] < 1.0


def test_few_shot_splits_train_on_the_oldest_and_test_on_the_newer(frame) -> None:
    rows = M.training_rows(frame).reset_index(drop=True)
    for name, train, test in few_shot_splits(rows, (10,)):
        site = name.split(":")[0]
        mine = rows.index[rows["site"] == site]
        assert set(test) <= set(mine) and len(set(train) & set(mine)) == 10
        newest_trained = rows.loc[sorted(set(train) & set(mine)), "published_at"].max()
        assert newest_trained <= rows.loc[test, "published_at"].min()


def test_url_twins_never_straddle_a_split(frame: pd.DataFrame) -> None:
    f = frame.copy()
    f["url_key"] = pd.array([f"k{i // 2}" for i in range(len(f))], dtype="string")
    rows = M.training_rows(f).reset_index(drop=True)
    for _, tr, te in splits(rows, "random", seed=0):
        assert not set(rows["url_key"].iloc[tr]) & set(rows["url_key"].iloc[te])


def test_strip_test_articles_from_training_related_lists(frame: pd.DataFrame) -> None:
    train, test = frame.iloc[:10].copy(), frame.iloc[10:12]
    train.at[train.index[0], "related"] = [
        {"url": test["url"].iloc[0], "quality": 1.0},
        {"url": "https://elsewhere.org/x", "quality": 2.0},
    ]
    out = M.strip_test_articles(train, test)
    assert [e["url"] for e in out["related"].iloc[0]] == ["https://elsewhere.org/x"]


def test_evaluate_is_deterministic(frame: pd.DataFrame) -> None:
    a = M.evaluate(frame, "random", seed=3, n_splits=2, intervals=False).predictions
    b = M.evaluate(frame, "random", seed=3, n_splits=2, intervals=False).predictions
    pd.testing.assert_frame_equal(a, b)


def test_feature_importance_names_the_records_fields(frame: pd.DataFrame) -> None:
    model = M.train(frame)
    imp = M.feature_importance(model, frame, frame["quality"].astype(float), n_repeats=1)
    assert set(imp["group"]) <= {
        "site",
        "provider_domain",
        "images",
        "amp_url",
        "title",
        "topics",
        "related",
    }
    assert set(imp["group"].head(3)) & {"provider_domain", "images", "amp_url"}
    assert np.all(imp["mae_increase"] > -0.5)
