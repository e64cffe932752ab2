"""Explanations in the record's own fields: exact, with the rule's signs and sizes."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import rule_record

from pipeline.features.observations import record_observations
from pipeline.load import records_to_frame
from pipeline.load.normalize import normalize
from pipeline.model import make_model, scoring_model
from pipeline.predict.explain import Explainer, describe, points, typical_record


def frame_of(records: list[dict], site: str = "news") -> pd.DataFrame:
    return records_to_frame(
        [normalize(r, None, f"{site}[{i}]", site) for i, r in enumerate(records)]
    )


@pytest.fixture(scope="module")
def fitted():
    train = frame_of([rule_record(i) for i in range(400)])
    model = make_model().fit(train, train["quality"].astype(float).to_numpy())
    reference = typical_record(train, record_observations(train), model.predict(train))
    return model, reference


def base_record() -> dict:
    """A record on the reference's footing: no image, no AMP, a short title naming its topic."""
    record = rule_record(5000, related=False)
    for key in ("images", "ampWebUrl"):
        record.pop(key, None)
    record.update(title="Story: Patch notes", topics=["Patch"], originalUrl="https://alpha.com/x")
    record["provider"] = {"name": "Alpha", "domain": "alpha.com"}
    return record


def explain(fitted, records: list[dict], top: int = 7):
    model, reference = fitted
    scorer = scoring_model(model)
    frame = frame_of(records)
    predictions = scorer.predict(frame)
    return Explainer(scorer, reference, top=top).explain(frame, predictions), predictions


def points_of(explanation, i: int) -> dict[str, float]:
    return {c["field"]: c["points"] for c in explanation.contributions[i]}


def test_contributions_add_up_to_the_prediction(fitted) -> None:
    records = [rule_record(i, seed=3) for i in range(40)]
    explanation, predictions = explain(fitted, records)
    for i, prediction in enumerate(predictions):
        total = explanation.reference + sum(points_of(explanation, i).values())
        assert abs(total - prediction) < 0.5
        assert abs(total - prediction) < 1e-6  # exact, in fact


@pytest.mark.parametrize(
    ("field", "change", "points_expected"),
    [
        ("amp_url", {"ampWebUrl": "https://alpha.com/amp/x"}, 20),
        ("images", {"images": [{"url": "https://alpha.com/x.jpg"}]}, 20),
        ("title", {"title": "Story: Patch notes " + "x" * 79}, -14),  # 98 characters
        ("title", {"title": "Story: nothing named"}, -15),  # names none of its topics
        (
            "provider_domain",
            {
                "originalUrl": "https://gamma.net/x",
                "provider": {"name": "Gamma", "domain": "gamma.net"},
            },
            90,
        ),
    ],
)
def test_a_field_that_alone_differs_carries_the_difference(
    fitted, field, change, points_expected
) -> None:
    """Two records that differ only in one field: that field's contribution differs by the
    difference in prediction, which is the rule's price (AMP +20, an image +20, a 98-character
    title -14, a title naming no topic -15, a provider tier +90)."""
    before = base_record()
    after = copy.deepcopy(before)
    after.update(change)
    explanation, predictions = explain(fitted, [before, after])
    moved = predictions[1] - predictions[0]
    assert moved == pytest.approx(points_expected, abs=1.0)
    gained = points_of(explanation, 1).get(field, 0.0) - points_of(explanation, 0).get(field, 0.0)
    assert gained == pytest.approx(moved, abs=0.5)
    others = set(points_of(explanation, 1)) - {field}
    for other in others:
        assert points_of(explanation, 1)[other] == pytest.approx(
            points_of(explanation, 0).get(other, 0.0), abs=0.5
        )


def test_a_topic_named_in_the_title_is_shared_by_title_and_topics(fitted) -> None:
    """A second topic the title names (+17): the title and the topics act together."""
    before = base_record()
    after = copy.deepcopy(before)
    after.update(title="Story: Patch and Season", topics=["Patch", "Season"])
    explanation, predictions = explain(fitted, [before, after])
    assert predictions[1] - predictions[0] == pytest.approx(17, abs=1.0)
    got = points_of(explanation, 1)
    assert got["title"] + got["topics"] == pytest.approx(17, abs=1.0)


def test_the_why_text_names_fields_with_signed_points(fitted) -> None:
    record = base_record()
    record.update(ampWebUrl="https://alpha.com/amp/x", title="Story: Patch notes " + "x" * 79)
    explanation, _ = explain(fitted, [record], top=5)
    why = explanation.why[0]
    assert re.fullmatch(
        r"([a-z_]+=[^,]+ [+-]\d+(\.\d)?)(, [a-z_]+=[^,]+ [+-]\d+(\.\d)?)*(, other [+-]\d+(\.\d)?)?",
        why,
    ), why
    assert "amp_url=present +20" in why and "title=98 chars -14" in why.replace(", names", "")
    assert "\N{MINUS SIGN}" not in why


def test_top_hides_small_ones_and_shows_their_sum_as_other(fitted) -> None:
    record = base_record()
    record.update(ampWebUrl="https://x/amp", images=[{"url": "x"}], title="Story: " + "y" * 96)
    explanation, predictions = explain(fitted, [record], top=1)
    shown = re.findall(r"[+-]\d+(?:\.\d)?", explanation.why[0])
    assert "other" in explanation.why[0] and len(shown) == 2
    assert abs(explanation.reference + sum(map(float, shown)) - predictions[0]) < 0.5


@pytest.mark.parametrize(
    ("value", "text"), [(20.0, "+20"), (-14.04, "-14"), (0.46, "+0.5"), (-1.26, "-1.3")]
)
def test_points_are_signed_with_one_decimal_at_most(value: float, text: str) -> None:
    assert points(value) == text


def test_a_record_like_the_reference_is_explained_as_typical(fitted) -> None:
    model, reference = fitted
    frame = records_to_frame([dict(reference)])
    scorer = scoring_model(model)
    explanation = Explainer(scorer, reference).explain(frame, scorer.predict(frame))
    assert explanation.why == ["typical: as the reference record"]
    assert explanation.contributions == [[]]


def test_explaining_is_fast_enough(fitted, tmp_path: Path) -> None:
    """Not a timing test: the number of model runs per record stays small (2^fields changed)."""
    records = [rule_record(i, seed=9) for i in range(50)]
    explanation, _ = explain(fitted, records)
    assert max(len(c) for c in explanation.contributions) <= 7
    assert np.isfinite(explanation.reference)


def test_each_field_is_described_as_an_editor_reads_it() -> None:
    record = rule_record(7, related=True)
    record.update(topics=["Patch", "Season"], title="Patch and Season notes")
    record["related"][0].pop("quality")  # two of its three entries are scored
    row = frame_of([record]).iloc[0]
    assert describe("related", row) == "2 scored"
    assert describe("topics", row) == "Patch; Season"
    assert describe("title", row) == "22 chars, names 2 topics"
    assert describe("amp_url", row) in ("present", "none")
    long = frame_of([{**record, "topics": ["x" * 30, "y" * 30]}]).iloc[0]
    assert describe("topics", long) == "x" * 30 + "; " + "y" * 5 + "..."
