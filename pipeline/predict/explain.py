"""Per-record explanations: which signals moved a prediction away from a typical record.

The reference is the feature medians ``score train`` stored (:mod:`pipeline.model.reference`);
each signal's effect is the change of the final estimator's prediction when that feature
alone takes its reference value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.choices import DEFAULT_TOP
from pipeline.model.reference import dense_features, feature_names, split_pipeline

MINUS = "\N{MINUS SIGN}"
SUBSTITUTION_ROWS = 50_000  # rows per stacked explanation prediction (memory vs. calls)


@dataclass
class Explainer:
    """Per-record attribution: how much each feature moved the prediction away from a reference.

    For any fitted Pipeline whose steps before the last produce a dense feature matrix, it
    substitutes one feature at a time with its reference value (training median) and records
    the change of the final estimator's prediction, re-predicting only the rows whose value
    differs. That costs up to one extra final-step prediction per feature, but the feature
    steps run once.
    """

    model: Any
    reference: dict[str, float]
    top: int = DEFAULT_TOP
    min_effect: float = 0.5

    def explain(self, frame: pd.DataFrame) -> list[str | None]:
        parts = split_pipeline(self.model)
        if parts is None or frame.empty:
            return [None] * len(frame)
        prep, final = parts
        raw = prep.transform(frame)
        names = feature_names(prep, raw.shape[1])
        coef = _linear_coef(final, raw.shape[1])
        if coef is not None:  # exact for a linear final step, sparse or dense
            effects = self._linear_effects(raw, coef, names)
            return [self._describe(None, effects[i], names) for i in range(raw.shape[0])]
        X = dense_features(raw)
        if X is None:
            return [None] * len(frame)
        effects = self._effects(final, X, names)
        return [self._describe(X[i], effects[i], names) for i in range(len(X))]

    def _linear_effects(self, X: Any, coef: np.ndarray, names: list[str]) -> np.ndarray:
        """coef·(x − reference); a missing reference is 0 (the training mean once scaled)."""
        ref = np.asarray([self.reference.get(n, 0.0) for n in names], dtype=float)
        ref = np.where(np.isfinite(ref), ref, 0.0)
        if hasattr(X, "multiply"):
            contrib = np.asarray(X.multiply(coef[np.newaxis, :]).toarray(), dtype=float)
        else:
            contrib = np.asarray(X, dtype=float) * coef
        return np.nan_to_num(contrib - coef * ref)

    def _effects(self, final: Any, X: np.ndarray, names: list[str]) -> np.ndarray:
        base = np.asarray(final.predict(X), dtype=float)
        effects = np.zeros_like(X)
        block: list[tuple[int, np.ndarray]] = []
        size = 0
        for j, name in enumerate(names):
            ref = self.reference.get(name, math.nan)
            column = X[:, j]
            same = (column == ref) | (np.isnan(column) & math.isnan(ref))
            rows = np.flatnonzero(~same)
            if len(rows):
                block.append((j, rows))
                size += len(rows)
            if size >= SUBSTITUTION_ROWS or (j == len(names) - 1 and block):
                self._substitute(final, X, base, names, block, effects)
                block, size = [], 0
        return effects

    def _substitute(
        self,
        final: Any,
        X: np.ndarray,
        base: np.ndarray,
        names: list[str],
        block: list[tuple[int, np.ndarray]],
        effects: np.ndarray,
    ) -> None:
        """One final-step prediction for many (feature, rows) substitutions at once.

        Stacking them avoids one call per feature, whose fixed cost dominates small batches.
        """
        parts = []
        for j, rows in block:
            moved = X[rows].copy()
            moved[:, j] = self.reference.get(names[j], math.nan)
            parts.append(moved)
        pred = np.asarray(final.predict(np.vstack(parts)), dtype=float)
        start = 0
        for j, rows in block:
            effects[rows, j] = base[rows] - pred[start : start + len(rows)]
            start += len(rows)

    def _describe(self, row: np.ndarray | None, effects: np.ndarray, names: list[str]) -> str:
        """Top signals as "name=value +n" (value left out for scaled linear features).

        A record no single signal moves by ``min_effect`` points is said to be typical, rather
        than left blank: an empty cell would read as "no explanation".
        """
        order = np.argsort(-np.abs(effects), kind="stable")[: self.top]
        parts = []
        for j in order:
            if abs(effects[j]) < self.min_effect:
                break
            value = "" if row is None else f"={_short(row[j])}"
            parts.append(f"{_label(names[j])}{value} {_signed(effects[j])}")
        return ", ".join(parts) or f"typical: no signal moves it by {self.min_effect:g} or more"


def _linear_coef(final: Any, width: int) -> np.ndarray | None:
    """Per-feature coefficients of a linear final step (or of the estimator it wraps), else None.

    A wrapper that adds an anchor column unchanged to a linear correction fitted on the other
    columns (pipeline.model's ``anchor_index``) is linear too: the anchor's coefficient is 1.
    """
    anchor = getattr(final, "anchor_index", None)
    for candidate in (final, getattr(final, "estimator_", None)):
        coef = getattr(candidate, "coef_", None)
        if coef is None:
            continue
        coef = np.asarray(coef, dtype=float).ravel()
        if coef.shape == (width,) and (candidate is final or anchor is None):
            return coef
        if candidate is not final and isinstance(anchor, int) and coef.shape == (width - 1,):
            return np.insert(coef, anchor, 1.0)
    return None


def _label(name: str) -> str:
    return name.split("__", 1)[-1]


def _short(value: float) -> str:
    if math.isnan(value):
        return "missing"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _signed(effect: float) -> str:
    text = f"{abs(effect):.0f}" if abs(effect) >= 0.95 else f"{abs(effect):.1f}"
    return f"+{text}" if effect >= 0 else f"{MINUS}{text}"
