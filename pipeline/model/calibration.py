"""Honest intervals: residuals measured on records like the ones to be scored, per novelty.

A record of a site the model knows well is predicted within a point; one of a site it has
never seen may be off by the whole scale. So the residuals that calibrate an interval come
from refits that reproduce each situation -- the newest records of each site held out
(``seen``), random folds, providers held out with their articles stripped from every related
list (``new_provider``), each site held out in turn (``new_site``) -- and the interval of a
record uses its own class's residuals (its site's, when there are enough). A site never seen
that brings no related entries gets the spread of the sites' levels (a Student t over the
sites; the whole scale with fewer than three), since nothing else says where it lies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import GroupKFold

from pipeline.features.providers import provider_keys
from pipeline.model.site_rule import NEW_PROVIDER, NEW_SITE, POOL, SiteRuleRegressor
from pipeline.model.splits import _grouped_kfold, _split_groups, strip_test_articles

INTERVAL_LEVELS: tuple[float, ...] = (0.8, 0.9, 0.95)
MIN_SITE_RESIDUALS = 10  # fewer residuals of a site: its class's pooled ones are used
MIN_WIDTH = 0.5  # scores are whole numbers: a half-point interval is as tight as it gets
# Interval classes: the novelty, and whether related entries placed the site or provider.
NEW_PROVIDER_RELATED = "new_provider_related"
NEW_SITE_RELATED = "new_site_related"


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


def interval_class(table: pd.DataFrame) -> np.ndarray:
    """Each row's interval class from a prediction table (novelty, and evidence used)."""
    novelty = table["novelty"].to_numpy(dtype=object)
    placed = table["evidence"].to_numpy(dtype=object) != ""
    return np.where(
        (novelty == NEW_SITE) & placed,
        NEW_SITE_RELATED,
        np.where((novelty == NEW_PROVIDER) & placed, NEW_PROVIDER_RELATED, novelty),
    )


@dataclass
class Calibration:
    """Absolute residuals per (interval class, site), and what stands in where there are none."""

    residuals: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    site_levels: tuple[float, ...] = ()  # each site's newcomer level (the between-site spread)
    within: float = 0.0  # a newcomer's spread within a site (added to the between-site one)
    bounds: tuple[float, float] = (0.0, 0.0)  # the scale: the widest honest interval

    def classes(self) -> dict[str, int]:
        """Residuals held per class (for the model card)."""
        counts: dict[str, int] = {}
        for (cls, _), values in self.residuals.items():
            counts[cls] = counts.get(cls, 0) + len(values)
        return counts

    def pooled(self, cls: str) -> np.ndarray:
        """A class's residuals with each site weighing the same (each site's quantiles)."""
        per_site = [v for (c, _), v in self.residuals.items() if c == cls and len(v)]
        if not per_site:
            return np.empty(0)
        m = max(len(v) for v in per_site)
        return np.concatenate([np.quantile(v, (np.arange(m) + 0.5) / m) for v in per_site])

    def unknown_width(self, level: float) -> float:
        """Nothing says where a site's newcomers lie: the spread of the sites' levels."""
        k = len(self.site_levels)
        if k < 3:
            return self.bounds[1] - self.bounds[0]
        tau = float(np.std(self.site_levels, ddof=1))
        between = stats.t.ppf(0.5 + level / 2, k - 1) * tau * math.sqrt(1 + 1 / k)
        return float(math.hypot(between, self.within))

    def halfwidth(self, cls: str, site: str, level: float, rare_providers: int = 1) -> float:
        """The half-width of one row's interval at ``level``."""
        if cls == NEW_SITE or (cls == NEW_PROVIDER and rare_providers == 0):
            return max(self.unknown_width(level), MIN_WIDTH)
        own = self.residuals.get((cls, site), np.empty(0))
        mine = conformal_halfwidth(own, level) if len(own) >= MIN_SITE_RESIDUALS else math.inf
        pooled = conformal_halfwidth(self.pooled(cls), level)
        if cls == NEW_PROVIDER:  # no evidence of this provider: never tighter than the class
            width = max(
                mine if math.isfinite(mine) else 0.0, pooled if math.isfinite(pooled) else 0.0
            )
        else:
            width = mine if math.isfinite(mine) else pooled
        if not math.isfinite(width) or (width == 0.0 and cls == NEW_PROVIDER):
            width = self.unknown_width(level)
        return max(width, MIN_WIDTH)


