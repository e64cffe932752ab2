"""Batch scoring: output rows, intervals, explanations, write-back (bytes and atomicity).

The helpers at the top (records written by the test, a small real model trained on them) are
also imported by test_cli_predict.py and test_dask_engine.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import scoring
from pipeline.artifact import load_artifact, save_artifact
from pipeline.frame import load_records
from pipeline.model import make_model, training_rows
from pipeline.outputs import TableWriter

PROVIDERS = [("IGN", "ign.com", 120), ("Blog", "someblog.net", 60), ("Wire", "wire.org", 90)]


def record_meta(i: int, *, quality: bool = True) -> dict:
    """Front matter of a synthetic record: quality follows provider and image, like the real one."""
    name, domain, base = PROVIDERS[i % len(PROVIDERS)]
    image = i % 2 == 0
    meta = {
        "title": f"Article number {i} about {'patch notes' if i % 3 else 'a leak'}",
        "excerpt": f"Excerpt of article {i}.",
        "publishedDateTime": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}T10:00:00Z",
        "originalUrl": f"https://{domain}/news/{i}",
        "type": "video" if i % 5 == 0 else "article",
        "provider": {"name": name, "domain": domain},
        "topics": ["Diablo 4"],
    }
    if image:
        meta["images"] = [{"url": f"https://{domain}/{i}.jpg", "width": 800, "height": 450}]
    if i % 4 == 1:  # scored related entries, as many real records have
        meta["related"] = [
            {"title": f"Related {i}", "webUrl": f"https://{domain}/r/{i}", "quality": base - k}
            for k in (3, 9)
        ]
    if quality:
        meta["quality"] = base + (20 if image else -10) + (i % 7)
    return meta


def markdown(meta: dict, body: str = "Body text.\n") -> str:
    """A Markdown record as the aggregator writes it (JSON values are valid YAML)."""
    lines = ["---"]
    for key, value in meta.items():
        lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join([*lines, "---", "", body])


def write_corpus(folder: Path, n: int, *, start: int = 0, unscored: tuple[int, ...] = ()) -> list:
    """Write ``n`` Markdown records into ``folder``; those in ``unscored`` have no quality."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        path = folder / f"{i:04d}.md"
        path.write_text(markdown(record_meta(i, quality=i not in unscored)), encoding="utf-8")
        paths.append(path)
    return paths


def api_object(i: int, *, quality: bool = True) -> dict:
    """The same record as a JSON API object (camelCase, like the feed pages)."""
    return record_meta(i, quality=quality)


def train_tiny_model(folder: Path, path: Path, *, kind: str = "hgb") -> Path:
    """A real pipeline.model pipeline, trained in about a second on records the test wrote."""
    write_corpus(folder, 60)
    frame = training_rows(load_records([str(folder)]).frame)
    model = make_model(kind, seed=0)
    if kind == "hgb":
        model.set_params(regressor__estimator__max_iter=40)
    model.fit(frame, frame["quality"].astype(float).to_numpy())
    metadata = {"intervals": {"0.8": 6.0, "0.9": 7.5}}
    return save_artifact(model, path, metadata=metadata)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("model")
    return load_artifact(train_tiny_model(root / "train", root / "quality.joblib"))


def scored(scorer: scoring.Scorer, paths: list[str], **kwargs) -> pd.DataFrame:
    frames = [b.frame for b in scoring.local_batches(scorer, paths, **kwargs)]
    return pd.concat(frames, ignore_index=True)


# ---- intervals ------------------------------------------------------------------------------
def test_conformal_halfwidth_is_the_rank_ceil_n_plus_1_level() -> None:
    residuals = np.arange(1, 20)  # |r| = 1..19, n = 19
    assert scoring.conformal_halfwidth(residuals, 0.9) == 18.0  # ceil(20 * 0.9) = 18
    assert scoring.conformal_halfwidth(-residuals, 0.5) == 10.0
    assert math.isinf(scoring.conformal_halfwidth([1.0, 2.0], 0.9))  # too few for 90 %
    with pytest.raises(ValueError):
        scoring.conformal_halfwidth(residuals, 1.5)


def test_conformal_halfwidth_covers_at_the_level() -> None:
    rng = np.random.default_rng(0)
    calibration, fresh = rng.normal(size=2000), rng.normal(size=20000)
    width = scoring.conformal_halfwidth(calibration, 0.9)
    assert 0.88 < np.mean(np.abs(fresh) <= width) < 0.92


def test_interval_halfwidth_reads_levels_then_residuals_then_refuses() -> None:
    assert scoring.interval_halfwidth({"intervals": {"0.9": 7.5}}, 0.9) == 7.5
    residuals = list(range(1, 20))
    assert scoring.interval_halfwidth({"conformal_residuals": residuals}, 0.9) == 18.0
    with pytest.raises(scoring.ScoringError, match=r"levels 0\.8"):
        scoring.interval_halfwidth({"intervals": {"0.8": 6.0}}, 0.9)
    with pytest.raises(scoring.ScoringError, match="no calibrated"):
        scoring.interval_halfwidth({}, 0.9)


