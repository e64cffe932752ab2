"""The provider prior: a structure-adjusted quality level per provider, learned with its prices.

Why: each provider sits on a fixed tier of the aggregator's scale (most at 0, some +40, some
+90, YouTube videos +50), added on top of structure bonuses. Raw per-provider mean quality
mixes the tier with the provider's habits (images, AMP pages), so the prior here is
*structure-adjusted*: a fixed-effects ridge learns what image/AMP/video/title form are worth,
and the prior is the smoothed per-provider mean of what is left. It is learned from the
training records **and the scored ``related`` entries attached to them**, which cover providers
the main records never show; ``fit_transform`` cross-fits it (like sklearn's TargetEncoder) so
a training row never sees its own target. Its first output, ``prior_expected`` (structure
terms priced + the provider's level), is the model's anchor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from pipeline.features.cells import (
    column_numbers,
    column_texts,
    column_values,
    entries,
    frame_records,
    is_video,
    missing,
    number,
    one_text,
    topic_lists,
)
from pipeline.features.providers import parse_provider, top_level_domain, url_domain
from pipeline.features.text import TOPIC_FEATURES, topic_matrix, topic_values
from pipeline.identity import url_key

PROVIDER_COLUMNS: tuple[str, ...] = (
    "provider_name",
    "provider_domain",
    "url",
    "type",
    "image_count",
    "amp_url",
    "cdn_amp_url",
    "web_url",
    "title",
    "topics",
    "related",
)

# Structure terms the prior adjusts for (computable for records and related entries alike).
PRIOR_STRUCTURE: tuple[str, ...] = (
    "has_image",
    "has_amp",
    "is_video",
    "title_chars_over_long",
    "title_names_no_topic",
    "topics_extra_in_title",
)
LONG_TITLE = 70  # characters a title may have before each further one costs
_TOPIC_TERMS = [TOPIC_FEATURES.index(name) for name in PRIOR_STRUCTURE[4:]]
PRIOR_KEYS: tuple[str, ...] = ("domain", "origin", "tld")  # the levels of the backoff
_TABLE_STATS: tuple[str, ...] = ("", "_log_n", "_raw", "_std")  # per key: adj, log n, raw, std
PRIOR_FEATURES: tuple[str, ...] = (
    "prior_expected",
    *(f"prior_{key}{stat}" for key in PRIOR_KEYS for stat in _TABLE_STATS),
    "prior_level",
    "prior_own_related",
    "provider_syndicated",
    "url_off_provider",
)
_META_FEATURES = frozenset(
    [f"prior_{key}_{stat}" for key in PRIOR_KEYS for stat in ("log_n", "std")]
    + ["url_off_provider"]
)


def entry_url_key(entry: Mapping[str, object]) -> str:
    """The article key of a related entry (its original URL, else its web URL)."""
    return url_key(entry.get("url") or entry.get("web_url") or entry.get("original_url"))


def structure_terms(entry: Mapping[str, object], topics: Sequence[str]) -> list[float]:
    """The :data:`PRIOR_STRUCTURE` vector of a record or related entry (topics: the record's)."""
    get = entry.get
    count = number(get("image_count"))
    title = one_text(get("title"))
    named = topic_values(title, one_text(get("excerpt")), list(topics))
    return [
        float((count if not np.isnan(count) else 0.0) > 0),
        float(not missing(get("amp_url"))),
        float(is_video(get("type"))),
        float(max(len(title) - LONG_TITLE, 0)),
        *(named[i] for i in _TOPIC_TERMS),
    ]


def record_structure(X: pd.DataFrame) -> np.ndarray:
    """:func:`structure_terms` of every record of ``X`` (its own topics), column by column."""
    S = np.zeros((len(X), len(PRIOR_STRUCTURE)), dtype=float)
    count = column_numbers(X, "image_count")
    S[:, 0] = np.where(np.isnan(count), 0.0, count) > 0
    S[:, 1] = [not missing(v) for v in column_values(X, "amp_url")]
    S[:, 2] = [is_video(v) for v in column_values(X, "type")]
    titles = column_texts(X, "title")
    S[:, 3] = [max(len(t) - LONG_TITLE, 0) for t in titles]
    if "topics" in X.columns:
        excerpts = column_texts(X, "excerpt")
        S[:, 4:6] = topic_matrix(titles, excerpts, X["topics"])[:, _TOPIC_TERMS]
    return S


@dataclass(frozen=True)
class PriorTables:
    """What the prior learned: the price of each structure term, and the levels.

    ``tables`` maps each of :data:`PRIOR_KEYS` to a frame indexed by that key with the
    observation count ``n``, the smoothed structure-adjusted level ``adj``, the smoothed raw
    mean ``raw`` and the spread ``std``; ``level`` and ``raw_level`` stand for what no table
    knows.
    """

    beta: np.ndarray
    level: float
    raw_level: float
    tables: Mapping[str, pd.DataFrame]

    @property
    def coefficients(self) -> dict[str, float]:
        return dict(zip(PRIOR_STRUCTURE, map(float, self.beta), strict=True))


def observations(X: pd.DataFrame, y: np.ndarray | None, use_related: bool) -> pd.DataFrame:
    """Rows (row, domain, origin, url_key, structure..., y) from records and related entries.

    ``row`` is the position of the record the observation came from, so cross-fitting can
    build this once and select the training rows of each fold.
    """
    rows: list[list[object]] = []
    records = frame_records(X)
    topics_all = topic_lists(X["topics"]) if "topics" in X.columns else [[] for _ in records]
    for i, rec in enumerate(records):
        topics = topics_all[i]
        if y is not None and not np.isnan(y[i]):
            p = parse_provider(rec.get("provider_name"), rec.get("provider_domain"))
            key = url_key(rec.get("url"))
            rows.append([i, p.domain, p.origin, key, *structure_terms(rec, topics), y[i]])
        if not use_related:
            continue
        for e in entries(rec.get("related")):
            q = e.get("quality")
            if missing(q):
                continue
            p = parse_provider(e.get("provider_name"), e.get("provider_domain"))
            terms = structure_terms(e, topics)
            rows.append([i, p.domain, p.origin, entry_url_key(e), *terms, float(q)])  # type: ignore[arg-type]
    cols = ["row", "domain", "origin", "url_key", *PRIOR_STRUCTURE, "y"]
    return pd.DataFrame(rows, columns=cols)


def select(obs: pd.DataFrame, rows: np.ndarray | None, exclude_urls: set[str]) -> pd.DataFrame:
    """Observations of the given record rows, minus excluded articles, each article once."""
    if rows is not None:
        obs = obs[obs["row"].isin(rows)]
    if exclude_urls:
        obs = obs[~obs["url_key"].isin(exclude_urls)]
    # The same article is often both a record and someone's related entry: count it once.
    keyed = obs[obs["url_key"] != ""].drop_duplicates(["url_key", "domain", "y"])
    return pd.concat([keyed, obs[obs["url_key"] == ""]], ignore_index=True)


def learn(obs: pd.DataFrame, *, alpha: float, smoothing: float) -> PriorTables:
    """Price the structure terms (a ridge with one indicator per domain) and smooth the levels
    of each domain, origin and TLD towards the overall one."""
    S = obs[list(PRIOR_STRUCTURE)].to_numpy(dtype=float)
    target = obs["y"].to_numpy(dtype=float)
    if len(obs) == 0:
        return PriorTables(np.zeros(len(PRIOR_STRUCTURE)), 0.0, 0.0, {})
    codes, uniques = pd.factorize(obs["domain"])
    onehot = sparse.csr_matrix(
        (np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), len(uniques))
    )
    design = sparse.hstack([sparse.csr_matrix(S), onehot]).tocsr()
    ridge = Ridge(alpha=alpha).fit(design, target)
    beta = np.asarray(ridge.coef_[: S.shape[1]], dtype=float)
    obs = obs.assign(adj=target - S @ beta)
    level = float(obs["adj"].median())
    m = float(smoothing)
    tables: dict[str, pd.DataFrame] = {}
    obs["tld"] = obs["domain"].map(top_level_domain)
    for key in PRIOR_KEYS:
        g = obs[obs[key] != ""].groupby(key)
        tables[key] = pd.DataFrame(
            {
                "n": g["adj"].size().astype(float),
                "adj": (g["adj"].sum() + m * level) / (g["adj"].size() + m),
                "raw": (g["y"].sum() + m * float(target.mean())) / (g["y"].size() + m),
                "std": g["adj"].std(ddof=0),
            }
        )
    return PriorTables(beta, level, float(target.mean()), tables)