def halfwidths(
    table: pd.DataFrame,
    calibration: Calibration,
    level: float,
    *,
    checks: Mapping[str, np.ndarray] | None = None,
    rare_providers: Mapping[str, int] | None = None,
) -> np.ndarray:
    """Each row's interval half-width at ``level``: a row whose site was placed by the related
    entries of the records scored uses how well those entries place each other (``checks``);
    the others their class's calibration."""
    classes = interval_class(table)
    out = np.empty(len(table))
    memo: dict[tuple[str, str, bool], float] = {}
    for i, (cls, site, evidence) in enumerate(
        zip(classes, table["site"], table["evidence"], strict=True)
    ):
        pooled = evidence == POOL
        key = (cls, site, pooled)
        if key not in memo:
            own = (checks or {}).get(site, np.empty(0)) if pooled else np.empty(0)
            enough = len(own) >= 2 * MIN_SITE_RESIDUALS
            width = conformal_halfwidth(own, level) if enough else math.inf
            if not math.isfinite(width):
                rare = (rare_providers or {}).get(site, 1)
                width = calibration.halfwidth(cls, site, level, rare)
            memo[key] = max(width, MIN_WIDTH)
        out[i] = memo[key]
    return out


def _add(
    parts: list[pd.DataFrame], model: SiteRuleRegressor, X: pd.DataFrame, y: np.ndarray
) -> None:
    table = model.adapt(X).predict_table(X)
    parts.append(
        pd.DataFrame(
            {
                "cls": interval_class(table),
                "site": table["site"].to_numpy(dtype=object),
                "residual": np.abs(y - table["pred"].to_numpy(dtype=float)),
            }
        )
    )


def residuals(
    X: pd.DataFrame, y: np.ndarray, params: Mapping[str, object], seed: int = 0
) -> pd.DataFrame:
    """|residual| per (interval class, site) from refits that reproduce each class: each
    site's newest 20 % held out, random URL-grouped folds, providers held out (strict), each
    site held out. ``X``: scored records (guarded), ``y`` their scores."""
    X = X.reset_index(drop=True)
    y = np.asarray(y, dtype=float)
    sites = np.asarray(
        [s if isinstance(s, str) and s else "unknown" for s in X["site"]], dtype=object
    )
    parts: list[pd.DataFrame] = []

    def refit(train: np.ndarray, test: np.ndarray, strict: bool = False) -> None:
        rows = X.iloc[train]
        if strict:
            rows = strip_test_articles(rows, X.iloc[test])
        model = SiteRuleRegressor(**params).fit(rows, y[train])  # type: ignore[arg-type]
        _add(parts, model, X.iloc[test], y[test])

    for site in sorted(set(sites)):
        mine = np.flatnonzero(sites == site)
        if len(mine) < MIN_SITE_RESIDUALS:
            continue
        order = mine[
            np.argsort(
                pd.to_datetime(X["published_at"].iloc[mine], utc=True).to_numpy(
                    dtype="datetime64[ns]"
                ),
                kind="stable",
            )
        ]
        test = np.sort(order[round(0.8 * len(order)) :])
        refit(np.setdiff1d(np.arange(len(X)), test), test)
    for train, test in _grouped_kfold(_split_groups(X), 5, seed):
        refit(train, test)
    providers = provider_keys(X).to_numpy(dtype=object)
    unique = np.asarray(sorted(set(providers)), dtype=object)
    if len(unique) >= 2:
        order = np.random.RandomState(seed).permutation(len(unique))
        ids = {u: i for i, u in enumerate(unique[order])}
        groups = np.asarray([ids[p] for p in providers])
        for train, test in GroupKFold(n_splits=min(5, len(unique))).split(X, groups=groups):
            refit(train, test, strict=True)
    if len(set(sites)) >= 2:
        for site in sorted(set(sites)):
            refit(np.flatnonzero(sites != site), np.flatnonzero(sites == site))
    return pd.concat(parts, ignore_index=True)


def calibrate(
    model: SiteRuleRegressor, X: pd.DataFrame, y: np.ndarray, seed: int = 0
) -> Calibration:
    """The :class:`Calibration` of a fitted ``model`` from refits on its training data."""
    table = residuals(X, y, model.get_params(), seed)
    by = {
        (str(cls), str(site)): group["residual"].to_numpy(dtype=float)
        for (cls, site), group in table.groupby(["cls", "site"], sort=True)
    }
    calibration = Calibration(
        residuals=by,
        site_levels=tuple(model.site_newcomer_levels_.values()),
        bounds=model.bounds_,
    )
    within = conformal_halfwidth(calibration.pooled(NEW_PROVIDER), 0.9)
    calibration.within = within if math.isfinite(within) else 0.0
    return calibration
