"""Split-conformal calibration: the half-width that covers new records at a level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.model.calibration import conformal_halfwidth


def test_conformal_halfwidth_is_the_rank_ceil_n_plus_1_level() -> None:
    residuals = np.arange(1, 20)  # |r| = 1..19, n = 19
    assert conformal_halfwidth(residuals, 0.9) == 18.0  # ceil(20 * 0.9) = 18
    assert conformal_halfwidth(-residuals, 0.5) == 10.0
    assert math.isinf(conformal_halfwidth([1.0, 2.0], 0.9))  # too few for 90 %
    with pytest.raises(ValueError):
        conformal_halfwidth(residuals, 1.5)


def test_conformal_halfwidth_covers_at_the_level() -> None:
    rng = np.random.default_rng(0)
    calibration, fresh = rng.normal(size=2000), rng.normal(size=20000)
    width = conformal_halfwidth(calibration, 0.9)
    assert 0.88 < np.mean(np.abs(fresh) <= width) < 0.92
