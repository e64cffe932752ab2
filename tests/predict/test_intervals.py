"""Prediction intervals read from the calibration a model artifact stores."""

from __future__ import annotations

import pytest

from pipeline.errors import ScoringError
from pipeline.predict.intervals import interval_halfwidth


def test_interval_halfwidth_reads_levels_then_residuals_then_refuses() -> None:
    assert interval_halfwidth({"intervals": {"0.9": 7.5}}, 0.9) == 7.5
    residuals = list(range(1, 20))
    assert interval_halfwidth({"conformal_residuals": residuals}, 0.9) == 18.0
    with pytest.raises(ScoringError, match=r"levels 0\.8"):
        interval_halfwidth({"intervals": {"0.8": 6.0}}, 0.9)
    with pytest.raises(ScoringError, match="no calibrated"):
        interval_halfwidth({}, 0.9)
