"""Artifact save/load: round trip, and refusal of every kind of bad file before unpickling."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pipeline
from pipeline.artifact import (
    FORMAT,
    Artifact,
    ArtifactError,
    ArtifactVersionWarning,
    fingerprint_frame,
    load_artifact,
    model_card,
    save_artifact,
    sidecar_path,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"{i:016x}" for i in range(12)],
            "title": ["good long article about ai", "short", "video clip", "news today"] * 3,
            "image_count": [1, 0, 2, 3] * 3,
            "quality": [60.0, 20.0, 35.0, 50.0] * 3,
        }
    )


@pytest.fixture
def fitted() -> tuple[object, pd.DataFrame]:
    frame = _frame()
    model = make_pipeline(
        ColumnTransformer(
            [("text", TfidfVectorizer(), "title"), ("num", StandardScaler(), ["image_count"])]
        ),
        Ridge(alpha=1.0),
    ).fit(frame, frame["quality"])
    return model, frame


@pytest.fixture
def saved(tmp_path: Path, fitted: tuple[object, pd.DataFrame]) -> Path:
    model, frame = fitted
    return save_artifact(
        model,
        tmp_path / "model.joblib",
        metadata={
            "training_fingerprint": fingerprint_frame(frame),
            "n_train": len(frame),
            "features": ["title", "image_count"],
            "metrics": {"mae": np.float64(4.25), "r2": 0.5},
            "seed": 7,
            "top_features": [["text__ai", 3.2], ["num__image_count", -1.1]],
        },
    )


class _Marker:
    """Unpickling this creates the marker file: proof that a file was (or was not) unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _write_signed(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    sidecar_path(path).write_text(f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


# ----------------------------------------------------------------------------- round trip


def test_round_trip_same_predictions(saved: Path, fitted: tuple[object, pd.DataFrame]) -> None:
    model, frame = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error", ArtifactVersionWarning)
        art = load_artifact(saved)
    assert isinstance(art, Artifact)
    assert art.path == saved
    np.testing.assert_array_equal(art.model.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(art.predict(frame), model.predict(frame))


def test_metadata_filled_automatically(saved: Path, fitted: tuple[object, pd.DataFrame]) -> None:
    meta = load_artifact(saved).metadata
    assert meta["format"] == FORMAT
    assert meta["package_version"] == pipeline.__version__
    assert meta["sklearn_version"] == sklearn.__version__
    assert meta["pandas_version"] == pd.__version__
    assert meta["numpy_version"] == np.__version__
    assert meta["python_version"]
    assert meta["created_at"].endswith("+00:00")
    assert meta["model_class"] == "sklearn.pipeline.Pipeline"
    assert meta["metrics"] == {"mae": 4.25, "r2": 0.5}
    assert type(meta["metrics"]["mae"]) is float  # numpy scalar made plain
    assert meta["training_fingerprint"] == fingerprint_frame(fitted[1])
    assert meta["n_train"] == 12 and meta["seed"] == 7


def test_sidecar_is_sha256sum_format(saved: Path) -> None:
    line = sidecar_path(saved).read_text()
    digest = hashlib.sha256(saved.read_bytes()).hexdigest()
    assert line == f"{digest}  model.joblib\n"


def test_caller_cannot_override_versions(tmp_path: Path, fitted: tuple[object, object]) -> None:
    with pytest.raises(ValueError, match="sklearn_version"):
        save_artifact(fitted[0], tmp_path / "m.joblib", metadata={"sklearn_version": "9"})


def test_non_json_metadata_rejected(tmp_path: Path, fitted: tuple[object, object]) -> None:
    with pytest.raises(TypeError, match="non-JSON"):
        save_artifact(fitted[0], tmp_path / "m.joblib", metadata={"x": object()})


def test_unpicklable_model_refused_cleanly(tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(FunctionTransformer(lambda x: x), Ridge()).fit([[1.0], [2.0]], [1, 2])
    with pytest.raises(ArtifactError, match=r"m\.joblib: model cannot be pickled"):
        save_artifact(model, tmp_path / "m.joblib", metadata={})
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_no_temp_files(tmp_path: Path, fitted: tuple[object, object]) -> None:
    out = tmp_path / "models"
    save_artifact(fitted[0], out / "m.joblib", metadata={})
    save_artifact(fitted[0], out / "m.joblib", metadata={"seed": 1})  # overwrite in place
    assert sorted(p.name for p in out.iterdir()) == ["m.joblib", "m.joblib.sha256"]


def test_failed_save_keeps_previous_artifact(
    tmp_path: Path, fitted: tuple[object, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_artifact(fitted[0], tmp_path / "m.joblib", metadata={"seed": 1})
    before = path.read_bytes(), sidecar_path(path).read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_artifact(fitted[0], path, metadata={"seed": 2})
    monkeypatch.undo()
    assert (path.read_bytes(), sidecar_path(path).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.joblib", "m.joblib.sha256"]
    assert load_artifact(path).metadata["seed"] == 1


# ----------------------------------------------------------------------------- refusals


def test_missing_file(tmp_path: Path) -> None:
    expected = r"nope\.joblib: model not found; train one first with `score train`"
    with pytest.raises(ArtifactError, match=expected):
        load_artifact(tmp_path / "nope.joblib")


def test_missing_sidecar_refused_unless_trusted(saved: Path) -> None:
    sidecar_path(saved).unlink()
    with pytest.raises(ArtifactError, match=r"model\.joblib: digest sidecar .* is missing"):
        load_artifact(saved)
    assert load_artifact(saved, trust_unsigned=True).model is not None


def test_flipped_byte_refused(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"changed since .* \(edited: its sha256") as info:
        load_artifact(saved)
    assert str(saved) in str(info.value)
    assert "\n" not in str(info.value)


def test_tampered_payload_is_never_unpickled(saved: Path, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.joblib"
    # Sanity: the payload really does run code when unpickled.
    joblib.dump(_Marker(marker), evil)
    joblib.load(evil).close()  # the payload returned an open file handle
    assert marker.exists()
    marker.unlink()
    # Swap the evil payload in for the genuine model; the old sidecar no longer matches.
    saved.write_bytes(evil.read_bytes())
    with pytest.raises(ArtifactError, match="refusing to unpickle"):
        load_artifact(saved)
    assert not marker.exists()
    # Same payload with the sidecar removed: refused for lack of a digest, still not unpickled.
    sidecar_path(saved).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_artifact(saved)
    assert not marker.exists()


def test_truncated_file_refused(saved: Path) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="cut short"):
        load_artifact(saved)


def test_bytes_appended_are_not_called_a_truncation(saved: Path) -> None:
    """The message names the likely cause and the fix."""
    saved.write_bytes(saved.read_bytes() + b"junk")
    with pytest.raises(ArtifactError) as info:
        load_artifact(saved)
    message = str(info.value)
    assert "bytes appended" in message and "Re-run `score train`" in message
    assert "truncated" not in message


def test_truncated_unsigned_file_refused(saved: Path) -> None:
    data = saved.read_bytes()
    sidecar_path(saved).unlink()
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        saved.write_bytes(data[:cut])
        with pytest.raises(ArtifactError, match=r"truncated|not a joblib"):
            load_artifact(saved, trust_unsigned=True)


def test_plain_dict_with_valid_sidecar_refused(tmp_path: Path) -> None:
    path = tmp_path / "dict.joblib"
    joblib.dump({"a": 1}, path)
    data = path.read_bytes()
    _write_signed(path, data)
    with pytest.raises(ArtifactError, match="not an article-quality artifact"):
        load_artifact(path)


def test_wrong_model_inside_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.joblib"
    joblib.dump({"format": FORMAT, "model": [1, 2], "metadata": {}}, path)
    _write_signed(path, path.read_bytes())
    with pytest.raises(ArtifactError, match="not a fitted estimator"):
        load_artifact(path)


def test_random_bytes_with_valid_sidecar_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.joblib"
    _write_signed(path, os.urandom(256).replace(b"\x80", b"\x00"))
    with pytest.raises(ArtifactError, match="not a joblib artifact"):
        load_artifact(path)


def test_unpickling_failure_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.joblib"
    # A protocol-4 pickle referencing a module that does not exist.
    _write_signed(path, b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x03zzz\x8c\x01f\x93.")
    with pytest.raises(ArtifactError, match="cannot unpickle"):
        load_artifact(path)


def test_malformed_sidecar_refused(saved: Path) -> None:
    sidecar_path(saved).write_text("not a digest\n")
    with pytest.raises(ArtifactError, match="not a sha256sum line"):
        load_artifact(saved)


# ----------------------------------------------------------------------------- versions, card


def test_version_mismatch_warns(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "__version__", "99.0.0")
    monkeypatch.setattr(sklearn, "__version__", "0.1")
    with pytest.warns(ArtifactVersionWarning) as record:
        load_artifact(saved)
    messages = [str(w.message) for w in record if w.category is ArtifactVersionWarning]
    assert any("article-quality" in m and "99.0.0" in m for m in messages)
    assert any("scikit-learn" in m for m in messages)


def test_model_card(saved: Path) -> None:
    card = model_card(load_artifact(saved))
    assert "sklearn.pipeline.Pipeline" in card
    assert "mae" in card and "4.25" in card
    assert "top features:" in card and "text__ai" in card
    assert "features (2): title, image_count" in card
    assert f"package_version: {pipeline.__version__}" in card


# ----------------------------------------------------------------------------- fingerprint


def test_fingerprint_deterministic_and_order_independent() -> None:
    frame = _frame()
    fp = fingerprint_frame(frame)
    assert len(fp) == 64
    assert fingerprint_frame(frame.iloc[::-1].reset_index(drop=True)) == fp
    assert fingerprint_frame(frame.astype({"quality": "Float64"})) == fp
    changed = frame.copy()
    changed.loc[0, "quality"] = 61.0
    assert fingerprint_frame(changed) != fp
    assert fingerprint_frame(frame.iloc[1:]) != fp


def test_fingerprint_handles_missing_target() -> None:
    frame = pd.DataFrame({"id": pd.array(["a", "b"], dtype="string"), "quality": [1.0, None]})
    frame["quality"] = frame["quality"].astype("Float64")
    assert len(fingerprint_frame(frame)) == 64
    with pytest.raises(KeyError):
        fingerprint_frame(frame.drop(columns="quality"))


def test_sidecar_that_is_not_a_small_regular_file_is_refused(saved: Path) -> None:
    """A FIFO or a huge file posing as the sidecar is refused at once, not read forever."""
    model = saved
    side = sidecar_path(model)
    side.unlink()
    os.mkfifo(side)
    with pytest.raises(ArtifactError, match="not a regular file"):
        load_artifact(model)
    side.unlink()
    side.write_bytes(b"0" * 10_000)
    with pytest.raises(ArtifactError, match="not a sha256sum line"):
        load_artifact(model)
