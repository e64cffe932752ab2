"""The model's first step: target-side fields never reach it, and a frame names each column once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import rule_record

from pipeline.load import records_to_frame
from pipeline.load.normalize import normalize
from pipeline.model import make_model


def frame(n: int = 40) -> pd.DataFrame:
    return records_to_frame([normalize(rule_record(i), None, f"s[{i}]", "s") for i in range(n)])


def test_a_frame_that_repeats_a_column_is_refused_with_its_name() -> None:
    good = frame()
    bad = pd.concat([good, good[["title"]]], axis=1)
    with pytest.raises(ValueError, match=r"repeats column names \(title\)"):
        make_model().fit(bad, good["quality"].astype(float).to_numpy())


def test_something_not_a_frame_is_refused() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        make_model().fit(np.zeros((3, 3)), np.zeros(3))
