"""The choices the library and the command line offer, as enums (typer checks them).

Kept apart from :mod:`pipeline.model` so that `score load` (and `--help`) start without
importing scikit-learn; the defaults too. Each choice is a ``StrEnum``: a member equals its
text, so library callers may pass either.
"""

from __future__ import annotations

from enum import StrEnum

from pipeline.errors import UsageError


class Protocol(StrEnum):
    """How an evaluation splits the scored records into training and test sets."""

    random = "random"
    time = "time"
    provider = "provider"
    site = "site"
    few_shot = "few-shot"


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

PROTOCOLS: tuple[str, ...] = tuple(Protocol)
DEFAULT_SHOTS: tuple[int, ...] = (0, 10, 20, 40)  # a new site's scored records: few-shot curve
DEFAULT_MIN_RECORDS = 30  # fewer scored records: no honest holdout, no calibration


def check_site(name: str) -> str:
    """A site name given on the command line (``--site``): a plain name, not a path."""
    if not name.strip() or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UsageError(f"--site {name!r} is not a site name (a plain name, not a path)")
    return name