def _table_arrays(table: pd.DataFrame) -> np.ndarray:
    """A prior table as an (m, 4) array of [adj, log1p(n), raw, std] rows (index order)."""
    return np.column_stack(
        [
            table["adj"].to_numpy(dtype=float),
            np.log1p(table["n"].to_numpy(dtype=float)),
            table["raw"].to_numpy(dtype=float),
            table["std"].to_numpy(dtype=float),
        ]
    ).reshape(len(table), 4)


def own_related_levels(X: pd.DataFrame, domains: Sequence[str], beta: np.ndarray) -> np.ndarray:
    """Per record: the structure-adjusted mean quality of its *own* related entries from its
    own provider (NaN when there are none).

    Those entries arrive with the record (they are input, not training data), so they can
    place a provider never seen in training; the record itself (same URL) is skipped. The
    entries are walked record by record, skipping cheaply what cannot count (unscored,
    another provider) before the URL and structure terms are looked at; the means are taken
    per group of records with the same number of levels, as rows of one 2-D array (numpy
    reduces each row exactly as that row alone).
    """
    n = len(X)
    out = np.full(n, np.nan)
    if "related" not in X.columns:
        return out
    related = column_values(X, "related")
    urls = column_values(X, "url")
    topic_cells = column_values(X, "topics") if "topics" in X.columns else None
    by_count: dict[int, tuple[list[int], list[list[float]]]] = {}
    for i, value in enumerate(related):
        domain = domains[i]
        listed = entries(value) if domain else []
        own_key: str | None = None
        topics: list[str] | None = None
        levels: list[float] = []
        for e in listed:
            q = e.get("quality")
            if missing(q):
                continue
            if parse_provider(e.get("provider_name"), e.get("provider_domain")).domain != domain:
                continue
            if own_key is None:
                own_key = url_key(urls[i])
            if entry_url_key(e) == own_key:
                continue
            if topics is None:
                topics = topic_lists([topic_cells[i]])[0] if topic_cells is not None else []
            levels.append(float(q) - float(np.asarray(structure_terms(e, topics)) @ beta))  # type: ignore[arg-type]
        if levels:
            rows, values = by_count.setdefault(len(levels), ([], []))
            rows.append(i)
            values.append(levels)
    for rows, values in by_count.values():
        out[rows] = np.asarray(values, dtype=float).mean(axis=1)
    return out


