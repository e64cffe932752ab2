"""The scored records a model learns from, read from paths."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from pipeline.errors import LoadError, UnusableDataError
from pipeline.load import load_records


def load_scored(
    paths: Sequence[str],
    *,
    on_error: Callable[[LoadError], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, list[LoadError]]:
    """Every record of ``paths`` and the bad inputs beside them; :class:`UnusableDataError`
    when there is nothing to learn from. ``say`` hears one line on what was read."""
    if not paths:
        raise UnusableDataError(
            "no input: give record paths, or run where ./seeds or ../shared/corpus is"
        )
    result = load_records(paths, on_error=on_error)
    scored = int(result.frame["quality"].notna().sum())
    if say is not None:
        say(
            f"loaded {len(result.frame)} records ({scored} scored) from {len(paths)} path(s); "
            f"bad inputs skipped: {len(result.errors)}"
        )
    if scored == 0:
        raise UnusableDataError("none of the records has a numeric `quality` to learn from")
    return result.frame, result.errors
