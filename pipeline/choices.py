"""The choices the library and the command line offer, as enums (typer checks them).

Kept apart from :mod:`pipeline.model` so that `score load` (and `--help`) start without
importing scikit-learn; the defaults too. Each choice is a ``StrEnum``: a member equals its
text, so library callers may pass either.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """The final estimator: HistGradientBoosting (the default) or ridge (for comparison)."""

    hgb = "hgb"
    ridge = "ridge"


class Protocol(StrEnum):
    """How an evaluation splits the scored records into training and test sets."""

    random = "random"
    time = "time"
    provider = "provider"
    site = "site"


class DuplicateRule(StrEnum):
    """What the loader does with repeated articles (same canonical URL)."""

    mark = "mark"
    drop = "drop"
    keep = "keep"


class Engine(StrEnum):
    """Where `score predict` runs: this machine's processes, or a Dask cluster."""

    local = "local"
    dask = "dask"


# Defaults the command line shows and the library uses (one definition for both).
DEFAULT_BATCH_SIZE = 2_000  # records per batch: files, or JSON Lines lines, per task
DEFAULT_LEVEL = 0.9  # coverage of prediction intervals
DEFAULT_TOP = 3  # signals an explanation lists

KINDS: tuple[str, ...] = tuple(Kind)
PROTOCOLS: tuple[str, ...] = tuple(Protocol)
DEFAULT_KIND = Kind.hgb
