"""The saved model artifact: one joblib file, a sha256 sidecar, and refusal of bad files.

Layout
------
``save_artifact(model, "models/quality.joblib", metadata=...)`` writes two files:

* ``quality.joblib`` - an *uncompressed* joblib dump of
  ``{"format": FORMAT, "model": <fitted estimator>, "metadata": {...}}``;
* ``quality.joblib.sha256`` - ``"<hex digest>  quality.joblib\\n"`` (``sha256sum`` format, so
  ``sha256sum -c quality.joblib.sha256`` works from that folder).

Both are written atomically (temp file in the same folder, fsync, ``os.replace``); the sidecar is
written *after* the model file, so a crash in between leaves a mismatching pair that
``load_artifact`` refuses rather than a half-written model that it loads.

Trust model
-----------
Unpickling a joblib file can execute arbitrary code (``__reduce__``), so a joblib file is only as
safe as its origin. ``load_artifact`` therefore reads the bytes once, checks them against the
sidecar digest and only then unpickles *those same bytes* (no second read, so the file cannot be
swapped between check and load). This stops corrupted, truncated and tampered-with model files
from ever being unpickled. It does **not** protect against someone who can rewrite both the
model and its sidecar: the sidecar is an integrity check, not a signature. Keep artifacts in a
location only the team can write to, and never load one received from an untrusted party
(``trust_unsigned=True`` switches even the integrity check off; use it only for files you made).

Before unpickling, cheap structural checks also run: the file must start with a pickle protocol
header (joblib's uncompressed format) and end with the pickle STOP opcode. Compression is not
offered: a truncated zlib-compressed joblib stream can load *without error*, while an uncompressed
one lets truncation be recognised and named.

Why not skops
-------------
skops 0.16 (``skops.io``) was evaluated: it round-trips a ``Pipeline`` with a
``ColumnTransformer``, ``TfidfVectorizer`` and a custom transformer, but loading refuses every
type outside its built-in allow-list (``UntrustedTypesFoundException: ['m.LenT']``) until the
caller passes ``trusted=[...]``. Every custom transformer in ``pipeline.features`` would have to
be kept on a hand-maintained allow-list in step with other modules, lambdas/closures in
``FunctionTransformer`` cannot be stored at all, and the design (DESIGN.md) fixes the artifact as
"joblib + metadata + digest". The practical risk we face is a corrupted or swapped file in a
shared folder, which the digest covers; so: joblib + sha256 sidecar. Revisit skops if artifacts
ever travel between parties who do not trust each other.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import os
import pickle
import platform
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from pipeline.io.atomic import AtomicFile

FORMAT = "article-quality-artifact/1"
SIDECAR_SUFFIX = ".sha256"

# Filled by save_artifact from the running interpreter; a caller may not override them.
_AUTO_VERSION_KEYS: tuple[str, ...] = (
    "format",
    "package_version",
    "sklearn_version",
    "pandas_version",
    "numpy_version",
    "joblib_version",
    "python_version",
)

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class ArtifactError(Exception):
    """A model artifact cannot be saved or loaded; the message is one line naming the file."""


class ArtifactVersionWarning(UserWarning):
    """The artifact was saved by another package or scikit-learn version than the running one."""


@dataclass(frozen=True)
class Artifact:
    """A loaded artifact: the fitted estimator, its metadata, and the file it came from."""

    model: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path = field(default_factory=Path)

    def predict(self, X: Any) -> Any:
        """Shortcut for ``artifact.model.predict(X)``."""
        return self.model.predict(X)


# --------------------------------------------------------------------------- helpers


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """Where the digest of ``path`` lives: ``<path>.sha256``."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _running_versions() -> dict[str, str]:
    """Versions of everything that decides whether a pickled model still behaves the same."""
    import numpy
    import pandas
    import sklearn

    import pipeline

    return {
        "format": FORMAT,
        "package_version": pipeline.__version__,
        "sklearn_version": sklearn.__version__,
        "pandas_version": pandas.__version__,
        "numpy_version": numpy.__version__,
        "joblib_version": joblib.__version__,
        "python_version": platform.python_version(),
    }


def _plain(value: Any, where: str) -> Any:
    """Turn metadata into plain JSON-able Python so the artifact pickles no surprises.

    numpy scalars/arrays and tuples are converted; anything else non-JSON raises TypeError.
    """
    tolist = getattr(value, "tolist", None)  # numpy scalar or array (np.float64 is a float)
    if callable(tolist) and type(value).__module__.startswith("numpy"):
        return _plain(tolist(), where)
    if value is None or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata {where} has a non-JSON type {type(value).__name__}")


def _atomic_write(path: Path, write: Any) -> None:
    """Write ``path`` whole or not at all (:class:`~pipeline.io.atomic.AtomicFile`)."""
    target = AtomicFile(path, mode=0o644)
    try:
        write(target.file)
        target.commit()
    except BaseException:
        target.abort()
        raise


