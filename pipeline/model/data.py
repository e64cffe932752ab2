"""The scored records a model learns from, read from paths."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from pipeline.errors import LoadError, UnusableDataError
from pipeline.features.cells import entries
from pipeline.limits import MAX_ABS_SCORE
from pipeline.load import load_records


def with_site(frame: pd.DataFrame, site: str | None) -> pd.DataFrame:
    """``frame`` with every record's site set to ``site`` (when given): for inputs whose
    folder does not name their site (a feed dump, standard input)."""
    if site is None:
        return frame
    return frame.assign(site=pd.array([site] * len(frame), dtype="string"))


def load_scored(
    paths: Sequence[str],
    *,
    site: str | None = None,
    on_error: Callable[[LoadError], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, list[LoadError]]:
    """Every record of ``paths`` (their site ``site`` when given) and the bad inputs beside
    them; :class:`UnusableDataError` when there is nothing to learn from. ``say`` hears one
    line on what was read, naming the paths."""
    if not paths:
        raise UnusableDataError(
            "no input: give record paths, or run where ./seeds or ../shared/corpus is"
        )
    result = load_records(paths, on_error=on_error)
    frame, refused = _plausible_scores(with_site(result.frame, site))
    errors = list(result.errors)
    for error in refused:
        errors.append(error)
        if on_error is not None:
            on_error(error)
    scored = int(frame["quality"].notna().sum())
    if say is not None:
        say(
            f"loaded {len(frame)} records ({scored} scored) from {len(paths)} path(s): "
            f"{', '.join(paths)}; bad inputs skipped: {len(errors)}"
        )
    if scored == 0:
        raise UnusableDataError("none of the records has a numeric `quality` to learn from")
    return frame, errors


def _plausible_scores(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[LoadError]]:
    """Scores too large to be scores (1e300 is finite, and overflows a fit) are not learned
    from: each such record is reported and kept unscored; each such related entry is
    reported (the fit leaves it out: ``observations.related_observations``)."""
    errors = [
        LoadError(
            str(source),
            f"field 'related[{index}].quality' is {value:.6g}, not a score (beyond "
            f"±{MAX_ABS_SCORE:,}); not learned from",
        )
        for source, listed in zip(frame["source"], frame["related"], strict=True)
        for index, value in _wild_entries(listed)
    ]
    quality = frame["quality"].astype("Float64")
    wild = (quality.abs() > MAX_ABS_SCORE).fillna(False).to_numpy(dtype=bool)
    if not wild.any():
        return frame, errors
    errors += [
        LoadError(
            str(source),
            f"quality {value:.6g} is not a score (beyond ±{MAX_ABS_SCORE:,}); not learned from",
        )
        for source, value in zip(frame.loc[wild, "source"], quality[wild], strict=True)
    ]
    frame = frame.copy()
    frame.loc[wild, "quality"] = pd.NA
    return frame, errors


def _wild_entries(listed: object) -> list[tuple[int, float]]:
    """(index, score) of the related entries whose score is beyond ±MAX_ABS_SCORE."""
    out = []
    for index, entry in enumerate(entries(listed)):
        value = entry.get("quality")
        if isinstance(value, int | float) and abs(value) > MAX_ABS_SCORE:
            out.append((index, float(value)))
    return out
