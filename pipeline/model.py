"""The quality model: estimator factory, training, evaluation protocols and baselines.

Why this shape: on diablo4 the aggregator's ``quality`` is (exactly, for 1,500 records) an
additive rule found by exploring the corpus::

    67 + 20·[image] + 20·[AMP link] − ⌊(len(title) − 70) / 2⌋₊ − 15·[title names no topic]
       + 17·[each further topic named in the title] + provider tier (0, +40, +90; videos +50)

(power-apps follows the same terms plus other tiers, e.g. −50). So the provider step computes
a rule-like *anchor* -- structure terms priced by a fixed-effects ridge plus the provider's
structure-adjusted level, learned from training records **and** their scored related entries
-- and the final estimator (HistGradientBoosting by default; "ridge" for comparison) learns
only a correction to it. Evaluation: the prior is learned inside each
training fold and the related lists of test records never feed training; ``strict_related``
also removes test articles that reappear in training records' related lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from pipeline.choices import DEFAULT_KIND, KINDS, PROTOCOLS
from pipeline.features.build import ANCHOR_INDEX, build_features, input_columns
from pipeline.features.provider import provider_keys, url_key
from pipeline.features.structure import as_entries
from pipeline.schema import TARGET

QUALITY_RANGE: tuple[float, float] = (11.0, 189.0)


# ---- estimator ------------------------------------------------------------------------------
_CONTROLLERS: dict[type, ThreadpoolController] = {}


def _thread_limit(estimator: Any, n_threads: int | None) -> Any:
    """``threadpool_limits(n_threads)`` without re-scanning the loaded libraries every call.

    Building a ThreadpoolController walks every shared library of the process (~2.4 ms, about
    the cost of predicting 100 rows), so one is kept per estimator class, made at that class's
    first fit/predict -- by then its OpenMP/BLAS libraries are loaded.
    """
    controller = _CONTROLLERS.get(type(estimator))
    if controller is None:
        controller = _CONTROLLERS[type(estimator)] = ThreadpoolController()
    return controller.limit(limits=n_threads)


def _binned_predict(hgb: HistGradientBoostingRegressor, X: Any) -> np.ndarray | None:
    """``hgb.predict(X)`` through the fitted bin mapper (uint8 bins), or None if not applicable.

    The same trees, walked on the binned matrix (the path sklearn takes for its own scoring
    during fit): a node sends a value left iff ``x <= num_threshold``, and the bin mapper puts
    ``x`` at or below bin ``b`` iff ``x <= thresholds[b]``, with ``num_threshold`` =
    ``thresholds[bin_threshold]`` (``inf`` for the last bin) and NaN in the missing-values bin
    on both paths -- so every row reaches the same leaf and the leaf values are summed in the
    same order (identical floats). The uint8 matrix is an eighth of the float one: the tree
    walk is ~30 % faster on 2,000 rows. Private attributes are read defensively: anything
    unexpected (another sklearn layout, categorical features) uses ``hgb.predict``.
    """
    mapper = getattr(hgb, "_bin_mapper", None)
    predictors = getattr(hgb, "_predictors", None)
    baseline = getattr(hgb, "_baseline_prediction", None)
    missing_bin = getattr(mapper, "missing_values_bin_idx_", None)
    if (
        mapper is None
        or predictors is None
        or baseline is None
        or missing_bin is None
        or getattr(hgb, "is_categorical_", None) is not None
        or getattr(hgb, "n_trees_per_iteration_", None) != 1
        or not hasattr(hgb, "_preprocess_X")
    ):
        return None
    X = hgb._preprocess_X(X, reset=False)  # the validation predict does
    binned = mapper.transform(X)
    raw = np.zeros(X.shape[0], dtype=baseline.dtype)
    raw += baseline.ravel()
    for trees in predictors:
        raw += trees[0].predict_binned(binned, missing_bin, 1)
    return np.asarray(hgb._loss.link.inverse(raw), dtype=float)


class ClippedRegressor(RegressorMixin, BaseEstimator):
    """Wrap a regressor: optionally learn a correction to an anchor column; clip to the scale.

    With ``anchor_index`` set, the inner estimator fits ``y - X[:, anchor_index]`` and the
    prediction is anchor + correction. The anchor is the provider step's rule-like prediction,
    so a regularised correction falls back to it where the data say little (a new site).
    ``n_threads`` caps OpenMP/BLAS threads: on a small, busy machine one thread is several
    times faster than oversubscribed ones (HistGradientBoosting on 1.2k rows: 3 s vs 16 s).
    """

    def __init__(
        self,
        estimator: Any,
        low: float = QUALITY_RANGE[0],
        high: float = QUALITY_RANGE[1],
        anchor_index: int | None = None,
        n_threads: int | None = 1,
    ) -> None:
        self.estimator = estimator
        self.low = low
        self.high = high
        self.anchor_index = anchor_index
        self.n_threads = n_threads

    def _anchor(self, X: Any) -> np.ndarray | float:
        if self.anchor_index is None:
            return 0.0
        col = X[:, self.anchor_index]
        col = col.toarray() if hasattr(col, "toarray") else np.asarray(col)
        return np.asarray(col, dtype=float).ravel()

    def _rest(self, X: Any) -> Any:
        """The correction never sees the anchor itself (no raw-unit column to extrapolate)."""
        if self.anchor_index is None:
            return X
        keep = [i for i in range(X.shape[1]) if i != self.anchor_index]
        return X[:, keep]

    def fit(self, X: Any, y: Any) -> ClippedRegressor:
        target = np.asarray(y, dtype=float) - self._anchor(X)
        estimator = clone(self.estimator)
        with _thread_limit(estimator, self.n_threads):
            self.estimator_ = estimator.fit(self._rest(X), target)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        with _thread_limit(self.estimator_, self.n_threads):
            rest = self._rest(X)
            pred = None
            if isinstance(self.estimator_, HistGradientBoostingRegressor) and self.n_threads == 1:
                pred = _binned_predict(self.estimator_, rest)
            if pred is None:
                pred = self.estimator_.predict(rest)
            pred = pred + self._anchor(X)
        return np.clip(pred, self.low, self.high)


def _regressor(kind: str, seed: int) -> Any:
    if kind == "hgb":
        return HistGradientBoostingRegressor(
            loss="absolute_error",
            learning_rate=0.05,
            max_iter=600,
            max_leaf_nodes=15,
            min_samples_leaf=5,
            l2_regularization=0.0,
            early_stopping=False,
            random_state=seed,
        )
    if kind == "ridge":
        return RidgeCV(alphas=np.logspace(-2, 3, 11))
    raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


def make_model(kind: str = DEFAULT_KIND, seed: int = 0, use_related: bool = True) -> Pipeline:
    """Unfitted pipeline: guard -> features -> (clipped) regressor."""
    features = build_features(
        "linear" if kind == "ridge" else "tree", seed=seed, use_related=use_related
    )
    final = ClippedRegressor(_regressor(kind, seed), anchor_index=ANCHOR_INDEX)
    return Pipeline([*features.steps, ("regressor", final)])


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows usable for training: scored main records, duplicates dropped."""
    keep = frame[TARGET].notna()
    if "is_related" in frame.columns:
        keep &= ~frame["is_related"].fillna(False).astype(bool)
    if "is_duplicate" in frame.columns:
        keep &= ~frame["is_duplicate"].fillna(False).astype(bool)
    return frame.loc[keep]