# ---- scoring --------------------------------------------------------------------------------
def test_scores_every_record_with_identity_columns(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 12, unscored=(3, 4))
    out = scored(scoring.Scorer(artifact.model), [str(tmp_path / "site")], batch_size=5)
    assert list(out.columns) == [*scoring.ID_COLUMNS, "quality", "quality_pred"]
    assert len(out) == 12
    assert out["url"].iloc[1] == "https://someblog.net/news/1"
    assert out["provider_domain"].iloc[0] == "ign.com"
    assert out["quality"].isna().sum() == 2
    assert out["quality_pred"].notna().all()
    assert out["source"].str.endswith(".md").all()


def test_batch_size_does_not_change_predictions(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 15)
    scorer = scoring.Scorer(artifact.model)
    one = scored(scorer, [str(tmp_path / "site")], batch_size=1)
    many = scored(scorer, [str(tmp_path / "site")], batch_size=1000)
    pd.testing.assert_frame_equal(one, many)


def test_scoring_in_worker_processes_gives_the_same_rows_in_order(artifact, tmp_path) -> None:
    write_corpus(tmp_path / "site", 23)
    scorer = scoring.Scorer(artifact.model)
    here = scored(scorer, [str(tmp_path / "site")], batch_size=4)
    pooled = scored(scorer, [str(tmp_path / "site")], batch_size=4, jobs=2)
    pd.testing.assert_frame_equal(here, pooled)


def test_only_missing_scores_only_unscored_records(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 10, unscored=(2, 7))
    out = scored(scoring.Scorer(artifact.model, only_missing=True), [str(tmp_path / "site")])
    assert len(out) == 2
    assert out["source"].str.endswith(("0002.md", "0007.md")).all()


def test_interval_columns_are_prediction_plus_minus_halfwidth(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 5)
    out = scored(scoring.Scorer(artifact.model, halfwidth=7.5), [str(tmp_path / "site")])
    np.testing.assert_allclose(out["quality_high"] - out["quality_pred"], 7.5)
    np.testing.assert_allclose(out["quality_pred"] - out["quality_low"], 7.5)


def test_explain_names_signals_with_signed_points(artifact, tmp_path: Path) -> None:
    write_corpus(tmp_path / "site", 20)
    paths = [str(tmp_path / "site")]
    reference = scoring.reference_from_paths(artifact.model, paths)
    assert reference and all(isinstance(v, float) for v in reference.values())
    explainer = scoring.Explainer(artifact.model, reference, top=2)
    out = scored(scoring.Scorer(artifact.model, explainer=explainer), paths)
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
    reference = scoring.reference_from_paths(artifact.model, paths)  # the record itself
    explainer = scoring.Explainer(artifact.model, reference)
    out = scored(scoring.Scorer(artifact.model, explainer=explainer), paths)
    assert list(out["why"]) == ["typical: no signal moves it by 0.5 or more"]


def test_explain_on_a_linear_model_is_exact_and_handles_sparse(tmp_path: Path) -> None:
    path = train_tiny_model(tmp_path / "train", tmp_path / "ridge.joblib", kind="ridge")
    model = load_artifact(path).model
    frame = load_records([str(tmp_path / "train")]).frame.head(5)
    explainer = scoring.Explainer(model, {}, top=50, min_effect=0.0)
    prep, final = model[:-1], model[-1]
    coef = scoring._linear_coef(final, prep.transform(frame).shape[1])
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
    scorer = scoring.Scorer(Constant(), explainer=scoring.Explainer(Constant(), {}))
    out = scored(scorer, [str(tmp_path / "site")])
    assert out["quality_pred"].tolist() == [50.0] * 3
    assert out["why"].isna().all()


def test_a_record_the_model_cannot_score_becomes_an_error_not_a_crash(tmp_path: Path) -> None:
    class Picky:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            if (frame["provider_domain"] == "wire.org").any():
                raise ValueError("cannot handle wire.org\nsecond line")
            return np.full(len(frame), 10.0)

    write_corpus(tmp_path / "site", 6)
    batches = list(scoring.local_batches(scoring.Scorer(Picky()), [str(tmp_path / "site")]))
    rows = pd.concat([b.frame for b in batches])
    errors = [e for b in batches for e in b.errors]
    assert len(rows) == 4 and len(errors) == 2
    assert all("\n" not in e.reason and "cannot score" in e.reason for e in errors)


# ---- write-back -----------------------------------------------------------------------------
def run(artifact, paths: list[str], out: Path, plan: scoring.WriteBackPlan | None, **kw):
    scorer = scoring.Scorer(artifact.model, **kw)
    return scoring.run_predict(
        scoring.local_batches(scorer, paths, batch_size=2),
        TableWriter(out),
        empty=scorer.empty(),
        write_back_plan=plan,
    )


