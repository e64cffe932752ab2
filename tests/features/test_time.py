"""Time feature step: calendar parts and an age that does not depend on the wall clock."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from pipeline.features.time import TIME_FEATURES, TimeFeatures


def _frame(*stamps: str | None) -> pd.DataFrame:
    return pd.DataFrame({"published_at": pd.to_datetime(list(stamps), utc=True)})


def test_calendar_parts_and_age_relative_to_training_max() -> None:
    train = _frame("2023-03-01T10:00:00Z", "2023-03-11T10:00:00Z")
    step = TimeFeatures().fit(train)
    assert step.reference_ == pd.Timestamp("2023-03-11T10:00:00Z")
    out = pd.DataFrame(step.transform(train), columns=step.get_feature_names_out())
    assert list(out.columns) == list(TIME_FEATURES)
    assert out.loc[0, "year"] == 2023 and out.loc[0, "month"] == 3
    assert out.loc[0, "weekday"] == 2 and out.loc[0, "hour"] == 10  # a Wednesday
    assert out.loc[0, "age_days"] == 10 and out.loc[1, "age_days"] == 0


def test_age_is_deterministic_and_missing_dates_are_nan() -> None:
    step = TimeFeatures().fit(_frame("2023-03-11T10:00:00Z"))
    new = _frame("2024-03-11T10:00:00Z", None)
    first, second = step.transform(new), step.transform(new)
    assert (first[0] == second[0]).all()
    assert first[0, -1] < 0  # newer than anything seen in training
    assert pd.isna(first[1]).all()


def test_requires_fit() -> None:
    with pytest.raises(NotFittedError):
        TimeFeatures().transform(_frame("2023-01-01T00:00:00Z"))
