"""`score train` / `evaluate` / `inspect` and pipeline.model.training on small synthetic feeds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from helpers import rule_record
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
    # quality is a rule plus noise of -1, 0 or +1 (MAE 2/3 at best); observed 0.67
    assert metrics["time_holdout.model.mae"] <= 1.4
    assert metrics["time_holdout.provider_mean.mae"] > 5 * metrics["time_holdout.model.mae"]
    assert meta["sites"] == {feed.parent.name: 160} and meta["training_paths"] == [str(feed)]
    seen = meta["intervals"]["seen"]
    assert set(seen) == {"0.8", "0.9", "0.95"} and seen["0.8"] <= seen["0.95"] <= 3
    assert "quality" not in meta["features"] and "heat" not in meta["features"]
    assert meta["top_features"][0][0] == "provider_domain"  # the rule is mostly provider
    assert meta["rule_prices"]["has_image"] == pytest.approx(20, abs=1)


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
    """`score train` stores the explanation's reference record, so a record scored alone is
    explained exactly as it is among others."""
    reference = load_artifact(trained).metadata["explain_reference"]
    assert reference["site"] == feed.parent.name and isinstance(reference["title"], str)
    alone = feed.parent / "alone.jsonl"
    alone.write_text(feed.read_text().splitlines()[7] + "\n")
    runner = CliRunner()
    base = ["predict", "--model", str(trained), "--explain"]
    one = runner.invoke(app, [*base, str(alone)])
    every = runner.invoke(app, [*base, str(feed)])
    assert one.exit_code == every.exit_code == 0, one.output
    alone_row = json.loads(one.stdout.splitlines()[0])
    among_row = json.loads(every.stdout.splitlines()[7])
    assert alone_row["why"] == among_row["why"] and alone_row["why"]
    assert alone_row["reference"] == among_row["reference"]
    assert (
        "explanation reference" in runner.invoke(app, ["inspect", "--model", str(trained)]).stdout
    )


def test_too_few_scored_records_are_refused(feed: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("".join(feed.read_text().splitlines(keepends=True)[:12]))
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["train", str(small), "--model", str(model)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "12 scored records" in result.stderr and "--min-records" in result.stderr
    assert not model.exists()
    allowed = ["train", str(small), "--model", str(model), "--min-records", "10"]
    assert CliRunner().invoke(app, allowed).exit_code == 0
    assert model.exists()


def test_bad_inputs_beside_good_ones_still_train_and_exit_1(feed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_text(feed.read_text())
    (folder / "bad.md").write_text("no front matter\n")
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["train", str(folder), "--model", str(model)])
    assert result.exit_code == 1, result.output
    assert model.exists() and "bad inputs were skipped" in result.stderr


@pytest.mark.parametrize("wild", [1e300, -1e300, 2**63, 1_000_001])
def test_a_score_too_large_to_be_one_is_reported_not_learned_from(
    feed: Path, tmp_path: Path, wild: float
) -> None:
    """A finite but huge `quality` (it overflows a fit): that record is a bad input (exit 1,
    one line naming it), the model is saved from the others and stays on their scale."""
    lines = feed.read_text().splitlines()
    record = json.loads(lines[3])
    record["quality"] = wild
    lines[3] = json.dumps(record)
    dump = tmp_path / "in" / "wild.jsonl"
    dump.parent.mkdir()
    dump.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["train", str(dump), "--model", str(model)])
    assert result.exit_code == 1, result.output
    assert f"error: {dump}:4: quality" in result.stderr and "not a score" in result.stderr
    assert "Traceback" not in result.output
    artifact = load_artifact(model)
    assert artifact.metadata["sites"] == {"in": 159}
    assert max(abs(b) for b in artifact.model[-1].bounds_) < 1_000


def test_a_related_score_too_large_to_be_one_is_reported_not_learned_from(
    tmp_path: Path,
) -> None:
    """The record is learned from; its related entry's 1e300 is not (it would swamp every
    price): one line names the entry, exit 1, the model stays on the records' scale."""
    records = [rule_record(i) for i in range(60)]
    records[3]["related"][0]["quality"] = 1e300
    dump = tmp_path / "in" / "wild.jsonl"
    dump.parent.mkdir()
    dump.write_text("".join(json.dumps(r) + "\n" for r in records))
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["train", str(dump), "--model", str(model)])
    assert result.exit_code == 1, result.output
    assert f"error: {dump}:4: field 'related[0].quality'" in result.stderr
    assert "not a score" in result.stderr
    artifact = load_artifact(model)
    assert artifact.metadata["sites"] == {"in": 60}
    assert max(abs(b) for b in artifact.model[-1].bounds_) < 1_000


