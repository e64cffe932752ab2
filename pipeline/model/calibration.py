"""Split-conformal calibration: how far predictions stray on records the model did not see.

``score train`` keeps the holdout's absolute residuals' quantiles as interval half-widths, so
``score predict --interval`` can say how sure it is without refitting anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

INTERVAL_LEVELS: tuple[float, ...] = (0.8, 0.9, 0.95)


def conformal_halfwidth(residuals: Sequence[float] | np.ndarray, level: float) -> float:
    """Split-conformal half-width: the ceil((n+1)·level)-th smallest absolute residual.

    With residuals from data the model did not train on (held-out or out-of-fold), the interval
    ``pred ± halfwidth`` covers a new record's true value with probability >= ``level``
    (exchangeability). Returns ``inf`` when there are too few residuals for that guarantee.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    r = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    r = r[np.isfinite(r)]
    n = len(r)
    rank = math.ceil((n + 1) * level)
    if n == 0 or rank > n:
        return math.inf
    return float(r[rank - 1])
