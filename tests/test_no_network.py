"""Loading, training and scoring never touch the network.

Network sockets are blocked (``socket.socket`` for AF_INET/AF_INET6, ``create_connection``,
``getaddrinfo``, ``connect``): any attempt raises and is recorded, and the test fails if one
was made. Local AF_UNIX socket pairs stay allowed - multiprocessing uses them for the parallel
loader's worker pipes, and they cannot leave the machine. The Dask engine of ``score predict``
talks to its scheduler over TCP by design and is not covered here.

Two layers: in this process with ``monkeypatch`` (load with 1 and 2 worker processes, train,
save, load, predict, the CLI), and a fresh interpreter that blocks sockets *before* importing
anything, so import-time network use would be caught too.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline import model as quality_model
from pipeline.artifact import load_artifact
from pipeline.load import load_records
from pipeline.model import train_and_save

NETWORK_FAMILIES = {socket.AF_INET, socket.AF_INET6}


class NetworkUsed(AssertionError):
    """Raised by the guard when code tries to reach the network."""


def record(i: int) -> str:
    """A small made-up record with a known quality."""
    return (
        "---\n"
        f'title: "Article {i} on chips{" and AI" if i % 2 else ""}"\n'
        f'excerpt: "Short excerpt {i}"\n'
        f"publishedDateTime: 2022-02-{i % 28 + 1:02d}T08:00:00Z\n"
        f'webUrl: "https://news{i % 3}.example/{i}"\n'
        f"quality: {30 + (i * 11) % 90}\n"
        f"provider:\n  name: News {i % 3}\n  domain: news{i % 3}.example\n"
        "---\n\n"
        f"Body {i}\n"
    )


@pytest.fixture
def records(tmp_path: Path) -> Path:
    """30 records in a folder."""
    folder = tmp_path / "site"
    folder.mkdir()
    for i in range(30):
        (folder / f"r{i:02d}.md").write_text(record(i), encoding="utf-8")
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Block network sockets for the test; returns the list of attempts (should stay empty)."""
    attempts: list[str] = []
    real_socket = socket.socket

    def refuse(what: str) -> None:
        attempts.append(what)
        raise NetworkUsed(f"network access attempted: {what}")

    class GuardedSocket(real_socket):  # type: ignore[misc, valid-type]
        def __init__(self, family: Any = -1, *args: Any, **kwargs: Any) -> None:
            if family in NETWORK_FAMILIES or family == -1:
                refuse(f"socket(family={family})")
            super().__init__(family, *args, **kwargs)

        def connect(self, address: Any) -> None:
            if self.family in NETWORK_FAMILIES:
                refuse(f"connect({address!r})")
            super().connect(address)

    monkeypatch.setattr(socket, "socket", GuardedSocket)
    monkeypatch.setattr(
        socket,
        "create_connection",
        lambda address, *a, **k: refuse(f"create_connection({address})"),
    )
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: refuse(f"getaddrinfo({host})"))
    monkeypatch.setattr(
        socket, "gethostbyname", lambda host, *a, **k: refuse(f"gethostbyname({host})")
    )
    return attempts


def test_guard_blocks_network(no_network: list[str]) -> None:
    """The guard itself works: TCP and DNS are refused, a local socket pair is not."""
    with pytest.raises(NetworkUsed):
        socket.create_connection(("example.org", 80))
    with pytest.raises(NetworkUsed):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    a, b = socket.socketpair()
    a.close()
    b.close()
    assert len(no_network) == 2
    no_network.clear()


def test_load_train_save_predict_offline(
    records: Path, tmp_path: Path, no_network: list[str]
) -> None:
    """The whole library path, parallel loading included, with the network blocked."""
    serial = load_records([str(records)], jobs=1)
    parallel = load_records([str(records)], jobs=2)
    assert not serial.errors and len(serial.frame) == 30
    assert parallel.frame["id"].tolist() == serial.frame["id"].tolist()
    fitted = quality_model.train(serial.frame)
    assert len(quality_model.predict(fitted, serial.frame)) == 30
    saved = train_and_save(serial.frame, tmp_path / "m.joblib", importance=False).path
    artifact = load_artifact(saved)
    assert len(artifact.predict(serial.frame)) == 30
    assert no_network == []


def test_cli_offline(records: Path, tmp_path: Path, no_network: list[str]) -> None:
    """`score load`, `score train`, `score inspect` and `score predict` with no network."""
    from pipeline.cli import app

    runner = CliRunner()
    model = tmp_path / "m.joblib"
    out = tmp_path / "out.jsonl"
    runs = [
        ["load", str(records), "--out", str(tmp_path / "records.jsonl")],
        ["train", str(records), "--model", str(model)],
        ["inspect", "--model", str(model)],
        ["predict", str(records), "--model", str(model), "--out", str(out)],
    ]
    for args in runs:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.stderr, result.exception)
    assert no_network == []


CHILD = textwrap.dedent(
    """
    import socket, sys
    attempts = []
    real = socket.socket
    def refuse(what):
        attempts.append(what)
        raise OSError("network blocked: " + what)
    class Guarded(real):
        def __init__(self, family=-1, *a, **k):
            if family in (socket.AF_INET, socket.AF_INET6, -1):
                refuse("socket")
            super().__init__(family, *a, **k)
    socket.socket = Guarded
    socket.create_connection = lambda *a, **k: refuse("create_connection")
    socket.getaddrinfo = lambda *a, **k: refuse("getaddrinfo")
    from pipeline.load import load_records      # imports happen with the network blocked
    from pipeline.model import train_and_save
    from pipeline.artifact import load_artifact
    frame = load_records([sys.argv[1]], jobs=2).frame
    path = train_and_save(frame, sys.argv[2], importance=False).path
    print(len(load_artifact(path).predict(frame)), len(attempts))
    """
)


def test_fresh_interpreter_offline(records: Path, tmp_path: Path) -> None:
    """Sockets blocked before any import: imports, load, train, save, predict stay offline."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(records), str(tmp_path / "m.joblib")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["30", "0"]
