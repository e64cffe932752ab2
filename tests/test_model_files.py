"""Broken model files are refused through the CLI: exit 2, one line, nothing touched.

A model artifact that is truncated, corrupted, tampered with (digest mismatch), missing its
digest, not an artifact at all, or a hostile pickle is refused by ``score inspect --model X``
and ``score predict --model X`` with exit status 2 and a single ``error:`` line on standard
error (no traceback) *before* any record is read: the record files stay byte-identical (same
bytes, same mtime) and no output file is created. An artifact from another package version is
loaded with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shlex
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import joblib
import pytest
from helpers import SCORE
from typer.testing import CliRunner

import pipeline
from pipeline.artifact import FORMAT, ArtifactVersionWarning, save_artifact, sidecar_path
from pipeline.cli import app
from pipeline.load import load_records
from pipeline.model import train_and_save


def record_text(i: int) -> str:
    """A small made-up record; half of them carry a known quality."""
    quality = f"quality: {20 + (i * 7) % 100}\n" if i % 2 == 0 else ""
    return (
        "---\n"
        f'title: "Article {i} about robots{" and AI" if i % 3 else ""}"\n'
        f'excerpt: "Excerpt of article {i}"\n'
        f"publishedDateTime: 2022-01-{i % 28 + 1:02d}T10:00:00Z\n"
        f'webUrl: "https://site{i % 4}.example/a{i}"\n'
        "type: article\n"
        f"{quality}"
        "provider:\n"
        f"  name: Site {i % 4}\n"
        f"  domain: site{i % 4}.example\n"
        "---\n\n"
        f"Body {i}\n"
    )


def write_records(folder: Path, n: int) -> list[Path]:
    """Write ``n`` records into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"r{i:03d}.md"
        path.write_text(record_text(i), encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real artifact (with its sidecar) trained on 40 small records."""
    root = tmp_path_factory.mktemp("trained")
    frame = load_records([str(p) for p in write_records(root / "train", 40)]).frame
    frame = frame.loc[frame["quality"].notna()].reset_index(drop=True)
    return train_and_save(frame, root / "model.joblib", importance=False, min_records=10).path


def resign(path: Path) -> None:
    """Write a sidecar matching whatever ``path`` now holds (as if made by its author)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar_path(path).write_text(f"{digest}  {path.name}\n")


class Evil:
    """A pickle that runs code when loaded: it creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def _copy(trained: Path, dest: Path) -> Path:
    model = dest / "model.joblib"
    model.write_bytes(trained.read_bytes())
    sidecar_path(model).write_bytes(sidecar_path(trained).read_bytes())
    return model


# Each case turns a copy of the good artifact into a broken one; the value is a phrase the
# one-line message must contain.
def truncated(model: Path) -> None:
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])


def truncated_resigned(model: Path) -> None:
    truncated(model)
    resign(model)


def corrupted(model: Path) -> None:
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))


def tampered(model: Path) -> None:
    other = joblib.load(model)  # the author's own model, re-saved with other metadata
    other["metadata"]["n_train"] = 10**6
    joblib.dump(other, model)


def no_sidecar(model: Path) -> None:
    sidecar_path(model).unlink()


def bad_sidecar(model: Path) -> None:
    sidecar_path(model).write_text("not a digest\n")


def text_file(model: Path) -> None:
    model.write_text("id,quality\n1,40\n")
    resign(model)


def empty(model: Path) -> None:
    model.write_bytes(b"")
    resign(model)


def plain_pickle(model: Path) -> None:
    joblib.dump({"weights": [1, 2, 3]}, model)
    resign(model)


def not_an_estimator(model: Path) -> None:
    joblib.dump({"format": FORMAT, "model": {"coef": 1}, "metadata": {}}, model)
    resign(model)


def garbage_pickle(model: Path) -> None:
    model.write_bytes(b"\x80\x04" + b"\xff" * 32 + b".")  # 0xff is no pickle opcode
    resign(model)


def directory(model: Path) -> None:
    model.unlink()
    model.mkdir()


def missing(model: Path) -> None:
    model.unlink()
    sidecar_path(model).unlink()


def hostile_pickle(model: Path) -> None:
    model.write_bytes(pickle.dumps(Evil(model.parent / "PWNED"), protocol=4))


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (truncated, "cut short"),
    "truncated_resigned": (truncated_resigned, "truncated"),
    "corrupted": (corrupted, "sha256 does not match"),
    "tampered": (tampered, "sha256 does not match"),
    "no_sidecar": (no_sidecar, "sidecar"),
    "bad_sidecar": (bad_sidecar, "sidecar"),
    "text_file": (text_file, "not a joblib artifact"),
    "empty": (empty, "empty"),
    "plain_pickle": (plain_pickle, "not an article-quality artifact"),
    "not_an_estimator": (not_an_estimator, "not a fitted estimator"),
    "garbage_pickle": (garbage_pickle, "cannot unpickle"),
    "directory": (directory, "not a regular file"),
    "missing": (missing, "not found"),
    "hostile_pickle": (hostile_pickle, "sha256 does not match"),
}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def check_refusal(stderr: str, phrase: str, model: Path) -> None:
    """One ``error:`` line naming the file and the problem; no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    assert str(model) in lines[0] and phrase in lines[0], lines[0]


runner = CliRunner()


@pytest.mark.parametrize("case", sorted(CASES))
def test_inspect_refuses_bad_model(case: str, trained: Path, tmp_path: Path) -> None:
    """`score inspect --model X`: exit 2, one line, never unpickled when the digest is off."""
    breaker, phrase = CASES[case]
    model = _copy(trained, tmp_path)
    breaker(model)
    result = runner.invoke(app, ["inspect", "--model", str(model)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    check_refusal(result.stderr, phrase, model)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_predict_refuses_bad_model_before_touching_records(
    case: str, trained: Path, tmp_path: Path
) -> None:
    """`score predict --write-back`: exit 2 before any record is read, written or output."""
    breaker, phrase = CASES[case]
    model = _copy(trained, tmp_path)
    breaker(model)
    records = tmp_path / "records"
    write_records(records, 6)
    before = snapshot(records)
    out = tmp_path / "scores.csv"
    errors = tmp_path / "errors.jsonl"
    result = runner.invoke(
        app,
        [
            "predict",
            str(records),
            "--model",
            str(model),
            "--out",
            str(out),
            "--errors",
            str(errors),
            "--write-back",
        ],
    )
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    check_refusal(result.stderr, phrase, model)
    assert snapshot(records) == before
    assert not out.exists() and not errors.exists()
    assert not (tmp_path / "PWNED").exists()


@pytest.fixture
def old_version_model(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trained model re-saved as if by article-quality 0.0.1 (digest correct)."""
    artifact = joblib.load(trained)
    monkeypatch.setattr(pipeline, "__version__", "0.0.1")
    meta = {
        k: v
        for k, v in artifact["metadata"].items()
        if not k.endswith("_version") and k != "format"
    }
    path = save_artifact(artifact["model"], tmp_path / "old.joblib", metadata=meta)
    monkeypatch.undo()
    return path


def test_inspect_warns_on_other_package_version(old_version_model: Path) -> None:
    """Another version loads, with a warning naming both versions."""
    with pytest.warns(ArtifactVersionWarning, match=r"0\.0\.1"):
        result = runner.invoke(app, ["inspect", "--model", str(old_version_model)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "package_version: 0.0.1" in result.stdout


def test_predict_warns_on_other_package_version(old_version_model: Path, tmp_path: Path) -> None:
    """Predict still scores with an older model, after a one-line warning."""
    records = tmp_path / "records"
    write_records(records, 4)
    out = tmp_path / "scores.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = runner.invoke(
            app, ["predict", str(records), "--model", str(old_version_model), "--out", str(out)]
        )
    assert result.exit_code == 0, (result.output, result.exception)
    warning_lines = [line for line in result.stderr.splitlines() if "0.0.1" in line]
    assert len(warning_lines) == 1 and warning_lines[0].startswith("warning:")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and all(row["quality_pred"] is not None for row in rows)


def test_refusal_end_to_end_in_a_real_process(trained: Path, tmp_path: Path) -> None:
    """The real `score` process: exit 2, exactly one stderr line, no traceback, no PWNED."""
    model = _copy(trained, tmp_path)
    hostile_pickle(model)
    records = tmp_path / "records"
    write_records(records, 3)
    before = snapshot(records)
    command = ["predict", str(records), "--write-back"]
    proc = subprocess.run(
        [*SCORE, *command, "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    check_refusal(proc.stderr, "sha256 does not match", model)
    assert proc.stdout == ""
    assert snapshot(records) == before
    assert not (tmp_path / "PWNED").exists()
