"""The quality model: the aggregator's rule, learned once across sites and per site apart.

    quality = mu + S·beta                  the rule's terms, priced once for every site
              + u[site] + S·delta[site]      each site's level and its own price deviations
              + g[key] + t[site, key]        a provider's tier: its part shared across sites
                                             and its site's own part

(S: :data:`~pipeline.features.rule.RULE_TERMS`; key: the provider's URL host.) It is one
penalised least-squares problem -- a ridge penalty per group of parameters, i.e. random
effects with fixed variance ratios, so a site with few records borrows from the others and
tiers seen on one site carry to the next -- made robust to the records that follow no rule
by a few Huber reweighting steps. Stage one fits the shared part without site deviations
(so a big site is not dragged by a small one); stage two fits each site's own part with the
shared one held, which is also how a new site's few scored records, or the scored related
entries that come with its records, are taken in without a full refit (:meth:`refit_sites`,
:meth:`adapt`). Learned from the scored records and their scored related entries, each
article once (:mod:`pipeline.features.observations`).

A provider never seen in a site is priced at the level of the site's *rarely seen* providers
(they are what a newcomer looks like), shrunk towards the pooled level of all sites.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import spsolve
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.features.observations import (
    dedupe,
    observations,
    record_observations,
    related_observations,
)
from pipeline.features.rule import RULE_TERMS

SEEN, NEW_PROVIDER, NEW_SITE = "seen", "new_provider", "new_site"
POOL, OWN = "pool", "own"  # what placed a row the training data did not
CROSSFIT_GROUPS = 5  # a row's site is estimated without the related entries of its own group


@dataclass(frozen=True)
class SiteParams:
    """What the model knows of one site (everything in quality points)."""

    level: float  # u: the site's level, beyond the shared mu
    deviations: np.ndarray  # delta: the site's own price of each rule term, beyond beta
    tiers: Mapping[str, float]  # t: each provider key's site-specific tier
    new_provider_offset: float  # what a provider never seen in the site adds, beyond mu + u
    backoff: Mapping[str, Mapping[str, float]]  # "domain"/"origin" -> tier of an unseen host
    observations: pd.DataFrame = field(repr=False)  # what it was learned from
    rare_providers: int = 0  # providers seen at most rare_n times (the new-provider evidence)
    records: int = 0  # scored records (not related entries) among the observations

    @property
    def size(self) -> int:
        return len(self.observations)


class SiteRuleRegressor(RegressorMixin, BaseEstimator):
    """Fit on a frame of records (schema columns) and their known ``quality``.

    Parameters: ``lam_*`` are ridge penalties (the shared terms, site levels, site
    deviations per unit of a term's variance, shared tiers, site tiers); ``huber`` the
    Huber threshold in points and ``n_irls`` its reweighting steps; ``rare_n`` how often a
    provider may be seen and still count as rare, ``rare_m`` and ``backoff_m`` pseudo-counts
    pulling a site's new-provider level and host backoffs towards the pooled ones;
    ``small_site``: sites with fewer observations are re-estimated with the related entries
    of the records being scored (:meth:`adapt`); ``use_related``: learn from related entries.

    Fitted attributes: ``mu_``, ``coef_`` (the shared price of each rule term, by name),
    ``key_tiers_`` (shared tier per provider key), ``sites_`` (a :class:`SiteParams` per
    site), ``pooled_level_`` (a new provider's level in a site never seen),
    ``site_newcomer_levels_`` (each site's level for its rarely seen providers), ``bounds_``
    (the range of the scores learned from, widened by half on each side: predictions and
    intervals stay within it).
    """

    def __init__(
        self,
        *,
        use_related: bool = True,
        lam_struct: float = 1e-4,
        lam_site: float = 0.01,
        lam_site_struct: float = 10.0,
        lam_prov: float = 0.001,
        lam_site_prov: float = 0.01,
        huber: float = 1.0,
        n_irls: int = 8,
        rare_n: int = 2,
        rare_m: float = 0.5,
        backoff_m: float = 3.0,
        small_site: int = 300,
    ) -> None:
        self.use_related = use_related
        self.lam_struct = lam_struct
        self.lam_site = lam_site
        self.lam_site_struct = lam_site_struct
        self.lam_prov = lam_prov
        self.lam_site_prov = lam_site_prov
        self.huber = huber
        self.n_irls = n_irls
        self.rare_n = rare_n
        self.rare_m = rare_m
        self.backoff_m = backoff_m
        self.small_site = small_site

    # ---- fitting ------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: object) -> SiteRuleRegressor:
        target = np.asarray(y, dtype=float).ravel()
        if len(target) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(target)}")
        obs = observations(X, target, related=self.use_related)
        if obs.empty:
            raise ValueError("no scored records to learn from")
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        low, high = float(obs["y"].min()), float(obs["y"].max())
        margin = (high - low) / 2  # another site's scale may reach past the ones learned
        self.bounds_ = (low - margin, high + margin)
        self.pooled_level_: float | None = None  # set once every site is fitted
        levels = self._fit_shared(obs)
        self.sites_: dict[str, SiteParams] = {}
        for site, part in obs.groupby("site", sort=True):
            self.sites_[str(site)] = self._site_params(part, center=levels[str(site)])
        self._pool_levels()
        return self

    def _solve(self, A: sparse.csr_matrix, penalty: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Penalised least squares, reweighted (Huber) so records off the rule weigh less."""
        w = np.ones(len(y))
        P = sparse.diags(penalty)
        coef = np.zeros(A.shape[1])
        for _ in range(max(1, self.n_irls)):
            AtW = A.T @ sparse.diags(w)
            coef = np.atleast_1d(spsolve((AtW @ A + P).tocsc(), AtW @ y))
            residual = np.abs(y - A @ coef)
            w = np.where(residual <= self.huber, 1.0, self.huber / np.maximum(residual, 1e-12))
        return coef

    def _fit_shared(self, obs: pd.DataFrame) -> dict[str, float]:
        """Stage one: mu, the term prices, the shared tiers (and each site's level, the
        starting point of its own fit)."""
        S = obs[list(RULE_TERMS)].to_numpy(dtype=float)
        n, p = S.shape
        sites = sorted(set(obs["site"]))
        keys = sorted(set(obs["key"]) - {""})
        pairs = sorted({(s, k) for s, k in zip(obs["site"], obs["key"], strict=True) if k})
        site_at = {s: i for i, s in enumerate(sites)}
        key_at = {k: i for i, k in enumerate(keys)}
        pair_at = {x: i for i, x in enumerate(pairs)}
        o_site, o_key = 1 + p, 1 + p + len(sites)
        o_pair = o_key + len(keys)
        r = np.arange(n)
        si = np.asarray([site_at[s] for s in obs["site"]])
        ki = np.asarray([key_at.get(k, -1) for k in obs["key"]])
        pi = np.asarray(
            [pair_at.get((s, k), -1) for s, k in zip(obs["site"], obs["key"], strict=True)]
        )
        has = ki >= 0
        rows = np.concatenate([r, np.repeat(r, p), r, r[has], r[has]])
        cols = np.concatenate(
            [np.zeros(n, int), np.tile(np.arange(1, 1 + p), n), o_site + si, o_key + ki[has],
             o_pair + pi[has]]
        )  # fmt: skip
        vals = np.concatenate([np.ones(n), S.ravel(), np.ones(n), np.ones(2 * has.sum())])
        A = sparse.csr_matrix((vals, (rows, cols)), shape=(n, o_pair + len(pairs)))
        penalty = np.concatenate(
            [[1e-8], np.full(p, self.lam_struct), np.full(len(sites), self.lam_site),
             np.full(len(keys), self.lam_prov), np.full(len(pairs), self.lam_site_prov)]
        )  # fmt: skip
        coef = self._solve(A, penalty, obs["y"].to_numpy(dtype=float))
        self.mu_ = float(coef[0])
        self.beta_ = np.asarray(coef[1 : 1 + p], dtype=float)
        spread = S.std(axis=0)
        self.term_scale_ = np.where(spread > 0, spread, 1.0)
        self.key_tiers_ = {k: float(coef[o_key + i]) for k, i in key_at.items()}
        firsts = obs[obs["key"] != ""].drop_duplicates("key")
        self.backoff_tiers_ = {}
        for column in ("domain", "origin"):
            known = firsts[firsts[column] != ""]
            tiers = pd.Series([self.key_tiers_[k] for k in known["key"]], dtype=float)
            agg = tiers.groupby(known[column].to_numpy()).agg(["sum", "size"])
            self.backoff_tiers_[column] = (agg["sum"] / (agg["size"] + self.backoff_m)).to_dict()
        return {s: float(coef[o_site + i]) for s, i in site_at.items()}

    @property
    def coef_(self) -> dict[str, float]:
        check_is_fitted(self, "beta_")
        return dict(zip(RULE_TERMS, map(float, self.beta_), strict=True))

    def _shared(self, obs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(terms, shared tier, mu + S·beta + shared tier) of each observation; a key never
        seen anywhere backs off to its domain's, then its origin's, shared tier."""
        S = obs[list(RULE_TERMS)].to_numpy(dtype=float)
        tiers = np.zeros(len(obs))
        domains, origins = self.backoff_tiers_["domain"], self.backoff_tiers_["origin"]
        for i, (k, d, o) in enumerate(zip(obs["key"], obs["domain"], obs["origin"], strict=True)):
            if k in self.key_tiers_:
                tiers[i] = self.key_tiers_[k]
            elif d in domains:
                tiers[i] = domains[d]
            elif o in origins:
                tiers[i] = origins[o]
        return S, tiers, self.mu_ + S @ self.beta_ + tiers

    def _site_params(self, obs: pd.DataFrame, center: float | None = None) -> SiteParams:
        """Stage two: one site's level, deviations and tiers from its observations, the shared
        part held (milliseconds; also a new site's estimate from its related entries)."""
        center = self.pooled_site_level_ if center is None else center
        S, _, shared = self._shared(obs)
        n, p = S.shape
        keys = sorted(set(obs["key"]) - {""})
        key_at = {k: i for i, k in enumerate(keys)}
        ki = np.asarray([key_at.get(k, -1) for k in obs["key"]])
        has = ki >= 0
        A = sparse.hstack(
            [
                sparse.csr_matrix(np.ones((n, 1))),
                sparse.csr_matrix(S),
                sparse.csr_matrix(
                    (np.ones(has.sum()), (np.flatnonzero(has), ki[has])), shape=(n, len(keys))
                ),
            ]
        ).tocsr()
        penalty = np.concatenate(
            [[self.lam_site], self.lam_site_struct * self.term_scale_**2,
             np.full(len(keys), self.lam_site_prov)]
        )  # fmt: skip
        coef = self._solve(A, penalty, obs["y"].to_numpy(dtype=float) - shared - center)
        params = SiteParams(
            level=center + float(coef[0]),
            deviations=np.asarray(coef[1 : 1 + p], dtype=float),
            tiers={k: float(coef[1 + p + i]) for k, i in key_at.items()},
            new_provider_offset=np.nan,
            backoff={"domain": {}, "origin": {}},
            observations=obs.reset_index(drop=True),
            records=int(obs["is_record"].sum()),
        )
        return self._new_provider_level(params)

    def _rare_level(self, params: SiteParams) -> tuple[float | None, int]:
        """The median tier of the site's rarely seen providers, and how many there are."""
        keyed = params.observations[params.observations["key"] != ""]
        counts = keyed.groupby("key").size()
        rare = [
            self.key_tiers_.get(k, 0.0) + params.tiers[k]
            for k, c in counts.items()
            if c <= self.rare_n and k in params.tiers
        ]
        return (float(np.median(rare)), len(rare)) if rare else (None, 0)

    def _new_provider_level(self, params: SiteParams) -> SiteParams:
        """A newcomer's offset in this site (its rare providers' level, shrunk to the pooled
        newcomer level) and the tiers of unseen hosts of known domains and origins."""
        rare, n_rare = self._rare_level(params)
        target = (
            None if self.pooled_level_ is None else self.pooled_level_ - self.mu_ - params.level
        )
        if rare is None:
            offset = target if target is not None else 0.0
        elif target is None:
            offset = rare
        else:
            offset = (n_rare * rare + self.rare_m * target) / (n_rare + self.rare_m)
        keyed = params.observations[params.observations["key"] != ""].drop_duplicates("key")
        backoff: dict[str, dict[str, float]] = {}
        for column in ("domain", "origin"):
            known = keyed[keyed[column] != ""]
            total = pd.Series(
                [self.key_tiers_.get(k, 0.0) + params.tiers.get(k, 0.0) for k in known["key"]],
                dtype=float,
            )
            agg = total.groupby(known[column].to_numpy()).agg(["sum", "size"])
            backoff[column] = (
                (agg["sum"] + self.backoff_m * offset) / (agg["size"] + self.backoff_m)
            ).to_dict()
        return replace(params, new_provider_offset=offset, backoff=backoff, rare_providers=n_rare)

    def _pool_levels(self) -> None:
        """The pooled levels of all sites (each site weighs the same): a site's, and a
        newcomer's (from the sites' rare providers); then each site's newcomer offset,
        shrunk towards the pooled one."""
        self.pooled_site_level_ = float(np.mean([s.level for s in self.sites_.values()]))
        self.site_newcomer_levels_ = {
            name: self.mu_ + params.level + rare
            for name, params in self.sites_.items()
            if (rare := self._rare_level(params)[0]) is not None
        }
        newcomers = list(self.site_newcomer_levels_.values())
        self.pooled_level_ = (
            float(np.mean(newcomers)) if newcomers else self.mu_ + self.pooled_site_level_
        )
        self.pooled_offset_ = self.pooled_level_ - self.mu_ - self.pooled_site_level_
        self.sites_ = {name: self._new_provider_level(s) for name, s in self.sites_.items()}

    # ---- taking in more of a site -------------------------------------------------------------
    def refit_sites(self, X: pd.DataFrame, y: object) -> SiteRuleRegressor:
        """A copy with the sites of new scored records (and their related entries) re-estimated
        on top of the fitted shared part: a few-shot update in milliseconds."""
        check_is_fitted(self, "sites_")
        obs = observations(X, np.asarray(y, dtype=float), related=self.use_related)
        model = copy.copy(self)
        model.sites_ = dict(self.sites_)
        for site, part in obs.groupby("site", sort=True):
            known = self.sites_.get(str(site))
            if known is not None:
                part = dedupe(pd.concat([known.observations, part], ignore_index=True))
            model.sites_[str(site)] = model._site_params(
                part, center=None if known is None else known.level
            )
        return model

    def adapt(self, X: pd.DataFrame) -> AdaptedModel:
        """A model that also knows what the scored related entries of ``X`` say of their sites.

        Sites never seen, and small ones, are re-estimated from those entries (a big site's
        own data outweighs them). So that no record's own score comes back through another
        record's list, the records are split in :data:`CROSSFIT_GROUPS` groups by a digest
        of their URL (never by position: the result does not depend on their order) and each
        group is scored by an estimate made without its own articles.
        """
        check_is_fitted(self, "sites_")
        pool = related_observations(X, self.bounds_)
        pool = pool[[self.needs_evidence(site) for site in pool["site"]]] if len(pool) else pool
        records = record_observations(X)
        group = crossfit_groups(records["url_key"], records["row"])
        estimates: dict[str, list[SiteParams]] = {}
        checks: dict[str, np.ndarray] = {}
        for site, part in pool.groupby("site", sort=True):
            site = str(site)
            own = [set(records["url_key"][group == g]) - {""} for g in range(CROSSFIT_GROUPS)]
            estimates[site] = [
                self._pool_estimate(site, part[~part["url_key"].isin(own[g])])
                for g in range(CROSSFIT_GROUPS)
            ]
            checks[site] = self._self_check(site, dedupe(part))
        return AdaptedModel(self, estimates, checks)

    def _self_check(self, site: str, pool: pd.DataFrame) -> np.ndarray:
        """|residuals| of the pool's own entries, each predicted from the other folds of the
        pool: how well related entries place this site (the interval of its records)."""
        if len(pool) < 2 * CROSSFIT_GROUPS:
            return np.empty(0)
        fold = np.arange(len(pool)) % CROSSFIT_GROUPS
        out = []
        for g in range(CROSSFIT_GROUPS):
            held = pool[fold == g]
            params = self._pool_estimate(site, pool[fold != g])
            S, shared_tiers, shared = self._shared(held)
            part, _ = self._site_part(params, held, S, shared_tiers)
            pred = np.clip(shared + part, *self.bounds_)
            out.append(np.abs(held["y"].to_numpy(dtype=float) - pred))
        return np.concatenate(out)

    def needs_evidence(self, site: str) -> bool:
        """Whether a site is never seen or small: the related entries of its records being
        scored are then worth taking in (:meth:`adapt`)."""
        known = self.sites_.get(site)
        return known is None or known.size < self.small_site

    def _pool_estimate(self, site: str, pool: pd.DataFrame) -> SiteParams:
        known = self.sites_.get(site)
        if known is None:
            return self._site_params(dedupe(pool)) if len(pool) else None  # type: ignore[return-value]
        union = dedupe(pd.concat([known.observations, pool], ignore_index=True))
        return self._site_params(union, center=known.level)

    # ---- prediction ---------------------------------------------------------------------------
    def _site_part(
        self, params: SiteParams, obs: pd.DataFrame, S: np.ndarray, shared_tiers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """u + S·delta + the site's tier of each row, and whether the site had seen the key."""
        out = params.level + S @ params.deviations
        seen = np.zeros(len(obs), dtype=bool)
        domains, origins = params.backoff["domain"], params.backoff["origin"]
        for j, (k, d, o) in enumerate(zip(obs["key"], obs["domain"], obs["origin"], strict=True)):
            if k in params.tiers:
                out[j] += params.tiers[k]
                seen[j] = True
            elif k in self.key_tiers_:
                pass  # a provider another site knows: its shared tier (already counted)
            elif d in domains:
                out[j] += domains[d] - shared_tiers[j]
            elif o in origins:
                out[j] += origins[o] - shared_tiers[j]
            else:
                out[j] += params.new_provider_offset - shared_tiers[j]
        return out, seen

    def predict_table(
        self, X: pd.DataFrame, estimates: Mapping[str, list[SiteParams]] | None = None
    ) -> pd.DataFrame:
        """Per row: ``pred`` (clipped to :attr:`bounds_`), ``novelty`` (seen, new_provider,
        new_site), ``evidence`` (``pool``: its site estimated from the related entries of the
        records scored; ``own``: its provider's tier from its own related entries; or ""),
        ``site``, ``group`` (its crossfit group)."""
        check_is_fitted(self, "sites_")
        obs = record_observations(X)
        S, shared_tiers, shared = self._shared(obs)
        pred = shared.copy()
        novelty = np.full(len(obs), NEW_SITE, dtype=object)
        adapted = np.zeros(len(obs), dtype=bool)
        sites = obs["site"].to_numpy(dtype=object)
        group = crossfit_groups(obs["url_key"], obs["row"])
        for site in pd.unique(sites):
            rows = np.flatnonzero(sites == site)
            pool = (estimates or {}).get(site)
            for g in range(CROSSFIT_GROUPS) if pool else [None]:
                idx = rows if g is None else rows[group[rows] == g]
                params = self.sites_.get(site) if g is None else pool[g]
                if params is None:  # a site never seen, and nothing said of it
                    pred[idx] += self.pooled_site_level_ + self._unseen_offset(
                        obs.iloc[idx], shared_tiers[idx]
                    )
                    continue
                part, _ = self._site_part(params, obs.iloc[idx], S[idx], shared_tiers[idx])
                pred[idx] += part
                adapted[idx] = g is not None
            trained = self.sites_.get(site)
            if trained is not None:  # novelty: against what training saw, not the pool
                keys = obs["key"].to_numpy(dtype=object)[rows]
                novelty[rows] = [SEEN if k in trained.tiers else NEW_PROVIDER for k in keys]
        own = (novelty == NEW_PROVIDER) & ~adapted
        by_own = np.zeros(len(obs), dtype=bool)
        if own.any():
            tiers = self._own_entry_tiers(X, obs, np.flatnonzero(own))
            found = ~np.isnan(tiers)
            for i in np.flatnonzero(found):
                params = self.sites_[sites[i]]
                pred[i] = (
                    self.mu_ + S[i] @ (self.beta_ + params.deviations) + params.level + tiers[i]
                )
            by_own[found] = True
        low, high = self.bounds_
        evidence = np.where(adapted, POOL, np.where(by_own, OWN, ""))
        return pd.DataFrame(
            {
                "pred": np.clip(pred, low, high),
                "novelty": novelty,
                "evidence": evidence,
                "site": sites,
                "group": group,
            }
        )

    def _own_entry_tiers(self, X: pd.DataFrame, obs: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """For each of ``rows`` (a provider its site never saw): the tier its own scored related
        entries from the same provider show (their median, the record itself left out); NaN
        where it has none. They come with the record, so the estimate needs no other row."""
        out = np.full(len(obs), np.nan)
        entries = related_observations(X.iloc[rows], self.bounds_)
        if entries.empty:
            return out
        parent = rows[entries["row"].to_numpy(dtype=int)]
        keys = obs["key"].to_numpy(dtype=object)
        urls = obs["url_key"].to_numpy(dtype=object)
        same = (entries["key"].to_numpy(dtype=object) == keys[parent]) & (
            (entries["url_key"].to_numpy(dtype=object) != urls[parent]) | (urls[parent] == "")
        )
        entries, parent = entries[same], parent[same]
        if entries.empty:
            return out
        S = entries[list(RULE_TERMS)].to_numpy(dtype=float)
        sites = obs["site"].to_numpy(dtype=object)[parent]
        base = np.asarray(
            [
                self.mu_
                + S[j] @ (self.beta_ + self.sites_[site].deviations)
                + self.sites_[site].level
                for j, site in enumerate(sites)
            ]
        )
        tiers = pd.Series(entries["y"].to_numpy(dtype=float) - base).groupby(parent).median()
        out[tiers.index.to_numpy(dtype=int)] = tiers.to_numpy()
        return out

    def _unseen_offset(self, obs: pd.DataFrame, shared_tiers: np.ndarray) -> np.ndarray:
        """The tier of each row of a site never seen: its shared tier when another site knows
        the provider, else the pooled newcomer's."""
        known = np.asarray([k in self.key_tiers_ for k in obs["key"]], dtype=bool)
        return np.where(known, 0.0, self.pooled_offset_ - shared_tiers)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_table(X)["pred"].to_numpy(dtype=float)

    def shared_prediction(self, X: pd.DataFrame) -> np.ndarray:
        """What sites share alone (mu + the terms' prices + the providers' shared tiers), no
        site part: the ``shared_rule`` baseline, to show what each site's own part adds."""
        check_is_fitted(self, "sites_")
        return np.clip(self._shared(record_observations(X))[2], *self.bounds_)

    def novelty(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_table(X)["novelty"].to_numpy(dtype=object)


@dataclass
class AdaptedModel:
    """A fitted model and what the related entries of a batch of records said of their sites
    (:meth:`SiteRuleRegressor.adapt`): predicts like the model, with those estimates."""

    model: SiteRuleRegressor
    estimates: dict[str, list[SiteParams]]
    checks: dict[str, np.ndarray] = field(default_factory=dict)  # per site: _self_check

    def predict_table(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.model.predict_table(X, self.estimates)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_table(X)["pred"].to_numpy(dtype=float)


def crossfit_groups(url_keys: Iterable[str], rows: Iterable[int]) -> np.ndarray:
    """A record's group: a digest of its URL key (of its position when it has none)."""
    return np.asarray(
        [
            zlib.crc32(key.encode("utf-8")) % CROSSFIT_GROUPS if key else int(row) % CROSSFIT_GROUPS
            for key, row in zip(url_keys, rows, strict=True)
        ],
        dtype=int,
    )
