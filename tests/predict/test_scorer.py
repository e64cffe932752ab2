"""Scoring a frame of records: output rows, batches, workers, records a model cannot score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import train_tiny_model, write_corpus

from pipeline.artifact import load_artifact
from pipeline.model import scoring_model
from pipeline.predict.engines import local_batches
from pipeline.predict.scorer import ID_COLUMNS, Scorer


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("model")
    return load_artifact(train_tiny_model(root / "train", root / "quality.joblib"))


def scored(scorer: Scorer, paths: list[str], **kwargs) -> pd.DataFrame:
    frames = [b.frame for b in local_batches(scorer, paths, **kwargs)]
    return pd.concat(frames, ignore_index=True)


def test_scores_every_record_with_identity_columns(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 12, unscored=(3, 4))
    out = scored(Scorer(scoring_model(artifact.model)), [str(tmp_path / "site")], batch_size=5)
    assert list(out.columns) == [*ID_COLUMNS, "quality", "quality_pred", "novelty"]
    assert set(out["novelty"]) == {"new_site"}  # trained on folder "train", not "site"
    assert len(out) == 12
    assert out["url"].iloc[1] == "https://someblog.net/news/1"
    assert out["provider_domain"].iloc[0] == "ign.com"
    assert out["quality"].isna().sum() == 2
    assert out["quality_pred"].notna().all()
    assert out["source"].str.endswith(".md").all()


def test_batch_size_does_not_change_predictions(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 15)
    scorer = Scorer(artifact.model)
    one = scored(scorer, [str(tmp_path / "site")], batch_size=1)
    many = scored(scorer, [str(tmp_path / "site")], batch_size=1000)
    pd.testing.assert_frame_equal(one, many)


def test_scoring_in_worker_processes_gives_the_same_rows_in_order(artifact, tmp_path) -> None:
    write_corpus(tmp_path / "site", 23)
    scorer = Scorer(artifact.model)
    here = scored(scorer, [str(tmp_path / "site")], batch_size=4)
    pooled = scored(scorer, [str(tmp_path / "site")], batch_size=4, jobs=2)
    pd.testing.assert_frame_equal(here, pooled)


def test_only_missing_scores_only_unscored_records(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 10, unscored=(2, 7))
    out = scored(Scorer(artifact.model, only_missing=True), [str(tmp_path / "site")])
    assert len(out) == 2
    assert out["source"].str.endswith(("0002.md", "0007.md")).all()


def test_intervals_are_calibrated_per_novelty(artifact, tmp_path: Path) -> None:
    """A record of the training site: a tight interval; of a site never seen, a wide one."""
    write_corpus(tmp_path / "train", 5)
    write_corpus(tmp_path / "elsewhere", 5)
    regressor = artifact.model[-1]
    scorer = Scorer(scoring_model(artifact.model), level=0.9, calibration=regressor.calibration_)
    out = scored(scorer, [str(tmp_path / "train"), str(tmp_path / "elsewhere")])
    width = out["quality_high"] - out["quality_low"]
    seen, new = out["novelty"] == "seen", out["novelty"] == "new_site"
    assert seen.sum() == 5 and new.sum() == 5
    assert (out["quality_low"] <= out["quality_pred"]).all()
    assert (out["quality_pred"] <= out["quality_high"]).all()
    assert width[seen].max() < width[new].min()


def test_a_record_the_model_cannot_score_becomes_an_error_not_a_crash(tmp_path: Path) -> None:
    class Picky:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            if (frame["provider_domain"] == "wire.org").any():
                raise ValueError("cannot handle wire.org\nsecond line")
            return np.full(len(frame), 10.0)

    write_corpus(tmp_path / "site", 6)
    batches = list(local_batches(Scorer(Picky()), [str(tmp_path / "site")]))
    rows = pd.concat([b.frame for b in batches])
    errors = [e for b in batches for e in b.errors]
    assert len(rows) == 4 and len(errors) == 2
    assert all("\n" not in e.reason and "cannot score" in e.reason for e in errors)