class ProviderPrior(TransformerMixin, BaseEstimator):
    """Structure-adjusted, smoothed quality prior per provider domain, origin name and TLD.

    Parameters
    ----------
    smoothing : pseudo-count pulling a provider's prior towards the global one.
    alpha : ridge penalty of the fixed-effects fit that prices the structure terms.
    cv : folds for the cross-fitted ``fit_transform`` (training rows never see their target).
    use_related : learn also from the scored related entries of the training records.
    random_state : seed of the cross-fitting split.
    meta : also output per-provider meta statistics (log count, spread of the adjusted
        quality per domain/origin/TLD, URL host differs from provider). Off by default: they
        describe how one site's feed is built, and a model trained on one site leaned on them
        badly on another, while within a site they hardly changed the error.

    Attributes
    ----------
    prior_ : PriorTables
        What was learned from all the training rows.
    structure_coef_ : dict
        The price of each structure term (``prior_.coefficients``).
    """

    def __init__(
        self,
        smoothing: float = 1.0,
        alpha: float = 1.0,
        cv: int = 5,
        use_related: bool = True,
        random_state: int = 0,
        meta: bool = False,
    ) -> None:
        self.smoothing = smoothing
        self.alpha = alpha
        self.cv = cv
        self.use_related = use_related
        self.random_state = random_state
        self.meta = meta

    def _learn(self, obs: pd.DataFrame) -> PriorTables:
        return learn(obs, alpha=self.alpha, smoothing=self.smoothing)

    def _check_y(self, X: pd.DataFrame, y: object) -> np.ndarray:
        if y is None:
            raise ValueError("ProviderPrior needs y to learn the prior")
        yy = np.asarray(y, dtype=float).ravel()
        if len(yy) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(yy)}")
        return yy

    def fit(self, X: pd.DataFrame, y: object = None) -> ProviderPrior:
        yy = self._check_y(X, y)
        return self._fit_observations(X, observations(X, yy, self.use_related))

    def _fit_observations(self, X: pd.DataFrame, obs: pd.DataFrame) -> ProviderPrior:
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.prior_ = self._learn(select(obs, None, set()))
        self.structure_coef_ = self.prior_.coefficients
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None, **fit_params: object) -> np.ndarray:
        """Fit on all rows, but return out-of-fold priors for the training rows themselves."""
        yy = self._check_y(X, y)
        obs = observations(X, yy, self.use_related)
        self._fit_observations(X, obs)
        n_splits = min(self.cv, len(X))
        if n_splits < 2:
            return self.transform(X)
        out = np.empty((len(X), len(self.get_feature_names_out())), dtype=float)
        keys = np.asarray([url_key(u) for u in X["url"]]) if "url" in X.columns else None
        folds = KFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        for train_idx, test_idx in folds.split(X):
            excl = {k for k in keys[test_idx] if k} if keys is not None else set()
            prior = self._learn(select(obs, train_idx, excl))
            out[test_idx] = self._encode(X.iloc[test_idx], prior)
        return out

    def _encode(self, X: pd.DataFrame, prior: PriorTables) -> np.ndarray:
        """Every row at once: table lookups by ``Index.get_indexer``, structure by column."""
        n = len(X)
        providers = [
            parse_provider(name, domain)
            for name, domain in zip(
                column_values(X, "provider_name"), column_values(X, "provider_domain"), strict=True
            )
        ]
        domains = [p.domain for p in providers]
        keys = {
            "domain": domains,
            "origin": [p.origin for p in providers],
            "tld": [top_level_domain(d) for d in domains],
        }
        values: dict[str, np.ndarray] = {}
        best = np.full(n, np.nan)  # the first level found: domain, else origin
        unknown = np.asarray([prior.level, 0.0, prior.raw_level, np.nan], dtype=float)
        for key in PRIOR_KEYS:
            table = prior.tables.get(key)
            if table is None or len(table) == 0:
                block = np.tile(unknown, (n, 1))
            else:
                pos = table.index.get_indexer(pd.Index(keys[key], dtype=object))
                found = pos >= 0
                rows = _table_arrays(table)[np.where(found, pos, 0)]
                block = np.where(found[:, None], rows, unknown)
                if key != "tld":
                    best = np.where(np.isnan(best) & found, rows[:, 0], best)
            for j, stat in enumerate(_TABLE_STATS):
                values[f"prior_{key}{stat}"] = block[:, j]
        own = own_related_levels(X, domains, prior.beta)
        best = np.where(np.isnan(best) & ~np.isnan(own), own, best)
        level = np.where(np.isnan(best), prior.level, best)
        S = record_structure(X)
        values["prior_expected"] = np.asarray([float(s @ prior.beta) for s in S]) + level
        values["prior_level"] = level
        values["prior_own_related"] = own
        values["provider_syndicated"] = np.asarray([bool(p.syndicated) for p in providers])
        if self.meta:
            urls = column_values(X, "url")
            off = [
                d != "" and url_domain(u) not in ("", d) for u, d in zip(urls, domains, strict=True)
            ]
            values["url_off_provider"] = np.asarray(off)
        names = self.get_feature_names_out()
        out = np.empty((n, len(names)), dtype=float)
        for j, name in enumerate(names):
            out[:, j] = values[name]
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "prior_")
        return self._encode(X, self.prior_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = [n for n in PRIOR_FEATURES if self.meta or n not in _META_FEATURES]
        return np.asarray(names, dtype=object)
