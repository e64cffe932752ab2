"""`score train` / `evaluate` / `inspect` and pipeline.model.training on small synthetic feeds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.artifact import load_artifact
from pipeline.cli import app
from pipeline.load import load_records
from pipeline.model import train_and_save

PROVIDERS = {"alpha.com": 40, "beta.org": 70, "gamma.net": 100, "delta.io": 130}


def synthetic_records(n: int = 160, seed: int = 0) -> list[dict]:
    """API-style records whose quality follows a known rule: provider base + image + AMP."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        domain = rng.choice(sorted(PROVIDERS))
        image, amp = rng.random() < 0.7, rng.random() < 0.3
        quality = PROVIDERS[domain] + 20 * image + 20 * amp + rng.choice([-1, 0, 1])
        record = {
            "title": f"Story {i} about {rng.choice(['builds', 'patch', 'season', 'beta'])}",
            "excerpt": "An excerpt of the story, with a few words ...",
            "publishedDateTime": f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "originalUrl": f"https://{domain}/story-{i}",
            "type": "article",
            "provider": {"name": domain.split(".")[0].title(), "domain": domain},
            "quality": quality,
            "images": [{"url": f"https://{domain}/{i}.jpg", "width": 800, "height": 450}]
            if image
            else [],
        }
        if amp:
            record["ampWebUrl"] = f"https://{domain}/amp/story-{i}"
        records.append(record)
    return records


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("feed")
    path = folder / "scored.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in synthetic_records()))
    return path


