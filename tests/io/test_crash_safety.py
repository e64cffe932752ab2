"""Write-back survives being killed midway, and two concurrent runs do not corrupt files.

A child process writes predictions into many Markdown files (``pipeline.io.writeback.write_back``
in a loop, and ``score predict --write-back`` when it exists) and is killed with SIGKILL at a
random moment. Then every file must be exactly one of: the original bytes, or the original with
the field set to one of the values the child was writing (what ``edit_front_matter`` gives) -
so never truncated, never half-written, the rest byte-identical, and the front matter valid.
Re-running finishes the job. Two writers editing different fields of the same folder at the
same time both keep their edits (the per-file lock serialises read-modify-replace).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import yaml
from helpers import SCORE

from pipeline.io.frontmatter import edit_front_matter
from pipeline.io.writeback import write_back
from pipeline.load import load_records

FIELD = "quality_pred"
PASSES = 1000  # the child rewrites every file up to this many times (value p + 0.5 in pass p)
N_FILES = 80
KILLS = int(os.environ.get("CRASH_KILLS", "6"))  # raise it for a longer stress run


def original(i: int) -> bytes:
    """Record i: a mix of LF/CRLF, BOM, nested quality keys, an existing field, long bodies."""
    existing = f"{FIELD}: 99.0\n" if i % 5 == 0 else ""
    text = (
        "---\n"
        f'title: "Record {i}"\n'
        f'webUrl: "https://example.org/{i}"\n'
        f"publishedDateTime: 2022-03-{i % 28 + 1:02d}T00:00:00Z\n"
        f"{existing}"
        "provider:\n  name: Example\n  domain: example.org\n"
        "related:\n  - title: nested\n    quality: 12\n"
        "---\n\n" + f"Body {i} " * (50 + 40 * (i % 7)) + "\n"
    )
    data = text.encode()
    if i % 3 == 1:
        data = data.replace(b"\n", b"\r\n")
    if i % 4 == 2:
        data = b"\xef\xbb\xbf" + data
    return data


def make_folder(root: Path, n: int = N_FILES) -> dict[Path, bytes]:
    """Write the records; return path -> original bytes."""
    root.mkdir(parents=True, exist_ok=True)
    files = {}
    for i in range(n):
        path = root / f"r{i:03d}.md"
        path.write_bytes(original(i))
        files[path] = original(i)
    return files


def updated(data: bytes, field: str, value: object) -> bytes:
    """What a complete write-back of ``value`` makes of ``data``."""
    edited = edit_front_matter(data, field, value)
    return data if edited is None else edited


def check_whole(path: Path, data: bytes, field: str = FIELD, passes: int = PASSES) -> str:
    """The file is untouched, or exactly ``data`` fully updated to a value the child wrote.

    Returns "untouched" or "updated". A torn, truncated or half-written file fails: its front
    matter does not parse, or its bytes differ from the complete edit of its value.
    """
    now = path.read_bytes()
    if now == data:
        return "untouched"
    text = now.decode("utf-8-sig").replace("\r\n", "\n")
    assert text.startswith("---\n") and "\n---\n" in text, f"{path.name}: front matter broken"
    meta = yaml.safe_load(text[4:].split("\n---\n", 1)[0])
    assert isinstance(meta, dict) and meta["title"].startswith("Record"), path.name
    value = meta.get(field)
    assert value in {p + 0.5 for p in range(passes)}, f"{path.name}: {field} = {value!r}"
    assert now == updated(data, field, value), f"{path.name}: not exactly one line changed"
    return "updated"


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipeline.io.writeback import write_back
    field, passes, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    print("ready", flush=True)
    for p in range(passes):
        for name in files:
            write_back(Path(name), field, p + 0.5)
    print("done", flush=True)
    """
)


