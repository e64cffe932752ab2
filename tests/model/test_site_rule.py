"""The site rule model: prices shared across sites, each site's level and tiers its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import rule_record

from pipeline.load import records_to_frame
from pipeline.load.normalize import normalize
from pipeline.model import make_model, scoring_model, training_rows
from pipeline.model.site_rule import NEW_PROVIDER, NEW_SITE, SEEN

OTHER_TIERS = {"alpha.com": 40, "beta.org": 0, "epsilon.dev": 90, "youtube.com": 50}


def site_frame(site: str, n: int, *, start: int = 0, seed: int = 0, **rule: object) -> pd.DataFrame:
    """``n`` records of a site whose scores follow the rule at its own level and tiers."""
    records = [
        normalize(rule_record(i, seed, **rule), None, f"{site}[{i}]", site)  # type: ignore[arg-type]
        for i in range(start, start + n)
    ]
    return records_to_frame(records)


@pytest.fixture(scope="module")
def two_sites() -> pd.DataFrame:
    big = site_frame("big", 300)
    small = site_frame("small", 40, seed=1, level=17, tiers=OTHER_TIERS)
    return pd.concat([big, small], ignore_index=True)


def y(frame: pd.DataFrame) -> np.ndarray:
    return frame["quality"].astype(float).to_numpy()


def test_the_rule_is_learned_on_unseen_records_of_each_site(two_sites: pd.DataFrame) -> None:
    model = make_model().fit(two_sites, y(two_sites))
    fresh = pd.concat(
        [
            site_frame("big", 60, start=1000),
            site_frame("small", 60, start=1000, seed=1, level=17, tiers=OTHER_TIERS),
        ],
        ignore_index=True,
    )
    assert np.abs(model.predict(fresh) - y(fresh)).max() < 1.0
    prices = model[-1].coef_
    assert prices["has_image"] == pytest.approx(20, abs=0.5)
    assert prices["has_amp"] == pytest.approx(20, abs=0.5)
    assert prices["title_penalty"] == pytest.approx(-1, abs=0.1)
    assert prices["title_names_no_topic"] == pytest.approx(-15, abs=0.5)


def test_a_small_site_borrows_the_shared_prices(two_sites: pd.DataFrame) -> None:
    """Twelve records of a new site, none with an AMP link: its AMP records are still priced
    +20 (learned on the big site), at the small site's own level."""
    few = site_frame("tiny", 12, seed=2, level=30)
    few = few[few["amp_url"].isna()]
    model = make_model().fit(pd.concat([two_sites, few]), np.concatenate([y(two_sites), y(few)]))
    fresh = site_frame("tiny", 40, start=500, seed=2, level=30)
    fresh = fresh[
        fresh["amp_url"].notna() & fresh["provider_domain"].isin(set(few["provider_domain"]))
    ]
    assert len(fresh) and np.abs(model.predict(fresh) - y(fresh)).max() < 1.0


def test_novelty_says_what_the_model_has_seen(two_sites: pd.DataFrame) -> None:
    model = make_model().fit(two_sites, y(two_sites))
    rows = pd.concat(
        [
            site_frame("big", 1, start=900),
            site_frame("big", 1, start=901, tiers={"zeta.tv": 0}),
            site_frame("elsewhere", 1, start=902),
        ],
        ignore_index=True,
    )
    assert list(scoring_model(model).predict_table(rows)["novelty"]) == [
        SEEN,
        NEW_PROVIDER,
        NEW_SITE,
    ]


def test_a_new_site_is_placed_by_the_related_entries_of_its_records(two_sites) -> None:
    model = make_model().fit(two_sites, y(two_sites))
    new = site_frame("new", 80, seed=3, level=120, related=True)
    alone = scoring_model(model).predict(new)
    placed = scoring_model(model, new).predict_table(new)
    assert np.abs(alone - y(new)).mean() > 20  # the pooled level is far from this site's
    assert np.abs(placed["pred"] - y(new)).mean() < 1.0
    assert set(placed["evidence"]) == {"pool"} and set(placed["novelty"]) == {NEW_SITE}


def test_a_records_own_score_never_comes_back_through_another_records_list(two_sites) -> None:
    """A record of a new site also appears, 60 points off, in another record's related list:
    its own prediction does not move at all (its own article is left out of its estimate)."""
    model = make_model().fit(two_sites, y(two_sites))
    new = site_frame("new", 60, seed=4, level=120, related=True)
    honest = scoring_model(model, new).predict(new)
    fields = ("title", "url", "provider_name", "provider_domain", "image_count", "amp_url")
    for i in (0, 7, 33):
        twisted = new.copy()
        entry = {k: new.iloc[i][k] for k in fields}
        entry["quality"] = float(new["quality"].iloc[i]) + 60
        host = (i + 1) % len(new)
        twisted.at[host, "related"] = [*new.iloc[host]["related"], entry]
        moved = scoring_model(model, twisted).predict(twisted)
        assert moved[i] == honest[i]
        assert np.abs(moved - y(new)).mean() < 1.0