@pytest.fixture(scope="module")
def trained(feed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("model") / "quality.joblib"
    result = CliRunner().invoke(app, ["train", str(feed), "--model", str(model)])
    assert result.exit_code == 0, result.output
    return model


def test_train_prints_holdout_with_baselines_and_saves(trained: Path, feed: Path) -> None:
    result = CliRunner().invoke(app, ["train", str(feed), "--model", str(trained)])
    assert result.exit_code == 0, result.output
    assert "global_mean" in result.output and "provider_mean" in result.output
    artifact = load_artifact(trained)
    meta = artifact.metadata
    metrics = meta["metrics"]
    assert meta["n_train"] == 160
    # quality is a rule plus noise of -1, 0 or +1 (MAE 2/3 at best); observed 0.95
    assert metrics["time_holdout.model.mae"] <= 1.9
    assert metrics["time_holdout.model.mae"] < metrics["time_holdout.prior_rule.mae"]
    assert set(meta["intervals"]) == {"0.8", "0.9", "0.95"}
    assert meta["intervals"]["0.8"] <= meta["intervals"]["0.95"]
    assert "quality" not in meta["features"] and "heat" not in meta["features"]
    assert meta["top_features"][0][0] == "provider"  # the rule is mostly provider


def test_training_is_deterministic(feed: Path, tmp_path: Path) -> None:
    frame = load_records([str(feed)]).frame
    first = train_and_save(frame, tmp_path / "a.joblib", seed=3, importance=False)
    second = train_and_save(frame, tmp_path / "b.joblib", seed=3, importance=False)
    assert first.metadata["training_fingerprint"] == second.metadata["training_fingerprint"]
    a, b = load_artifact(first.path), load_artifact(second.path)
    np.testing.assert_array_equal(a.model.predict(frame), b.model.predict(frame))


def test_train_refuses_unscored_input(tmp_path: Path) -> None:
    records = [{k: v for k, v in r.items() if k != "quality"} for r in synthetic_records(5)]
    path = tmp_path / "unscored.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = CliRunner().invoke(app, ["train", str(path), "--model", str(tmp_path / "m.joblib")])
    assert result.exit_code == 2
    assert "quality" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.joblib").exists()


def test_evaluate_reports_model_and_baselines_as_json(feed: Path, tmp_path: Path) -> None:
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        app, ["evaluate", str(feed), "--protocol", "random", "--protocol", "provider",
              "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "NaN" not in out.read_text()  # strict JSON: undefined metrics are null
    metrics = json.loads(out.read_text())
    assert set(metrics) == {"random", "provider"}
    random_split = metrics["random"]["metrics"]
    assert {"model", "global_mean", "provider_mean"} <= set(random_split)
    assert random_split["model"]["mae"] <= 1.9  # observed 0.95 (noise alone: 2/3)
    assert random_split["provider_mean"]["mae"] > 5 * random_split["model"]["mae"]


def test_evaluate_rejects_unknown_protocol(feed: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(feed), "--protocol", "nope"])
    assert result.exit_code == 2 and "'nope' is not one of 'random'" in result.output


def test_inspect_prints_card_and_refuses_tampered_model(trained: Path, tmp_path: Path) -> None:
    card = CliRunner().invoke(app, ["inspect", "--model", str(trained)])
    assert card.exit_code == 0
    assert "time_holdout.model.mae" in card.output and "top features" in card.output

    tampered = tmp_path / "tampered.joblib"
    data = bytearray(trained.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    sidecar = Path(str(trained) + ".sha256").read_text().replace(trained.name, tampered.name)
    Path(str(tampered) + ".sha256").write_text(sidecar)
    refused = CliRunner().invoke(app, ["inspect", "--model", str(tampered)])
    assert refused.exit_code == 2
    assert "Traceback" not in refused.output and str(tampered) in refused.output


def test_explanations_are_measured_against_the_training_records(trained: Path, feed: Path):
    """`score train` stores the explanation baseline, so a record scored alone is explained
    exactly as it is among others (before, the baseline was the input itself: a record scored
    alone always got an empty `why`)."""
    reference = load_artifact(trained).metadata["explain_reference"]
    assert reference and all(isinstance(v, float) for v in reference.values())
    alone = feed.parent / "alone.jsonl"
    alone.write_text(feed.read_text().splitlines()[7] + "\n")
    runner = CliRunner()
    base = ["predict", "--model", str(trained), "--explain"]
    one = runner.invoke(app, [*base, str(alone)])
    every = runner.invoke(app, [*base, str(feed)])
    assert one.exit_code == every.exit_code == 0, one.output
    why_alone = json.loads(one.stdout.splitlines()[0])["why"]
    why_among = json.loads(every.stdout.splitlines()[7])["why"]
    assert why_alone == why_among and why_alone
    assert (
        "explanation reference" in runner.invoke(app, ["inspect", "--model", str(trained)]).stdout
    )


@pytest.mark.parametrize("kind", ["hgb", "ridge"])
def test_every_kind_offered_trains_and_predicts(kind: str, feed: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["train", str(feed), "--model", str(model), "--kind", kind])
    assert result.exit_code == 0, result.output
    artifact = load_artifact(model)
    assert artifact.metadata["kind"] == kind
    assert artifact.metadata["metrics"]["time_holdout.model.mae"] <= 1.9  # observed 0.95, 1.27


def test_an_unknown_kind_is_a_usage_error(feed: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["train", str(feed), "--model", str(model), "--kind", "xgb"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not model.exists()


def test_strict_related_removes_held_out_articles_from_training_lists(tmp_path: Path) -> None:
    """Each record lists two other records as related (as the real sites do): the plain
    provider protocol sees a held-out provider's scores through those lists, strict does not."""
    records = synthetic_records(120)
    for i, record in enumerate(records):
        record["related"] = [
            {key: records[j][key] for key in ("title", "originalUrl", "provider", "quality")}
            for j in ((i + 1) % len(records), (i + 7) % len(records))
        ]
    feed = tmp_path / "linked.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in records))
    results = {}
    for flag in ([], ["--strict-related"]):
        out = tmp_path / f"m{len(flag)}.json"
        args = ["evaluate", str(feed), "--protocol", "provider", "--json", str(out), *flag]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        results[bool(flag)] = json.loads(out.read_text())["provider"]["metrics"]["model"]["mae"]
    assert results[False] <= 8 and results[True] > 3 * results[False], results  # 4.1, 27.5


def test_train_without_paths_reads_seeds_and_the_shared_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./seeds, ../shared/seed and every site folder of ../shared/corpus, not its feeds."""
    project = tmp_path / "project"
    shared = tmp_path / "shared"
    records = synthetic_records(60)
    parts = {
        project / "seeds": records[:10],
        shared / "seed": records[10:11],
        shared / "corpus" / "site-a": records[11:40],
        shared / "corpus" / "site-b": records[40:],
        shared / "corpus" / "feeds": [{**r, "quality": None} for r in synthetic_records(5, 9)],
    }
    for folder, part in parts.items():
        folder.mkdir(parents=True)
        (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(app, ["train", "--model", "m.joblib"])
    assert result.exit_code == 0, result.output
    assert "loaded 60 records (60 scored) from 4 path(s)" in result.stderr
    meta = load_artifact(project / "m.joblib").metadata
    assert meta["n_train"] == 60
    assert meta["training_sites"] == ["seed", "seeds", "site-a", "site-b"]