def test_write_back_changes_one_line_and_keeps_every_other_byte(artifact, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    [path] = write_corpus(folder, 1)
    original = path.read_bytes().replace(b"\n", b"\r\n")  # CRLF must survive
    original = original.replace(b"---\r\n", b"---\r\n# a comment\r\n", 1)
    path.write_bytes(original)
    plan = scoring.WriteBackPlan("quality_pred", only_if_missing=False)
    summary = run(artifact, [str(folder)], tmp_path / "out.jsonl", plan)
    assert summary.write_back is not None and summary.write_back.written == 1
    new = path.read_bytes()
    pred = pd.read_json(tmp_path / "out.jsonl", lines=True)["quality_pred"].iloc[0]
    added = f"quality_pred: {pred:.1f}\r\n".encode()
    close = original.rindex(b"---\r\n")
    assert new == original[:close] + added + original[close:]


def test_write_back_with_only_missing_sets_quality_where_absent(artifact, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    paths = write_corpus(folder, 4, unscored=(1,))
    before = {p: p.read_bytes() for p in paths}
    plan = scoring.WriteBackPlan("quality", only_if_missing=True)
    summary = run(artifact, [str(folder)], tmp_path / "o.csv", plan, only_missing=True)
    assert summary.rows == 1 and summary.write_back.written == 1
    written = paths[1].read_bytes()
    assert b"\nquality: " in written
    value = written.split(b"\nquality: ")[1].split(b"\n")[0]
    assert value.isdigit()  # an integer, like every quality the aggregator writes
    assert all(p.read_bytes() == before[p] for p in paths if p != paths[1])


def test_records_from_json_are_not_writable_and_not_errors(artifact, tmp_path: Path) -> None:
    page = tmp_path / "feed" / "page-1.json"
    page.parent.mkdir()
    page.write_text(json.dumps({"page": 1, "value": [api_object(i) for i in range(3)]}))
    plan = scoring.WriteBackPlan("quality_pred", only_if_missing=False)
    summary = run(artifact, [str(page)], tmp_path / "o.jsonl", plan)
    assert summary.rows == 3 and not summary.errors
    assert summary.write_back.not_writable == 3
    assert summary.write_back.example.endswith("page-1.json[0]")


def test_write_back_refusal_is_reported_per_file(artifact, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    paths = write_corpus(folder, 3)
    # a top-level key written twice: readable, but write-back refuses to guess
    text = paths[1].read_text().replace("---\n", "---\nquality_pred: 1\nquality_pred: 2\n", 1)
    paths[1].write_text(text)
    plan = scoring.WriteBackPlan("quality_pred", only_if_missing=False)
    summary = run(artifact, [str(folder)], tmp_path / "o.jsonl", plan)
    assert summary.rows == 3 and summary.write_back.written == 2
    [error] = summary.errors
    assert error.source.endswith("0001.md") and "write-back refused" in error.reason


def test_a_crash_midway_leaves_files_updated_or_untouched(
    artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    paths = write_corpus(folder, 6)
    before = {p: p.read_bytes() for p in paths}
    real = scoring.write_back
    calls = []

    def crash_after_three(*args, **kwargs):
        if len(calls) == 3:
            raise RuntimeError("power cut")
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "write_back", crash_after_three)
    out = tmp_path / "out.jsonl"
    out.write_text("previous output\n")
    plan = scoring.WriteBackPlan("quality_pred", only_if_missing=False)
    with pytest.raises(RuntimeError, match="power cut"):
        run(artifact, [str(folder)], out, plan)
    done = paths[:3]
    for p in paths:
        data = p.read_bytes()
        if p in done:
            assert data.startswith(before[p][: before[p].rindex(b"---")])
            assert data.endswith(b"---\n\nBody text.\n") and b"\nquality_pred: " in data
            assert len(data) > len(before[p])
        else:
            assert data == before[p]
    assert out.read_text() == "previous output\n"  # the output is not half-replaced either
    assert sorted(x.name for x in folder.iterdir()) == [p.name for p in paths]  # no temp files


def test_progress_is_silent_when_disabled(artifact, tmp_path: Path, capsys) -> None:
    write_corpus(tmp_path / "site", 3)
    run(artifact, [str(tmp_path / "site")], tmp_path / "o.jsonl", None)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_bar_on_a_terminal_shows_rate_and_errors(artifact, tmp_path: Path, capsys):
    write_corpus(tmp_path / "site", 3)
    (tmp_path / "site" / "bad.md").write_text("no front matter\n")
    scorer = scoring.Scorer(artifact.model)
    scoring.run_predict(
        scoring.local_batches(scorer, [str(tmp_path / "site")]),
        TableWriter(tmp_path / "o.jsonl"),
        empty=scorer.empty(),
        progress=True,
    )
    err = capsys.readouterr().err
    assert "rec" in err and "errors=1" in err
