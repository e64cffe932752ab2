"""Names the command line offers before any model code loads: estimators and protocols.

Kept apart from :mod:`pipeline.model` so that `score load` (and `--help`) start without
importing scikit-learn and SciPy, which cost over a second.
"""

from __future__ import annotations

PROTOCOLS: tuple[str, ...] = ("random", "time", "provider", "site")
KINDS: tuple[str, ...] = ("hgb", "ridge")
DEFAULT_KIND = "hgb"