def start_writer(files: list[Path], field: str = FIELD, passes: int = PASSES) -> subprocess.Popen:
    """Start a child that rewrites every file ``passes`` times; wait until it is running."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, field, str(passes), *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


def temp_leftovers(root: Path) -> list[Path]:
    """Temp files a killed writer may leave (never loaded: their suffix is .tmp)."""
    return sorted(root.glob(".*.tmp"))


def test_sigkill_at_random_points_never_corrupts(tmp_path: Path) -> None:
    """Kill the writer at random moments: each file is original or fully updated; then finish."""
    rng = random.Random(20261126)
    root = tmp_path / "site"
    files = make_folder(root)
    seen: set[str] = set()
    for trial in range(KILLS):
        proc = start_writer(list(files))
        time.sleep(rng.uniform(0.02, 0.3 + 0.1 * (trial % 6)))
        assert proc.poll() is None, "the writer finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        seen.update(check_whole(path, data) for path, data in files.items())
    assert seen == {"updated"} or seen == {"untouched", "updated"}
    # Re-running finishes the job: every file ends with the final value.
    for path in files:
        write_back(path, FIELD, 41.25)
    for path, data in files.items():
        assert path.read_bytes() == updated(data, FIELD, 41.25)
    assert not temp_leftovers(root)  # the re-run removed what the killed runs left
    result = load_records([str(root)])
    assert not result.errors and len(result.frame) == len(files)


def test_killed_runs_leave_at_most_one_temp_copy_per_file(tmp_path: Path) -> None:
    """Copies left by killed writers never pile up; the loader ignores them; a re-run that
    changes nothing still removes them."""
    root = tmp_path / "site"
    files = make_folder(root, 20)
    for trial in range(4):
        proc = start_writer(list(files))
        time.sleep(0.05 + 0.05 * trial)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        leftovers = temp_leftovers(root)
        assert len(leftovers) <= 1
        assert {p.name for p in leftovers} <= {f".{p.name}.wb.tmp" for p in files}
        assert len(load_records([str(root)]).frame) == len(files)
    for path in files:
        write_back(path, FIELD, 199.5)
    assert not temp_leftovers(root)
    first = next(iter(files))
    (root / f".{first.name}.wb.tmp").write_bytes(b"half a reco")  # as a kill mid-write leaves
    assert not write_back(first, FIELD, 199.5)  # nothing to change, the debris still goes
    assert not temp_leftovers(root)


def test_concurrent_writers_keep_both_edits(tmp_path: Path) -> None:
    """Two runs on one folder (different fields, interleaved): no file lost or corrupted."""
    root = tmp_path / "site"
    files = make_folder(root, 40)
    passes = 8
    a = start_writer(list(files), "score_a", passes)
    b = start_writer(list(reversed(files)), "score_b", passes)
    for proc in (a, b):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    final = passes - 1 + 0.5
    for path, data in files.items():
        both = {
            updated(updated(data, "score_a", final), "score_b", final),
            updated(updated(data, "score_b", final), "score_a", final),
        }
        assert path.read_bytes() in both, path.name
    assert not temp_leftovers(root)
    assert not load_records([str(root)]).errors


def test_concurrent_writers_same_field_end_in_one_whole_value(tmp_path: Path) -> None:
    """Two runs writing the same field: each file ends with one run's value, whole."""
    root = tmp_path / "site"
    files = make_folder(root, 30)
    a = start_writer(list(files), FIELD, 5)
    b = start_writer(list(reversed(files)), FIELD, 5)
    for proc in (a, b):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for path, data in files.items():
        assert path.read_bytes() == updated(data, FIELD, 4.5)


def end_orphans(group: int) -> None:
    """SIGKILL what is left of a killed process's group (multiprocessing helpers and workers).

    Workers of a `score predict` killed outright end with it (pipeline.parallel.pool asks the kernel
    for that); anything else left running is reported here and ended.
    """
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    raise AssertionError("score predict killed with SIGKILL left helper processes running")


def test_score_predict_write_back_killed_midway(tmp_path: Path) -> None:
    """SIGKILL `score predict --write-back` once it has started writing; re-run completes it."""
    from pipeline.model import train_and_save

    train = tmp_path / "train"
    train.mkdir()
    for i in range(30):
        data = original(i).replace(b"title:", f"quality: {20 + i * 3}\ntitle:".encode(), 1)
        (train / f"t{i:03d}.md").write_bytes(data)
    frame = load_records([str(train)]).frame
    model = train_and_save(frame, tmp_path / "m.joblib", importance=False).path

    root = tmp_path / "site"
    files = make_folder(root, 120)
    command = [*SCORE, "predict", str(root), "--model", str(model), "--write-back"]
    command += ["--batch-size", "10", "--out", str(tmp_path / "out.csv")]
    # Its own process group, so that helpers it leaves behind can be found and ended.
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    changed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        changed = sum(path.read_bytes() != data for path, data in files.items())
        if changed:
            break
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 0.05))
    assert proc.poll() is None, "predict finished before it could be killed midway"
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
    assert proc.wait(timeout=60) == -signal.SIGKILL
    end_orphans(proc.pid)
    changed = sum(path.read_bytes() != data for path, data in files.items())
    assert 0 < changed < len(files), f"{changed} of {len(files)} files written: not midway"
    predicted: dict[Path, object] = {}
    for path, data in files.items():
        now = path.read_bytes()
        if now == data:
            continue
        meta = yaml.safe_load(now.decode("utf-8-sig").replace("\r\n", "\n").split("\n---\n")[0][4:])
        predicted[path] = meta[FIELD]
        assert now == updated(data, FIELD, meta[FIELD]), path.name  # whole, not torn
    # Re-run: finishes the job; the files already written are byte-for-byte unchanged.
    from typer.testing import CliRunner

    from pipeline.cli import app

    done = CliRunner().invoke(app, command[len(SCORE) :])
    assert done.exit_code == 0, (done.stderr, done.exception)
    for path, data in files.items():
        now = path.read_bytes()
        meta = yaml.safe_load(now.decode("utf-8-sig").replace("\r\n", "\n").split("\n---\n")[0][4:])
        assert isinstance(meta[FIELD], float)
        assert now == updated(data, FIELD, meta[FIELD])
        if path in predicted:
            assert meta[FIELD] == predicted[path]
