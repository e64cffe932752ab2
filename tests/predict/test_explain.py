"""Explanations: signed points per signal, typical records, exact linear attributions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import train_tiny_model, write_corpus

from pipeline.artifact import load_artifact
from pipeline.load import load_records
from pipeline.predict.engines import local_batches
from pipeline.predict.explain import Explainer, _linear_coef
from pipeline.predict.run import reference_from_paths
from pipeline.predict.scorer import Scorer


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("model")
    return load_artifact(train_tiny_model(root / "train", root / "quality.joblib"))


def scored(scorer: Scorer, paths: list[str], **kwargs) -> pd.DataFrame:
    frames = [b.frame for b in local_batches(scorer, paths, **kwargs)]
    return pd.concat(frames, ignore_index=True)


def test_explain_names_signals_with_signed_points(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 20)
    paths = [str(tmp_path / "site")]
    reference = reference_from_paths(artifact.model, paths)
    assert reference and all(isinstance(v, float) for v in reference.values())
    explainer = Explainer(artifact.model, reference, top=2)
    out = scored(Scorer(artifact.model, explainer=explainer), paths)
    assert out["why"].dtype == "string"
    explained = [w for w in out["why"] if not w.startswith("typical")]
    assert explained, "some record should differ from the reference"
    for why in explained:
        parts = why.split(", ")
        assert 1 <= len(parts) <= 2
        assert all(p.rsplit(" ", 1)[1][0] in "+\N{MINUS SIGN}" for p in parts)


def test_a_record_like_the_reference_is_explained_as_typical(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "one", 1)
    paths = [str(tmp_path / "one")]
    reference = reference_from_paths(artifact.model, paths)  # the record itself
    explainer = Explainer(artifact.model, reference)
    out = scored(Scorer(artifact.model, explainer=explainer), paths)
    assert list(out["why"]) == ["typical: no signal moves it by 0.5 or more"]


def test_explain_on_a_linear_model_is_exact_and_handles_sparse(tmp_path: Path) -> None:
    path = train_tiny_model(tmp_path / "train", tmp_path / "ridge.joblib", kind="ridge")
    model = load_artifact(path).model
    frame = load_records([str(tmp_path / "train")]).frame.head(5)
    explainer = Explainer(model, {}, top=50, min_effect=0.0)
    prep, final = model[:-1], model[-1]
    coef = _linear_coef(final, prep.transform(frame).shape[1])
    effects = explainer._linear_effects(prep.transform(frame), coef, ["x"] * len(coef))
    intercept = final.estimator_.intercept_
    # contributions + intercept rebuild the prediction (unclipped: these are inside the range)
    np.testing.assert_allclose(
        effects.sum(axis=1) + intercept, final.predict(prep.transform(frame)), rtol=1e-6
    )
    assert all(isinstance(w, str) and w for w in explainer.explain(frame))


def test_explain_degrades_to_empty_for_a_model_that_is_not_a_pipeline(tmp_path: Path) -> None:
    class Constant:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return np.full(len(frame), 50.0)

    write_corpus(tmp_path / "site", 3)
    scorer = Scorer(Constant(), explainer=Explainer(Constant(), {}))
    out = scored(scorer, [str(tmp_path / "site")])
    assert out["quality_pred"].tolist() == [50.0] * 3
    assert out["why"].isna().all()
