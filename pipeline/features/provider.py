"""Provider features: normalised domain/name, syndication, TLD, and a learned quality prior.

Why: each provider sits on a fixed tier of the aggregator's scale (most at 0, some +40, some
+90, YouTube videos +50), added on top of structure bonuses. Raw per-provider mean quality
mixes the tier with the provider's habits (images, AMP pages), so the prior here is
*structure-adjusted*: a fixed-effects ridge learns what image/AMP/video/title form are worth,
and the prior is the smoothed per-provider mean of what is left. It is learned from the training
records **and the scored ``related`` entries attached to them**, which cover providers the
main records never show; ``fit_transform`` cross-fits it (like sklearn's TargetEncoder) so a
training row never sees its own target.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from pipeline.features.structure import (
    _missing,
    _num,
    as_entries,
    column_numbers,
    column_values,
    frame_records,
)
from pipeline.features.text import _as_text, _as_topics, _one_text, _topic_values, topic_matrix

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

_SYNDICATION = re.compile(r"^(?P<origin>.+?)\s+(?:on|via|from|\|)\s+(?P<carrier>[\w.\- ]+)$", re.I)
_TWO_LEVEL_SUFFIXES = {"co", "com", "net", "org", "gov", "ac", "edu"}


def normalise_domain(value: object) -> str:
    """'https://WWW.GameRant.com/x' -> 'gamerant.com'; missing -> ''."""
    if _missing(value):
        return ""
    d = str(value).strip().lower()
    d = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", d)
    d = d.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    return d.removeprefix("www.").removeprefix("m.")


def url_domain(value: object) -> str:
    """Domain of a URL, normalised like a provider domain."""
    if type(value) is str:
        return _normalise_domain_cached(value)
    return normalise_domain(value)


_normalise_domain_cached = functools.lru_cache(maxsize=65_536)(normalise_domain)


@functools.lru_cache(maxsize=65_536)
def top_level_domain(domain: str) -> str:
    """'bbc.co.uk' -> 'co.uk', 'ign.com' -> 'com', '' -> ''."""
    parts = [p for p in domain.split(".") if p]
    if len(parts) >= 3 and parts[-2] in _TWO_LEVEL_SUFFIXES and len(parts[-1]) == 2:
        return ".".join(parts[-2:])
    return parts[-1] if parts else ""


def normalise_name(value: object) -> str:
    """'GamesRadar+' / 'Games Radar' / 'gamesradar.com' -> 'gamesradar'."""
    if _missing(value):
        return ""
    s = str(value).strip().lower()
    s = re.sub(r"\.(com|net|org|co\.uk|com\.au)$", "", s)
    return re.sub(r"[^0-9a-z]+", "", s)


def parse_provider(name: object, domain: object) -> dict[str, str]:
    """Split syndication: 'GameRant on MSN.com' @ msn.com -> origin gamerant, carrier msn.com."""
    origin, carrier, dom, syndicated = _provider_parts(name, domain)
    return {"origin": origin, "carrier": carrier, "domain": dom, "syndicated": syndicated}


def _provider_parts(name: object, domain: object) -> tuple[str, str, str, str]:
    """(origin, carrier, domain, syndicated) of parse_provider; cached for text inputs.

    Providers repeat across records and related entries, so the regexes run once per distinct
    (name, domain) pair. Only str/None are cached (hashable, and equal only when identical).
    """
    if (name is None or type(name) is str) and (domain is None or type(domain) is str):
        return _provider_parts_cached(name, domain)
    return _provider_parts_uncached(name, domain)


def _provider_parts_uncached(name: object, domain: object) -> tuple[str, str, str, str]:
    dom = normalise_domain(domain)
    raw = "" if _missing(name) else str(name).strip()
    m = _SYNDICATION.match(raw)
    if m:
        origin = normalise_name(m.group("origin"))
        carrier_raw = m.group("carrier").strip()
        carrier = normalise_domain(carrier_raw) if "." in carrier_raw else dom
        return origin, carrier or dom, dom, "1"
    return normalise_name(raw) or normalise_name(dom), "", dom, ""


_provider_parts_cached = functools.lru_cache(maxsize=65_536)(_provider_parts_uncached)


def url_key(value: object) -> str:
    """Loose URL identity (scheme, www, trailing slash, query dropped) to match entries."""
    if type(value) is str:
        return _url_key_cached(value)
    return _url_key(value)


def _url_key(value: object) -> str:
    if _missing(value):
        return ""
    u = str(value).strip().lower()
    u = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", u).removeprefix("www.")
    return u.split("?", 1)[0].split("#", 1)[0].rstrip("/")


_url_key_cached = functools.lru_cache(maxsize=65_536)(_url_key)


def structure_terms(
    entry: Mapping[str, object], topics: Sequence[str], long_title: int = 70
) -> list[float]:
    """The PRIOR_STRUCTURE vector of a record or related entry (topics: the record's)."""
    # The values of entry_flags / topic_matches, computed inline (no dicts): this runs for
    # every record and every related entry.
    get = entry.get
    count = _num(get("image_count"))
    title = _one_text(get("title"))
    tm = _topic_values(title, _one_text(get("excerpt")), list(topics))
    return [
        float((count if not np.isnan(count) else 0.0) > 0),
        float(not _missing(get("amp_url"))),
        float(str(get("type") or "").strip().lower() == "video"),
        float(max(len(title) - long_title, 0)),
        tm[3],  # title_names_no_topic
        tm[4],  # topics_extra_in_title
    ]


def _observations(X: pd.DataFrame, y: np.ndarray | None, use_related: bool) -> pd.DataFrame:
    """Rows (row, domain, origin, url_key, structure..., y) from records and related entries.

    ``row`` is the position of the record the observation came from, so cross-fitting can
    build this once and select the training rows of each fold.
    """
    rows: list[list[object]] = []
    records = frame_records(X)
    topics_all = _as_topics(X["topics"]) if "topics" in X.columns else [[] for _ in records]
    for i, rec in enumerate(records):
        topics = topics_all[i]
        if y is not None and not np.isnan(y[i]):
            p = parse_provider(rec.get("provider_name"), rec.get("provider_domain"))
            key = url_key(rec.get("url"))
            rows.append([i, p["domain"], p["origin"], key, *structure_terms(rec, topics), y[i]])
        if not use_related:
            continue
        for e in as_entries(rec.get("related")):
            q = e.get("quality")
            if _missing(q):
                continue
            k = url_key(e.get("url") or e.get("web_url") or e.get("original_url"))
            p = parse_provider(e.get("provider_name"), e.get("provider_domain"))
            rows.append([i, p["domain"], p["origin"], k, *structure_terms(e, topics), float(q)])  # type: ignore[arg-type]
    cols = ["row", "domain", "origin", "url_key", *PRIOR_STRUCTURE, "y"]
    return pd.DataFrame(rows, columns=cols)


def _select(obs: pd.DataFrame, rows: np.ndarray | None, exclude_urls: set[str]) -> pd.DataFrame:
    """Observations of the given record rows, minus excluded articles, each article once."""
    if rows is not None:
        obs = obs[obs["row"].isin(rows)]
    if exclude_urls:
        obs = obs[~obs["url_key"].isin(exclude_urls)]
    # The same article is often both a record and someone's related entry: count it once.
    keyed = obs[obs["url_key"] != ""].drop_duplicates(["url_key", "domain", "y"])
    return pd.concat([keyed, obs[obs["url_key"] == ""]], ignore_index=True)


_META_FEATURES = frozenset(
    [f"prior_{k}_{s}" for k in ("domain", "origin", "tld") for s in ("log_n", "std")]
    + ["url_off_provider"]
)


def _own_related_level(
    rec: Mapping[str, object], domain: str, topics: Sequence[str], beta: np.ndarray
) -> float:
    """Structure-adjusted mean quality of the record's *own* related entries from its provider.

    Those entries arrive with the record (they are input, not training data), so they can
    place a provider never seen in training; the record itself (same URL) is skipped.
    """
    if not domain:
        return np.nan
    own_key = url_key(rec.get("url"))
    levels = []
    for e in as_entries(rec.get("related")):
        q = e.get("quality")
        if _missing(q):
            continue
        if parse_provider(e.get("provider_name"), e.get("provider_domain"))["domain"] != domain:
            continue
        if url_key(e.get("url") or e.get("web_url") or e.get("original_url")) == own_key:
            continue
        levels.append(float(q) - float(np.asarray(structure_terms(e, topics)) @ beta))  # type: ignore[arg-type]
    return float(np.mean(levels)) if levels else np.nan


def _table_lookup(table: pd.DataFrame) -> dict[object, list[float]]:
    """A prior table as {key: [adj, log1p(n), raw, std]}: one dict get per row, not a .loc."""
    return {
        key: [float(adj), float(np.log1p(n)), float(raw), float(std)]
        for key, adj, n, raw, std in zip(
            table.index,
            table["adj"].to_numpy(dtype=float),
            table["n"].to_numpy(dtype=float),
            table["raw"].to_numpy(dtype=float),
            table["std"].to_numpy(dtype=float),
            strict=True,
        )
    }


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


def _record_structure(X: pd.DataFrame, long_title: int = 70) -> np.ndarray:
    """:func:`structure_terms` of every record of ``X`` (its own topics), column by column."""
    n = len(X)
    S = np.zeros((n, len(PRIOR_STRUCTURE)), dtype=float)
    count = column_numbers(X, "image_count")
    S[:, 0] = np.where(np.isnan(count), 0.0, count) > 0
    S[:, 1] = [not _missing(v) for v in column_values(X, "amp_url")]
    S[:, 2] = [str(v or "").strip().lower() == "video" for v in column_values(X, "type")]
    titles = _as_text(X["title"]) if "title" in X.columns else [""] * n
    S[:, 3] = [max(len(t) - long_title, 0) for t in titles]
    if "topics" in X.columns:
        excerpts = _as_text(X["excerpt"]) if "excerpt" in X.columns else [""] * n
        S[:, 4:6] = topic_matrix(titles, excerpts, X["topics"])[:, 3:5]
    return S


def _own_related_levels(X: pd.DataFrame, domains: Sequence[str], beta: np.ndarray) -> np.ndarray:
    """:func:`_own_related_level` of every record of ``X``.

    The entries are walked record by record (they are dicts), skipping cheaply what cannot
    count (unscored, another provider) before the URL and structure terms are looked at; the
    means are taken per group of records with the same number of levels, as rows of one 2-D
    array (numpy reduces each row exactly as that row alone).
    """
    n = len(X)
    out = np.full(n, np.nan)
    if "related" not in X.columns:
        return out
    related = column_values(X, "related")
    urls = column_values(X, "url")
    topic_cells = column_values(X, "topics") if "topics" in X.columns else None
    by_count: dict[int, tuple[list[int], list[list[float]]]] = {}
    seen: dict[tuple[str, str], str] = {}
    for i, value in enumerate(related):
        domain = domains[i]
        if not domain:
            continue
        entries = as_entries(value)
        if not entries:
            continue
        own_key: str | None = None
        topics: list[str] | None = None
        levels: list[float] = []
        for e in entries:
            q = e.get("quality")
            if _missing(q):
                continue
            name, dom = e.get("provider_name"), e.get("provider_domain")
            if type(name) is str and type(dom) is str:  # memo per batch (str keys only)
                entry_domain = seen.get((name, dom))
                if entry_domain is None:
                    entry_domain = seen[name, dom] = _provider_parts(name, dom)[2]
            else:
                entry_domain = _provider_parts(name, dom)[2]
            if entry_domain != domain:
                continue
            if own_key is None:
                own_key = url_key(urls[i])
            if url_key(e.get("url") or e.get("web_url") or e.get("original_url")) == own_key:
                continue
            if topics is None:
                topics = _as_topics([topic_cells[i]])[0] if topic_cells is not None else []
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
        describe how one site's feed is built, and a model trained on one site and used on
        another leaned on them badly (power-apps -> diablo4 MAE 40 with them, 19 without),
        while within a site they changed MAE by under 0.05.
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

    # ---- learning -------------------------------------------------------------------------
    def _learn(self, obs: pd.DataFrame) -> dict[str, object]:
        S = obs[list(PRIOR_STRUCTURE)].to_numpy(dtype=float)
        target = obs["y"].to_numpy(dtype=float)
        if len(obs) == 0:
            return {"beta": np.zeros(len(PRIOR_STRUCTURE)), "glob": 0.0, "tables": {}}
        codes, uniques = pd.factorize(obs["domain"])
        onehot = sparse.csr_matrix(
            (np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), len(uniques))
        )
        design = sparse.hstack([sparse.csr_matrix(S), onehot]).tocsr()
        ridge = Ridge(alpha=self.alpha).fit(design, target)
        beta = np.asarray(ridge.coef_[: S.shape[1]], dtype=float)
        obs = obs.assign(adj=target - S @ beta)
        glob = float(obs["adj"].median())
        m = float(self.smoothing)
        tables: dict[str, pd.DataFrame] = {}
        obs["tld"] = obs["domain"].map(top_level_domain)
        for key in ("domain", "origin", "tld"):
            g = obs[obs[key] != ""].groupby(key)
            t = pd.DataFrame(
                {
                    "n": g["adj"].size().astype(float),
                    "adj": (g["adj"].sum() + m * glob) / (g["adj"].size() + m),
                    "raw": (g["y"].sum() + m * float(target.mean())) / (g["y"].size() + m),
                    "std": g["adj"].std(ddof=0),
                }
            )
            tables[key] = t
        return {"beta": beta, "glob": glob, "raw_glob": float(target.mean()), "tables": tables}

    def _check_y(self, X: pd.DataFrame, y: object) -> np.ndarray:
        if y is None:
            raise ValueError("ProviderPrior needs y to learn the prior")
        yy = np.asarray(y, dtype=float).ravel()
        if len(yy) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(yy)}")
        return yy

    def fit(self, X: pd.DataFrame, y: object = None) -> ProviderPrior:
        yy = self._check_y(X, y)
        return self._fit_observations(X, _observations(X, yy, self.use_related))

    def _fit_observations(self, X: pd.DataFrame, obs: pd.DataFrame) -> ProviderPrior:
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.state_ = self._learn(_select(obs, None, set()))
        self.structure_coef_ = dict(zip(PRIOR_STRUCTURE, self.state_["beta"], strict=True))
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None, **fit_params: object) -> np.ndarray:
        """Fit on all rows, but return out-of-fold priors for the training rows themselves."""
        yy = self._check_y(X, y)
        obs = _observations(X, yy, self.use_related)
        self._fit_observations(X, obs)
        out = np.empty((len(X), len(self.get_feature_names_out())), dtype=float)
        n_splits = min(self.cv, len(X))
        if n_splits < 2:
            return self.transform(X)
        keys = np.asarray([url_key(u) for u in X["url"]]) if "url" in X.columns else None
        folds = KFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        for train_idx, test_idx in folds.split(X):
            excl = {k for k in keys[test_idx] if k} if keys is not None else set()
            state = self._learn(_select(obs, train_idx, excl))
            out[test_idx] = self._encode(X.iloc[test_idx], state)
        return out

    # ---- encoding -------------------------------------------------------------------------
    def _encode(self, X: pd.DataFrame, state: Mapping[str, object]) -> np.ndarray:
        """All rows at once: table lookups by Index.get_indexer, structure terms by column.

        The same numbers as :meth:`_encode_rows` (the record-by-record definition): the
        products with ``beta`` stay one 1-D dot per row, as there.
        """
        if not X.columns.is_unique:
            return self._encode_rows(X, state)
        beta = np.asarray(state["beta"], dtype=float)
        glob = float(state["glob"])  # type: ignore[arg-type]
        raw_glob = float(state.get("raw_glob", glob))  # type: ignore[arg-type]
        tables: Mapping[str, pd.DataFrame] = state["tables"]  # type: ignore[assignment]
        n = len(X)
        parts = [
            _provider_parts(name, domain)
            for name, domain in zip(
                column_values(X, "provider_name"), column_values(X, "provider_domain"), strict=True
            )
        ]
        origins = [p[0] for p in parts]
        domains = [p[2] for p in parts]
        out = np.empty((n, len(self._all_names())), dtype=float)
        best = np.full(n, np.nan)
        missing = np.asarray([glob, 0.0, raw_glob, np.nan], dtype=float)
        for at, key, values in (
            (1, "domain", domains),
            (5, "origin", origins),
            (9, "tld", [top_level_domain(d) for d in domains]),
        ):
            table = tables.get(key)
            if table is None or len(table) == 0:
                out[:, at : at + 4] = missing
                continue
            pos = table.index.get_indexer(pd.Index(values, dtype=object))
            found = pos >= 0
            rows = _table_arrays(table)[np.where(found, pos, 0)]
            out[:, at : at + 4] = np.where(found[:, None], rows, missing)
            if key != "tld":
                best = np.where(np.isnan(best) & found, rows[:, 0], best)
        own = _own_related_levels(X, domains, beta)
        best = np.where(np.isnan(best) & ~np.isnan(own), own, best)
        level = np.where(np.isnan(best), glob, best)
        S = _record_structure(X)
        out[:, 0] = [float(s @ beta) for s in S]
        out[:, 0] += level
        out[:, 13] = level
        out[:, 14] = own
        out[:, 15] = [bool(p[3]) for p in parts]
        if self.meta:
            urls = column_values(X, "url")
            out[:, 16] = [
                d != "" and url_domain(u) not in ("", d) for u, d in zip(urls, domains, strict=True)
            ]
            return out
        return out[:, [name not in _META_FEATURES for name in self._all_names()]]

    def _encode_rows(self, X: pd.DataFrame, state: Mapping[str, object]) -> np.ndarray:
        """The record-by-record definition of :meth:`_encode`."""
        beta = np.asarray(state["beta"], dtype=float)
        glob = float(state["glob"])  # type: ignore[arg-type]
        raw_glob = float(state.get("raw_glob", glob))  # type: ignore[arg-type]
        tables: Mapping[str, pd.DataFrame] = state["tables"]  # type: ignore[assignment]
        lookups = {key: _table_lookup(t) for key, t in tables.items()}
        records = frame_records(X)
        topics_all = _as_topics(X["topics"]) if "topics" in X.columns else [[] for _ in records]
        rows = []
        for i, rec in enumerate(records):
            feats: list[float] = [np.nan]  # prior_expected, filled below (kept first: the anchor)
            p = parse_provider(rec.get("provider_name"), rec.get("provider_domain"))
            s = np.asarray(structure_terms(rec, topics_all[i]), dtype=float)
            best = np.nan
            for key, val in (
                ("domain", p["domain"]),
                ("origin", p["origin"]),
                ("tld", top_level_domain(p["domain"])),
            ):
                t = lookups.get(key)
                r = t.get(val) if t is not None else None
                if r is not None:
                    feats += r
                    if np.isnan(best) and key != "tld":
                        best = r[0]
                else:
                    feats += [glob, 0.0, raw_glob, np.nan]
            own = _own_related_level(rec, p["domain"], topics_all[i], beta)
            if np.isnan(best) and not np.isnan(own):
                best = own  # a provider never seen in training, but scored in this record's list
            level = glob if np.isnan(best) else best
            feats[0] = float(s @ beta + level)
            feats += [level, own, float(bool(p["syndicated"]))]
            feats += [
                float(p["domain"] != "" and url_domain(rec.get("url")) not in ("", p["domain"]))
            ]
            rows.append(feats)
        out = np.asarray(rows, dtype=float).reshape(len(records), -1)
        if self.meta:
            return out
        return out[:, [n not in _META_FEATURES for n in self._all_names()]]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "state_")
        return self._encode(X, self.state_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = self._all_names()
        if self.meta:
            return names
        return names[[n not in _META_FEATURES for n in names]]

    @staticmethod
    def _all_names() -> np.ndarray:
        names: list[str] = ["prior_expected"]
        for key in ("domain", "origin", "tld"):
            names += [f"prior_{key}", f"prior_{key}_log_n", f"prior_{key}_raw", f"prior_{key}_std"]
        names += ["prior_level", "prior_own_related", "provider_syndicated", "url_off_provider"]
        return np.asarray(names, dtype=object)


def provider_keys(frame: pd.DataFrame) -> pd.Series:
    """Normalised provider domain per row (for grouping folds and provider baselines)."""
    return pd.Series(
        [
            parse_provider(n, d)["domain"]
            for n, d in zip(frame["provider_name"], frame["provider_domain"], strict=True)
        ],
        index=frame.index,
        dtype=object,
    )


def iter_related(frame: pd.DataFrame) -> Iterable[Mapping[str, object]]:
    """All related entries of a frame (helper for exploration and tests)."""
    for v in frame["related"]:
        yield from as_entries(v)
