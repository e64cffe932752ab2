"""The provider prior: structure prices, smoothed levels, cross-fitting, own related entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from oracles import prior_rows

from pipeline.features.prior import ProviderPrior

TIERS = {"alpha.com": 0.0, "beta.co.uk": 40.0, "gamma.net": 90.0}


def _record(i: int, domain: str, image: bool, related: list | None = None) -> dict:
    return {
        "provider_name": domain.split(".")[0].title(),
        "provider_domain": domain,
        "url": f"https://{domain}/story-{i}",
        "type": "article",
        "image_count": int(image),
        "amp_url": None,
        "cdn_amp_url": None,
        "web_url": f"https://{domain}/story-{i}",
        "title": f"Story {i}",
        "topics": [],
        "related": related or [],
    }


def _quality(domain: str, image: bool) -> float:
    return 67.0 + 20.0 * image + TIERS[domain]


def _frame(n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    rows, y = [], []
    for i in range(n):
        domain = ("alpha.com", "beta.co.uk")[i % 2]
        image = i % 3 != 0
        # gamma.net is never a record: it only appears in related entries
        rel = [
            {
                "provider_name": "Gamma",
                "provider_domain": "gamma.net",
                "url": f"https://gamma.net/r{i}",
                "type": "article",
                "image_count": int(i % 2),
                "title": f"Related {i}",
                "quality": _quality("gamma.net", bool(i % 2)),
            }
        ]
        rows.append(_record(i, domain, image, rel))
        y.append(_quality(domain, image))
    return pd.DataFrame(rows), np.asarray(y)


def test_prior_is_structure_adjusted_and_learns_from_related_entries() -> None:
    X, y = _frame()
    step = ProviderPrior(smoothing=0.1, alpha=0.01, meta=True).fit(X, y)
    assert step.structure_coef_["has_image"] == pytest.approx(20.0, abs=0.5)
    new = pd.DataFrame(
        [
            _record(100, "gamma.net", True),
            _record(101, "gamma.net", False),
            _record(102, "alpha.com", True),
        ]
    )
    out = pd.DataFrame(step.transform(new), columns=step.get_feature_names_out())
    # an image-less gamma article is worth about 67 + 90 although no record came from gamma
    assert out.loc[1, "prior_expected"] == pytest.approx(157.0, abs=2.0)
    assert out.loc[0, "prior_expected"] - out.loc[1, "prior_expected"] == pytest.approx(20, abs=1)
    assert out.loc[2, "prior_expected"] == pytest.approx(87.0, abs=2.0)
    assert out.loc[0, "prior_domain_log_n"] > 0


def test_without_related_entries_an_unseen_provider_gets_the_global_level() -> None:
    X, y = _frame()
    step = ProviderPrior(use_related=False, meta=True).fit(X, y)
    out = pd.DataFrame(
        step.transform(pd.DataFrame([_record(100, "gamma.net", False)])),
        columns=step.get_feature_names_out(),
    )
    assert out.loc[0, "prior_domain_log_n"] == 0
    assert out.loc[0, "prior_expected"] < 120


def test_fit_transform_is_cross_fitted() -> None:
    X, y = _frame()
    step = ProviderPrior(use_related=False, random_state=0, meta=True)
    oof = step.fit_transform(X, y)
    full = step.transform(X)
    assert oof.shape == full.shape
    assert not np.allclose(oof, full)  # each row's prior comes from the other folds
    # a single-record provider gets no information about itself from its own target
    X1 = pd.concat([X, pd.DataFrame([_record(999, "solo.org", False)])], ignore_index=True)
    y1 = np.append(y, 180.0)
    names = list(step.get_feature_names_out())
    solo = ProviderPrior(use_related=False, meta=True).fit_transform(X1, y1)[-1]
    assert solo[names.index("prior_domain_log_n")] == 0


def test_meta_statistics_are_optional() -> None:
    X, y = _frame()
    lean = ProviderPrior().fit(X, y)
    full = ProviderPrior(meta=True).fit(X, y)
    lean_names, full_names = list(lean.get_feature_names_out()), list(full.get_feature_names_out())
    assert "prior_domain_log_n" in full_names and "prior_domain_log_n" not in lean_names
    assert lean.transform(X).shape == (len(X), len(lean_names))
    assert lean_names[0] == full_names[0] == "prior_expected"


def test_prior_needs_y() -> None:
    X, _ = _frame(6)
    with pytest.raises(ValueError):
        ProviderPrior().fit(X)


def test_own_related_entries_place_an_unseen_provider() -> None:
    X, y = _frame()
    step = ProviderPrior(use_related=False, meta=True).fit(X, y)
    new = _record(200, "zeta.org", False)
    new["related"] = [
        {
            "provider_name": "Zeta",
            "provider_domain": "zeta.org",
            "url": "https://zeta.org/other",
            "type": "article",
            "image_count": 0,
            "title": "Other zeta story",
            "quality": 127.0,
        }
    ]
    out = pd.DataFrame(step.transform(pd.DataFrame([new])), columns=step.get_feature_names_out())
    assert out.loc[0, "prior_domain_log_n"] == 0
    assert out.loc[0, "prior_expected"] == pytest.approx(127.0, abs=2.0)
    assert out.loc[0, "prior_own_related"] == pytest.approx(out.loc[0, "prior_level"])


def _tricky_frame(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Seen and unseen providers, syndication, missing everything, own-provider related lists."""
    rng = np.random.default_rng(seed)
    domains = [*TIERS, "new.io", "www.alpha.com", "", None, "MSN.com"]
    names = ["Alpha", "GameRant on MSN.com", "Beta via beta.co.uk", "", None, "X | y.org"]
    topics: list[object] = [[], ["Story"], ["story", "Nope", "Story"], None, "Story", [1, 1.0]]
    rows, y = [], []
    for i in range(n):
        domain = domains[rng.integers(len(domains))]
        related = []
        for j in range(int(rng.choice([0, 1, 3, 9]))):
            other = domains[rng.integers(len(domains))]
            related.append(
                {
                    "provider_name": names[rng.integers(len(names))],
                    "provider_domain": other,
                    "url": f"https://{other}/story-{i}" if j else f"https://{domain}/story-{i}",
                    "title": rng.choice(["Story x", "A very long title " * 6, ""]),
                    "image_count": int(rng.integers(0, 2)),
                    "amp_url": rng.choice([None, "https://x/amp"]),
                    "type": rng.choice(["article", "video"]),
                    "quality": rng.choice([None, np.nan, 50.0, 107.0, 61.3]),
                }
            )
        rows.append(
            {
                "provider_name": names[rng.integers(len(names))],
                "provider_domain": domain,
                "url": rng.choice([f"https://{domain}/story-{i}", None, "https://www.other.com/x"]),
                "type": rng.choice(["article", "video", None]),
                "image_count": rng.choice([0, 2, None]),
                "amp_url": rng.choice([None, "https://x/amp", " "]),
                "cdn_amp_url": None,
                "web_url": None,
                "title": rng.choice(["Story of the day", "A very long title " * 6, None]),
                "topics": topics[rng.integers(len(topics))],
                "related": related if rng.random() < 0.9 else None,
            }
        )
        y.append(float(rng.normal(100, 30)))
    frame = pd.DataFrame(rows)
    for col in ("provider_name", "provider_domain", "url", "type", "amp_url", "title"):
        frame[col] = frame[col].astype("string")
    frame["image_count"] = frame["image_count"].astype("Int64")
    return frame, np.asarray(y)