def fingerprint_frame(frame: Any, *, columns: tuple[str, str] = ("id", "quality")) -> str:
    """sha256 hex digest identifying the training rows by their ids and targets.

    Order-independent (rows are sorted) so the same training set always gives the same value,
    whatever order the loader produced; missing targets are written as ``NA``.
    """
    id_col, target_col = columns
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"fingerprint_frame needs columns {list(columns)}; missing {missing}")
    lines: list[str] = []
    for rid, target in zip(frame[id_col].tolist(), frame[target_col].tolist(), strict=True):
        rid_text = "NA" if _is_missing(rid) else str(rid)
        if _is_missing(target):
            target_text = "NA"
        else:
            number = float(target)
            target_text = repr(number) if math.isfinite(number) else str(number)
        lines.append(f"{rid_text}\t{target_text}\n")
    lines.sort()
    digest = hashlib.sha256()
    digest.update(f"rows={len(lines)}\n".encode())
    for line in lines:
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas

        return bool(pandas.isna(value))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- save


def save_artifact(
    model: Any, path: str | os.PathLike[str], *, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Save a fitted estimator and its metadata as one joblib file plus a sha256 sidecar.

    Versions and ``created_at`` are filled in automatically; the caller adds what only it knows
    (``training_fingerprint``, ``n_train``, ``features``, ``metrics``, ``seed``, ``top_features``).
    Returns the path of the model file.
    """
    path = Path(path)
    if not hasattr(model, "predict"):
        raise ArtifactError(f"{path}: refusing to save {type(model).__name__}: it has no predict()")
    caller = dict(metadata or {})
    clash = sorted(set(caller) & set(_AUTO_VERSION_KEYS))
    if clash:
        raise ValueError(f"metadata keys {clash} are filled in automatically; do not pass them")
    meta: dict[str, Any] = {
        **_running_versions(),
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
    }
    meta.update(_plain(caller, "metadata"))
    payload = {"format": FORMAT, "model": model, "metadata": meta}

    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()

    def write_model(fh: Any) -> None:
        buffer = io.BytesIO()
        joblib.dump(payload, buffer)  # uncompressed on purpose: see module docstring
        data = buffer.getvalue()
        digest.update(data)
        fh.write(data)

    try:
        _atomic_write(path, write_model)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:  # e.g. a lambda in the model
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ArtifactError(f"{path}: model cannot be pickled ({reason[:200]})") from exc
    line = f"{digest.hexdigest()}  {path.name}\n".encode()
    _atomic_write(sidecar_path(path), lambda fh: fh.write(line))
    return path


# --------------------------------------------------------------------------- load


_SIDECAR_MAX_BYTES = 4096  # one sha256sum line; a FIFO or /dev/zero must not hang the load


def _read_sidecar(path: Path, side: Path) -> str:
    try:
        if not side.is_file():
            raise ArtifactError(f"{path}: digest sidecar {side.name} is not a regular file")
        with open(side, "rb") as stream:
            data = stream.read(_SIDECAR_MAX_BYTES + 1)
        if len(data) > _SIDECAR_MAX_BYTES:
            raise ArtifactError(f"{path}: digest sidecar {side.name} is not a sha256sum line")
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{path}: digest sidecar {side.name} is not a sha256sum line") from exc
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read digest sidecar {side.name}: {exc}") from exc
    first = text.strip().split(maxsplit=1)
    if not first or not _HEX64.match(first[0]):
        raise ArtifactError(f"{path}: digest sidecar {side.name} is not a sha256sum line")
    return first[0].lower()


def _what_changed(data: bytes) -> str:
    """The likely change, told from the bytes: a joblib pickle ends with its STOP opcode."""
    if not _looks_like_pickle(data):
        return "edited or replaced"
    if data.endswith(b"."):
        return "edited"
    stop = data.rfind(b".")
    if stop > 0 and len(data) - stop <= 1 << 20:
        return "cut short, or bytes appended"
    return "cut short"


def _looks_like_pickle(data: bytes) -> bool:
    """Uncompressed joblib files start with PROTO (0x80) and a protocol number 2-5."""
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


def load_artifact(
    path: str | os.PathLike[str], *, trust_unsigned: bool = False, verified: bytes | None = None
) -> Artifact:
    """Load an artifact, refusing (``ArtifactError``) anything that is not exactly what was saved.

    The digest is checked before unpickling; see the module docstring for what that protects.
    ``verified``: the bytes :func:`read_artifact` returned for ``path`` (so a caller can refuse
    a bad file at once and unpickle later, e.g. after starting other work). Warns
    ``ArtifactVersionWarning`` if the package or scikit-learn version differs.
    """
    path = Path(path)
    data = read_artifact(path, trust_unsigned=trust_unsigned) if verified is None else verified
    try:
        payload = joblib.load(io.BytesIO(data))
    except EOFError as exc:
        raise ArtifactError(f"{path}: file is truncated (unexpected end of data)") from exc
    except Exception as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ArtifactError(f"{path}: cannot unpickle the artifact ({reason[:200]})") from exc

    if not (
        isinstance(payload, dict)
        and payload.get("format") == FORMAT
        and "model" in payload
        and isinstance(payload.get("metadata"), dict)
    ):
        raise ArtifactError(
            f"{path}: not an article-quality artifact (expected a dict with format={FORMAT!r}, "
            f"got {type(payload).__name__})"
        )
    model = payload["model"]
    if not hasattr(model, "predict"):
        raise ArtifactError(
            f"{path}: artifact holds a {type(model).__name__}, not a fitted estimator"
        )
    metadata: dict[str, Any] = payload["metadata"]
    _warn_on_version_drift(path, metadata)
    return Artifact(model=model, metadata=metadata, path=path)


def read_artifact(path: str | os.PathLike[str], *, trust_unsigned: bool = False) -> bytes:
    """The artifact's bytes, once its digest and structure check out (nothing is unpickled).

    Cheap (no scikit-learn import): every refusal of a missing, truncated or tampered file
    happens here. Pass the result to :func:`load_artifact` as ``verified``.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: model not found; train one first with `score train`")
    if not path.is_file():
        raise ArtifactError(f"{path}: model artifact is not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read model artifact: {exc.strerror or exc}") from exc

    side = sidecar_path(path)
    if side.exists():
        expected = _read_sidecar(path, side)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ArtifactError(
                f"{path}: changed since `score train` saved it ({_what_changed(data)}: its sha256 "
                f"does not match {side.name}); refusing to unpickle it. Re-run `score train`, "
                "or restore the file"
            )
    elif not trust_unsigned:
        raise ArtifactError(
            f"{path}: digest sidecar {side.name} is missing; refusing to unpickle an unverified "
            "file (re-run `score train` to write the model and its sidecar together)"
        )

    if not data:
        raise ArtifactError(f"{path}: file is empty (truncated)")
    if not _looks_like_pickle(data):
        raise ArtifactError(f"{path}: not a joblib artifact (unrecognised header)")
    if not data.endswith(b"."):
        raise ArtifactError(f"{path}: file is truncated (pickle stream does not end)")

    return data


def _warn_on_version_drift(path: Path, metadata: Mapping[str, Any]) -> None:
    running = _running_versions()
    for key, label in (("package_version", "article-quality"), ("sklearn_version", "scikit-learn")):
        saved = metadata.get(key)
        if saved != running[key]:
            warnings.warn(
                f"{path}: saved with {label} {saved}, running {running[key]}; "
                "predictions may differ - retrain or pin the version",
                ArtifactVersionWarning,
                stacklevel=3,
            )


# --------------------------------------------------------------------------- model card


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def model_card(artifact: Artifact) -> str:
    """A short human-readable description of an artifact (for ``score inspect`` and reports)."""
    meta = dict(artifact.metadata)
    lines = [f"Model card: {artifact.path}", "=" * min(78, 12 + len(str(artifact.path)))]
    lines.append(f"model: {meta.pop('model_class', type(artifact.model).__name__)}")
    metrics = meta.pop("metrics", None)
    top = meta.pop("top_features", None)
    features = meta.pop("features", None)
    reference = meta.pop("explain_reference", None)

    lines.append("")
    lines.append("metadata:")
    for key in sorted(meta):
        lines.append(f"  {key}: {_format_value(meta[key])}")

    if isinstance(features, list):
        lines.append("")
        shown = ", ".join(map(str, features[:20]))
        more = f", ... (+{len(features) - 20})" if len(features) > 20 else ""
        lines.append(f"features ({len(features)}): {shown}{more}")
    elif features is not None:
        lines.append(f"features: {_format_value(features)}")

    if isinstance(reference, dict):
        lines.append(f"explanation reference: a typical training record ({len(reference)} fields)")

    if isinstance(metrics, dict) and metrics:
        lines.append("")
        lines.append("metrics:")
        width = max(len(str(k)) for k in metrics)
        for key, value in metrics.items():
            lines.append(f"  {key!s:<{width}}  {_format_value(value)}")
    elif metrics is not None:
        lines.append(f"metrics: {_format_value(metrics)}")

    if top:
        lines.append("")
        lines.append("top features:")
        entries = list(top.items()) if isinstance(top, dict) else list(top)
        for i, entry in enumerate(entries, 1):
            if isinstance(entry, list | tuple) and len(entry) == 2:
                lines.append(f"  {i:>2}. {entry[0]}  {_format_value(entry[1])}")
            else:
                lines.append(f"  {i:>2}. {_format_value(entry)}")
    return "\n".join(lines) + "\n"


def describe(path: str | os.PathLike[str]) -> str:
    """The model card of the artifact at ``path`` (what `score inspect` prints)."""
    return model_card(load_artifact(path))
