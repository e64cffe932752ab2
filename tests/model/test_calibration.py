"""Split-conformal calibration: the half-width that covers new records at a level."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pipeline.model.calibration import Calibration, conformal_halfwidth
from pipeline.model.site_rule import SEEN


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


def test_a_new_sites_width_is_the_spread_of_the_sites_levels() -> None:
    """Three sites' newcomers at 50, 70, 90: a t interval over 3 sites (2 degrees of freedom)
    with their spread (20), combined with the spread within a site."""
    calibration = Calibration(site_levels=(50.0, 70.0, 90.0), within=0.0, bounds=(0.0, 200.0))
    expected = stats.t.ppf(0.95, 2) * 20.0 * math.sqrt(1 + 1 / 3)
    assert calibration.unknown_width(0.9) == pytest.approx(expected)
    wider = Calibration(site_levels=(50.0, 70.0, 90.0), within=30.0, bounds=(0.0, 200.0))
    assert wider.unknown_width(0.9) == pytest.approx(math.hypot(expected, 30.0))
    two = Calibration(site_levels=(50.0, 90.0), bounds=(0.0, 200.0))
    assert two.unknown_width(0.9) == 200.0  # two sites say nothing of a third: the whole scale


def test_a_class_without_residuals_gets_the_unknown_width_not_an_infinite_one() -> None:
    calibration = Calibration(site_levels=(50.0, 70.0, 90.0), bounds=(0.0, 200.0))
    width = calibration.halfwidth(SEEN, "somewhere", 0.9)
    assert width == pytest.approx(calibration.unknown_width(0.9))