def test_row_order_and_batching_do_not_change_predictions(two_sites: pd.DataFrame) -> None:
    model = make_model().fit(two_sites, y(two_sites))
    new = site_frame("new", 50, seed=5, level=100, related=True)
    scorer = scoring_model(model, new)
    whole = scorer.predict(new)
    shuffled = new.sample(frac=1, random_state=0)
    np.testing.assert_array_equal(scorer.predict(shuffled), whole[shuffled.index])
    halves = np.concatenate([scorer.predict(new.iloc[:17]), scorer.predict(new.iloc[17:])])
    np.testing.assert_array_equal(halves, whole)
    again = make_model().fit(
        two_sites.sample(frac=1, random_state=1), y(two_sites.sample(frac=1, random_state=1))
    )
    np.testing.assert_allclose(again.predict(new), model.predict(new), atol=1e-6)


def test_target_side_fields_change_nothing(two_sites: pd.DataFrame) -> None:
    model = make_model().fit(two_sites, y(two_sites))
    rng = np.random.default_rng(1)
    perturbed = two_sites.copy()
    perturbed["quality"] = pd.array(rng.uniform(11, 189, len(perturbed)), dtype="Float64")
    perturbed["heat"] = pd.array(rng.uniform(0, 500, len(perturbed)), dtype="Float64")
    perturbed["published"] = pd.array(~perturbed["published"].fillna(False), dtype="boolean")
    perturbed["secured"] = [f"s{i}" for i in range(len(perturbed))]
    np.testing.assert_array_equal(model.predict(perturbed), model.predict(two_sites))
    refit = make_model().fit(perturbed.assign(quality=two_sites["quality"]), y(two_sites))
    np.testing.assert_allclose(refit.predict(two_sites), model.predict(two_sites), atol=1e-9)


def test_training_rows_drop_duplicates_related_rows_and_unscored(two_sites) -> None:
    f = two_sites.copy()
    f.loc[0, "is_duplicate"] = True
    f.loc[1, "quality"] = pd.NA
    f.loc[2, "is_related"] = True
    assert len(training_rows(f)) == len(two_sites) - 3


def test_refitting_a_sites_own_part_is_quick_and_close_to_a_full_fit(two_sites) -> None:
    from pipeline.model import refit_sites

    base = make_model().fit(two_sites, y(two_sites))
    few = site_frame("fresh", 30, seed=6, level=45)
    quick = refit_sites(base, few)
    full = make_model().fit(pd.concat([two_sites, few]), np.concatenate([y(two_sites), y(few)]))
    test = site_frame("fresh", 40, start=400, seed=6, level=45)
    test = test[test["provider_domain"].isin(set(few["provider_domain"]))]
    assert np.abs(quick.predict(test) - y(test)).mean() < 1.0
    assert np.abs(quick.predict(test) - full.predict(test)).mean() < 1.0
    assert "fresh" not in base[-1].sites_  # the base model is left as it was


def test_a_related_entry_whose_score_is_not_a_score_is_not_learned_from(two_sites) -> None:
    """A frame built in-process skips the loader's check: the fit must still leave out a
    related score of 1e300 (it would swamp every price), and learn what it learns without it."""
    broken = two_sites.copy()
    row = next(i for i, r in enumerate(broken["related"]) if isinstance(r, list) and r)
    entries = [dict(entry) for entry in broken.at[row, "related"]]
    entries[0]["quality"] = 1e300
    broken.at[row, "related"] = entries
    clean = two_sites.copy()
    clean.at[row, "related"] = entries[1:]
    fresh = site_frame("big", 40, start=2000)
    with_broken = make_model().fit(broken, y(broken)).predict(fresh)
    without = make_model().fit(clean, y(clean)).predict(fresh)
    np.testing.assert_allclose(with_broken, without, atol=1e-6)


def test_refitting_a_known_site_keeps_what_it_knew(two_sites) -> None:
    """New records of a site the model knows add to its records, not replace them: the
    providers only the earlier records showed keep their tiers."""
    from pipeline.model import refit_sites

    base = make_model().fit(two_sites, y(two_sites))
    small = two_sites[two_sites["site"] == "small"]
    newer = site_frame("small", 3, start=500, seed=1, level=17, tiers=OTHER_TIERS)
    newer = newer[newer["provider_domain"] == newer["provider_domain"].iloc[0]]
    refit = refit_sites(base, newer)
    others = small[small["provider_domain"] != newer["provider_domain"].iloc[0]]
    assert refit[-1].sites_["small"].records == base[-1].sites_["small"].records + len(newer)
    assert np.abs(refit.predict(others) - base.predict(others)).max() < 1.0