def test_a_site_named_on_the_command_line(feed: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(app, ["train", str(feed), "--model", str(model), "--site", "news"])
    assert result.exit_code == 0, result.output
    assert load_artifact(model).metadata["sites"] == {"news": 160}
    for bad in ("", "a/b", ".."):
        refused = CliRunner().invoke(
            app, ["train", str(feed), "--model", str(model), "--site", bad]
        )
        assert refused.exit_code == 2 and "not a site name" in refused.stderr


def test_a_new_sites_records_refit_on_a_base_model(tmp_path: Path) -> None:
    """--base: the base model's shared part, the new site's own part from its few records."""
    from helpers import write_rule_jsonl

    base = tmp_path / "base.joblib"
    corpus = write_rule_jsonl(tmp_path / "big" / "records.jsonl", 200)
    assert CliRunner().invoke(app, ["train", str(corpus), "--model", str(base)]).exit_code == 0
    new = write_rule_jsonl(tmp_path / "new" / "few.jsonl", 20, seed=8, level=30)
    model = tmp_path / "refit.joblib"
    result = CliRunner().invoke(
        app, ["train", str(new), "--model", str(model), "--base", str(base)]
    )
    assert result.exit_code == 0, result.output
    meta = load_artifact(model).metadata
    assert meta["sites"] == {"big": 200, "new": 20} and meta["base_model"] == str(base)
    fresh = write_rule_jsonl(tmp_path / "fresh" / "new.jsonl", 30, start=100, seed=8, level=30)
    args = ["predict", str(fresh), "--model", str(model), "--site", "new"]
    rows = [json.loads(line) for line in CliRunner().invoke(app, args).stdout.splitlines()]
    truth = [json.loads(line)["quality"] for line in fresh.read_text().splitlines()]
    assert {r["novelty"] for r in rows} == {"seen"}
    assert np.mean([abs(r["quality_pred"] - q) for r, q in zip(rows, truth, strict=True)]) < 1


def test_strict_related_removes_held_out_articles_from_training_lists(tmp_path: Path) -> None:
    """Each record lists two other records as related (as the real sites do): the plain
    provider protocol sees a held-out provider's scores through those lists, strict does not."""
    records = synthetic_records(120)
    for i, record in enumerate(records):  # two records of other providers each
        others = [j for j in range(len(records)) if records[j]["provider"] != record["provider"]]
        record["related"] = [
            {
                key: records[j][key]
                for key in ("title", "originalUrl", "provider", "quality", "images", "ampWebUrl")
                if key in records[j]
            }
            for j in (others[i % len(others)], others[(i + 7) % len(others)])
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
    assert results[False] <= 2 and results[True] > 5 * results[False], results


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
    result = CliRunner().invoke(app, ["train", "--model", "m.joblib", "--min-records", "20"])
    assert result.exit_code == 0, result.output
    assert "loaded 60 records (60 scored) from 4 path(s): seeds, ../shared/seed" in result.stderr
    meta = load_artifact(project / "m.joblib").metadata
    assert meta["n_train"] == 60
    assert meta["sites"] == {"seed": 1, "seeds": 10, "site-a": 29, "site-b": 20}