def train(frame: pd.DataFrame, seed: int = 0, kind: str = DEFAULT_KIND) -> Pipeline:
    """Fit the model on every scored, non-duplicate record of ``frame``."""
    rows = training_rows(frame)
    if rows.empty:
        raise ValueError("no scored records to train on")
    y = rows[TARGET].astype(float).to_numpy()
    return make_model(kind, seed).fit(rows, y)


def predict(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Predicted quality for each row of ``frame`` (any rows, scored or not)."""
    return np.asarray(model.predict(frame), dtype=float)


def anchor_prediction(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """The provider step's rule-like prediction alone (structure terms + provider level).

    Reported next to the model as the "prior_rule" baseline: what the learned correction adds.
    """
    X = model[:-1].transform(frame)
    col = X[:, ANCHOR_INDEX]
    col = col.toarray() if hasattr(col, "toarray") else np.asarray(col)
    final = model[-1]
    return np.clip(np.asarray(col, dtype=float).ravel(), final.low, final.high)


# ---- metrics and baselines ------------------------------------------------------------------
def metrics(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """MAE, RMSE, R² and Spearman ρ as plain floats."""
    yt, yp = np.asarray(y_true, float), np.asarray(y_pred, float)
    # Constant predictions (the global-mean baseline) have no rank order: rho is undefined.
    # np.ptp, not np.std: the std of equal floats can come out as 1e-14 and let the warning by.
    varies = np.ptp(yp) > 0 and np.ptp(yt) > 0 if len(yt) else False
    rho = spearmanr(yt, yp).statistic if varies else np.nan
    return {
        "mae": float(mean_absolute_error(yt, yp)),
        "rmse": float(np.sqrt(mean_squared_error(yt, yp))),
        "r2": float(r2_score(yt, yp)) if len(yt) > 1 else np.nan,
        "spearman": float(rho),
        "n": len(yt),
    }


def global_mean_baseline(y_train: np.ndarray, n_test: int) -> np.ndarray:
    """Predict the training mean everywhere."""
    return np.full(n_test, float(np.mean(y_train)))


def provider_mean_baseline(
    prov_train: Sequence[str], y_train: np.ndarray, prov_test: Sequence[str]
) -> np.ndarray:
    """Training mean per provider domain, global mean for unseen providers."""
    s = pd.Series(np.asarray(y_train, float)).groupby(np.asarray(prov_train, dtype=object)).mean()
    glob = float(np.mean(y_train))
    return np.asarray([float(s.get(p, glob)) for p in prov_test], dtype=float)


# ---- splits ---------------------------------------------------------------------------------
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
    if protocol == "time":
        t = pd.to_datetime(rows["published_at"], utc=True)
        order = np.argsort(t.to_numpy(dtype="datetime64[ns]"), kind="stable")
        cut = round(0.8 * len(rows))
        tr, te = np.sort(order[:cut]), np.sort(order[cut:])
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
                out.append((f"test={s}", tr, te))
        return out
    raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")


def strip_test_articles(train_rows: pd.DataFrame, test_rows: pd.DataFrame) -> pd.DataFrame:
    """Drop from training records' related lists any entry that is a test article.

    Otherwise a test record's own score could come back through another record's list.
    """
    test_keys = {k for k in (url_key(u) for u in test_rows["url"]) if k}
    if "url_key" in test_rows.columns:
        test_keys |= {url_key(k) for k in test_rows["url_key"].dropna()}

    def keep(entries: object) -> list[Mapping[str, object]]:
        return [
            e
            for e in as_entries(entries)
            if url_key(e.get("url") or e.get("web_url") or e.get("original_url")) not in test_keys
        ]

    out = train_rows.copy()
    out["related"] = [keep(v) for v in out["related"]]
    return out


# ---- evaluation -----------------------------------------------------------------------------
@dataclass
class EvaluationResult:
    """Outcome of one protocol: metrics per estimator and per-record out-of-fold predictions."""

    protocol: str
    kind: str
    seed: int
    metrics: dict[str, dict[str, float]]  # {"model"|"global_mean"|"provider_mean": {...}}
    predictions: pd.DataFrame  # id, fold, provider, site, y, pred, global_mean, provider_mean
    folds: list[dict[str, Any]] = field(default_factory=list)  # per-fold metrics of the model
    importances: pd.DataFrame | None = None
    strict_related: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (predictions omitted)."""
        return {
            "protocol": self.protocol,
            "kind": self.kind,
            "seed": self.seed,
            "metrics": self.metrics,
            "folds": self.folds,
        }

    def table(self) -> pd.DataFrame:
        """One row per estimator: mae, rmse, r2, spearman, n."""
        return pd.DataFrame(self.metrics).T.assign(protocol=self.protocol)


def evaluate(
    frame: pd.DataFrame,
    protocol: str,
    seed: int = 0,
    kind: str = DEFAULT_KIND,
    n_splits: int = 5,
    strict_related: bool = False,
) -> EvaluationResult:
    """Run one protocol; returns metrics for model and baselines on identical splits.

    The related lists of test records never reach training (test rows are only predicted).
    ``strict_related=True`` also removes, from the *training* records' related lists, every
    entry that is itself a test article (same URL) -- the pessimistic setting in which a
    held-out article's own score cannot come back through another record's list.
    """
    rows = training_rows(frame).reset_index(drop=True)
    y = rows[TARGET].astype(float).to_numpy()
    prov = provider_keys(rows).to_numpy(dtype=object)
    parts, fold_stats = [], []
    for name, tr, te in splits(rows, protocol, seed, n_splits):
        train_rows = rows.iloc[tr]
        if strict_related:
            train_rows = strip_test_articles(train_rows, rows.iloc[te])
        model = make_model(kind, seed).fit(train_rows, y[tr])
        pred = predict(model, rows.iloc[te])
        part = pd.DataFrame(
            {
                "id": rows["id"].iloc[te].to_numpy() if "id" in rows else te,
                "fold": name,
                "provider": prov[te],
                "site": rows["site"].iloc[te].to_numpy() if "site" in rows else None,
                "published_at": rows["published_at"].iloc[te].to_numpy(),
                "y": y[te],
                "pred": pred,
                "global_mean": global_mean_baseline(y[tr], len(te)),
                "provider_mean": provider_mean_baseline(prov[tr], y[tr], prov[te]),
                "prior_rule": anchor_prediction(model, rows.iloc[te]),
            }
        )
        parts.append(part)
        fold_stats.append({"fold": name, "n_train": len(tr), **metrics(y[te], pred)})
    preds = pd.concat(parts, ignore_index=True)
    result_metrics = {
        c: metrics(preds["y"], preds[c])
        for c in ("pred", "global_mean", "provider_mean", "prior_rule")
    }
    result_metrics["model"] = result_metrics.pop("pred")
    ordered = {
        k: result_metrics[k] for k in ("model", "global_mean", "provider_mean", "prior_rule")
    }
    if protocol == "site":  # each direction separately too
        for name, g in preds.groupby("fold", sort=True):
            for c, lab in (
                ("pred", "model"),
                ("provider_mean", "provider_mean"),
                ("prior_rule", "prior_rule"),
            ):
                ordered[f"{lab}[{name}]"] = metrics(g["y"], g[c])
    return EvaluationResult(
        protocol, kind, seed, ordered, preds, fold_stats, strict_related=strict_related
    )


def evaluate_all(
    frame: pd.DataFrame,
    protocols: Sequence[str] = PROTOCOLS,
    seed: int = 0,
    kind: str = DEFAULT_KIND,
) -> dict[str, EvaluationResult]:
    """Every protocol, keyed by name."""
    return {p: evaluate(frame, p, seed=seed, kind=kind) for p in protocols}


def summary_table(results: Mapping[str, EvaluationResult]) -> pd.DataFrame:
    """Long table protocol × estimator with MAE/RMSE/R²/ρ (what bench/evaluate.py prints)."""
    return pd.concat([r.table() for r in results.values()]).rename_axis("estimator").reset_index()


# ---- importance -----------------------------------------------------------------------------
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "provider": ("provider_name", "provider_domain"),
    "title": ("title",),
    "excerpt": ("excerpt",),
    "topics": ("topics",),
    "image": ("image_count", "image_width", "image_height"),
    "amp": ("amp_url", "cdn_amp_url"),
    "links": ("web_url", "original_url", "url"),
    "type": ("type", "has_featured_content"),
    "related": ("related", "related_count"),
    "time": ("published_at",),
}


