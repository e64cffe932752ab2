"""How the evaluation protocols split scored records into training and test sets.

Every split keeps records with the same URL key on one side, so an article and its twin (a
re-dated copy) never straddle it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold

from pipeline.choices import PROTOCOLS
from pipeline.features.cells import entries
from pipeline.features.observations import entry_url_key
from pipeline.features.providers import provider_keys
from pipeline.identity import url_key


def _split_groups(rows: pd.DataFrame) -> np.ndarray:
    """Records sharing a canonical URL stay on the same side of every split."""
    if "url_key" in rows.columns:
        keys = rows["url_key"].astype(object).where(rows["url_key"].notna(), None)
    else:
        keys = pd.Series([None] * len(rows), index=rows.index)
    fallback = [url_key(u) for u in rows["url"]] if "url" in rows.columns else [""] * len(rows)
    out = [
        k if isinstance(k, str) and k else (f or f"row{i}")
        for i, (k, f) in enumerate(zip(keys, fallback, strict=True))
    ]
    return np.asarray(out, dtype=object)


def _grouped_kfold(
    groups: np.ndarray, n_splits: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled KFold over unique groups (deterministic for a seed)."""
    uniq = np.asarray(sorted(set(groups)), dtype=object)
    kf = KFold(n_splits=min(n_splits, len(uniq)), shuffle=True, random_state=seed)
    for _, test_g in kf.split(uniq):
        test_mask = np.isin(groups, uniq[test_g])
        yield np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def oldest_first(rows: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """``positions`` ordered by publication time, oldest first (ties in input order)."""
    t = pd.to_datetime(rows["published_at"].iloc[positions], utc=True)
    return positions[np.argsort(t.to_numpy(dtype="datetime64[ns]"), kind="stable")]


def few_shot_splits(
    rows: pd.DataFrame, shots: tuple[int, ...] = (0, 10, 20, 40)
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per site and ``k`` of ``shots``: train on the other sites and the site's ``k`` oldest
    scored records, test on its newer ones (skipped when ``k`` leaves fewer than 10)."""
    sites = rows["site"].astype(object).to_numpy()
    out = []
    for site in sorted(set(sites)):
        mine = oldest_first(rows, np.flatnonzero(sites == site))
        others = np.flatnonzero(sites != site)
        for k in shots:
            if len(mine) - k < 10 or (k == 0 and not len(others)):
                continue
            train = np.sort(np.concatenate([others, mine[:k]]))
            out.append((f"{site}:k={k}", train, np.sort(mine[k:])))
    return out


def splits(
    rows: pd.DataFrame, protocol: str, seed: int = 0, n_splits: int = 5
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(fold name, train positions, test positions) for a protocol over ``rows``."""
    if protocol == "random":
        groups = _split_groups(rows)
        return [
            (f"fold{i}", tr, te)
            for i, (tr, te) in enumerate(_grouped_kfold(groups, n_splits, seed))
        ]
    if protocol == "time":  # each site's newest 20 %: the sites' years differ
        sites = rows["site"].astype(object).to_numpy()
        newest = []
        for site in sorted(set(sites), key=str):
            mine = oldest_first(rows, np.flatnonzero(sites == site))
            newest.append(mine[round(0.8 * len(mine)) :])
        te = np.sort(np.concatenate(newest))
        tr = np.setdiff1d(np.arange(len(rows)), te)
        # keep URL groups intact: a test article's twin must not sit in training
        groups = _split_groups(rows)
        tr = tr[~np.isin(groups[tr], groups[te])]
        return [("newest20", tr, te)]
    if protocol == "provider":
        prov = provider_keys(rows).to_numpy(dtype=object)
        uniq = np.asarray(sorted(set(prov)), dtype=object)
        rng = np.random.RandomState(seed)
        perm = rng.permutation(len(uniq))
        gk = GroupKFold(n_splits=min(n_splits, len(uniq)))
        shuffled = {u: i for i, u in enumerate(uniq[perm])}
        ids = np.asarray([shuffled[p] for p in prov])
        out = []
        for i, (tr, te) in enumerate(gk.split(rows, groups=ids)):
            out.append((f"fold{i}", tr, te))
        return out
    if protocol == "site":
        sites = rows["site"].astype(object).to_numpy()
        out = []
        for s in sorted(set(sites)):
            te = np.flatnonzero(sites == s)
            tr = np.flatnonzero(sites != s)
            if len(tr) and len(te):
                out.append((s, tr, te))
        if not out:
            raise ValueError("needs records of at least two sites")
        return out
    if protocol == "few-shot":
        return few_shot_splits(rows)
    raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")


def strip_test_articles(train_rows: pd.DataFrame, test_rows: pd.DataFrame) -> pd.DataFrame:
    """Drop from training records' related lists any entry that is a test article.

    Otherwise a test record's own score could come back through another record's list.
    """
    test_keys = {k for k in (url_key(u) for u in test_rows["url"]) if k}
    if "url_key" in test_rows.columns:
        test_keys |= {url_key(k) for k in test_rows["url_key"].dropna()}

    def keep(related: object) -> list[Mapping[str, object]]:
        return [e for e in entries(related) if entry_url_key(e) not in test_keys]

    out = train_rows.copy()
    out["related"] = [keep(v) for v in out["related"]]
    return out
