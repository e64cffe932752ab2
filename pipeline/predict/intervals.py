"""Prediction intervals at a chosen level, from the calibration ``score train`` stored."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipeline.errors import ScoringError
from pipeline.model.calibration import conformal_halfwidth


def interval_halfwidth(metadata: Mapping[str, Any], level: float) -> float:
    """The calibrated half-width at ``level`` from an artifact's metadata.

    Reads ``metadata["intervals"]`` (level -> half-width, keys like "0.9"), else computes it from
    ``metadata["conformal_residuals"]``. Raises :class:`ScoringError` when neither is there.
    """
    intervals = metadata.get("intervals")
    if isinstance(intervals, Mapping):
        for key, value in intervals.items():
            try:
                if math.isclose(float(key), level) and value is not None:
                    return float(value)
            except (TypeError, ValueError):
                continue
    residuals = metadata.get("conformal_residuals")
    if isinstance(residuals, list | tuple) and residuals:
        width = conformal_halfwidth(residuals, level)
        if math.isfinite(width):
            return width
        raise ScoringError(f"too few calibration residuals ({len(residuals)}) for level {level}")
    known = sorted(map(str, intervals)) if isinstance(intervals, Mapping) else []
    hint = f" (it has levels {', '.join(known)})" if known else " (retrain with `score train`)"
    raise ScoringError(f"the model has no calibrated prediction interval at level {level}{hint}")