def feature_importance(
    model: Pipeline,
    frame: pd.DataFrame,
    y: Sequence[float] | None = None,
    n_repeats: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Permutation importance of groups of *input columns* (MAE increase when shuffled).

    Grouping by input column keeps the answer readable ("the AMP link is worth N points")
    whatever the feature steps expand those columns into.
    """
    rows = frame if y is not None else training_rows(frame)
    yy = np.asarray(y if y is not None else rows[TARGET].astype(float), dtype=float)
    base = mean_absolute_error(yy, predict(model, rows))
    rng = np.random.RandomState(seed)
    used = set(input_columns())
    out = []
    for group, cols in FEATURE_GROUPS.items():
        cols = tuple(c for c in cols if c in rows.columns and c in used)
        if not cols:
            continue
        deltas = []
        for _ in range(n_repeats):
            perm = rng.permutation(len(rows))
            shuffled = rows.copy()
            for c in cols:
                shuffled[c] = rows[c].to_numpy()[perm]
            deltas.append(mean_absolute_error(yy, predict(model, shuffled)) - base)
        out.append(
            {
                "group": group,
                "columns": ",".join(cols),
                "mae_increase": float(np.mean(deltas)),
                "std": float(np.std(deltas)),
            }
        )
    return pd.DataFrame(out).sort_values("mae_increase", ascending=False, ignore_index=True)