@pytest.mark.parametrize("meta", [False, True])
def test_batch_encoding_equals_record_by_record(meta: bool) -> None:
    X, y = _tricky_frame()
    train, test = X.iloc[:160], X.iloc[160:]
    step = ProviderPrior(meta=meta).fit(train, y[:160])
    for frame in (test, X, test.iloc[:1], test.drop(columns=["topics"])):
        out = step.transform(frame)
        assert out.shape == (len(frame), len(step.get_feature_names_out()))
        np.testing.assert_array_equal(out, prior_rows(step, frame, step.prior_))
    # no rows: an empty matrix (the record-by-record path cannot even shape one)
    assert step.transform(test.iloc[:0]).shape == (0, len(step.get_feature_names_out()))
    # a prior learned from nothing: every table lookup misses
    empty = ProviderPrior(meta=meta).fit(train.iloc[:0], y[:0])
    np.testing.assert_array_equal(empty.transform(test), prior_rows(empty, test, empty.prior_))


def test_cross_fitted_training_features_equal_record_by_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _tricky_frame(seed=1)
    fast = ProviderPrior().fit_transform(X, y)
    monkeypatch.setattr(ProviderPrior, "_encode", lambda self, X, prior: prior_rows(self, X, prior))
    np.testing.assert_array_equal(fast, ProviderPrior().fit_transform(X, y))
