"""Every crash the fuzzer (fuzz/fuzz_records.py) found, kept as a regression test.

Two layers:

* hand-made minimal reproductions of each crash class, built here with :mod:`zipfile`, so the
  test says what was wrong without a binary blob;
* the fuzzer's own crash inputs (``fuzz/regressions/*.bin``, first byte = harness target)
  replayed through the public loader (written to disk, and nested inside a tar archive), and
  through the harness itself when atheris is installed.

Crashes found so far (all in the archive reader, :mod:`pipeline.load.archives`; each one used to
abort the whole load instead of becoming an error entry):

* ``zip_future_version``: a central directory entry claiming "needs zip version 23.5" made
  ``zipfile.ZipFile()`` raise ``NotImplementedError``.
* ``zip_negative_header_offset``: an end-of-central-directory record pointing past the central
  directory made the member's header offset negative; on in-memory data (an archive inside an
  archive) the seek raised ``ValueError``.
* ``zip_empty_member_name``: a member with an empty file name made ``ZipInfo.is_dir()`` raise
  ``IndexError``.

And in the YAML fallback (:mod:`pipeline.yaml_backend`, also the "second opinion" behind
yaml-rs, which rejects these tags), found with the token dictionary in run 4:

* ``yaml_timestamp_tag_on_text``: an explicit tag on a scalar that does not fit it made PyYAML's
  safe constructors crash instead of raising a YAMLError - ``!!timestamp x`` (AttributeError),
  ``!!bool x`` (KeyError), ``!!int ""`` / ``!!int "-"`` / ``!!float ""`` (IndexError) - and one
  such header aborted the whole load. Write-back's own check parse had the same hole (and let
  a ValueError such as ``title: 2021-13-45`` escape as a non-``WriteBackError``).

And one false alarm of the harness, kept because the case is worth pinning down:

* ``edit_cr_only_line_endings``: a file whose lines end in a lone ``\r`` (old Mac style). The
  harness assumed ``\n`` line ends; write-back is right to treat ``\r`` as a line end (as the
  loader and YAML do): the field goes on a line of its own ending in ``\r``.
"""

from __future__ import annotations

import importlib.util
import io
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import tar_bytes

from pipeline.errors import LoadError
from pipeline.io.frontmatter import WriteBackError, edit_front_matter
from pipeline.io.writeback import write_back
from pipeline.limits import Limits
from pipeline.load import load_records
from pipeline.load.archives import archive_sources
from pipeline.load.sources import Source
from pipeline.schema import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = sorted((ROOT / "fuzz" / "regressions").glob("*.bin"))
GOOD = b'---\ntitle: "good"\nwebUrl: "https://example.org/good"\nquality: 50\n---\nbody\n'
# The harness's first byte -> the file suffix a payload is loaded under.
TARGET_SUFFIX = {0: "md", 1: "md", 2: "json", 3: "jsonl", 4: "zip", 5: "tar"}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    return tar_bytes(members.items())


def zip_future_version() -> bytes:
    """A zip whose central directory says it needs zip version 23.5 to extract."""
    data = bytearray(_zip({"a.md": GOOD}))
    central = data.index(b"PK\x01\x02")
    data[central + 6] = 235  # "version needed to extract"
    return bytes(data)


def zip_negative_header_offset() -> bytes:
    """A zip whose end record places the central directory 500 bytes too far on."""
    data = bytearray(_zip({"a.md": GOOD}))
    end = data.index(b"PK\x05\x06")
    (offset,) = struct.unpack("<I", data[end + 16 : end + 20])
    data[end + 16 : end + 20] = struct.pack("<I", offset + 500)
    return bytes(data)


def zip_empty_member_name() -> bytes:
    """A zip with a member whose name is empty, beside a good member."""
    return _zip({"": b"x", "a.md": GOOD})


CASES: dict[str, Callable[[], bytes]] = {
    "zip_future_version": zip_future_version,
    "zip_negative_header_offset": zip_negative_header_offset,
    "zip_empty_member_name": zip_empty_member_name,
}


def _check(items: list[object]) -> list[LoadError]:
    """Only sources and one-line errors come out of the archive walk; return the errors."""
    errors = []
    for item in items:
        assert isinstance(item, Source | LoadError), item
        if isinstance(item, LoadError):
            assert item.reason and "\n" not in item.reason
            errors.append(item)
    return errors


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_zip_is_an_error_not_a_crash(case: str, tmp_path: Path) -> None:
    """In memory, on disk and nested in a tar: reported, and the folder's good file is kept."""
    data = CASES[case]()
    for walk in (
        lambda: archive_sources("x.zip", data, Limits(), depth=0),
        lambda: archive_sources("outer.tar", _tar({"x.zip": data}), Limits(), depth=0),
    ):
        _check(list(walk()))
    (tmp_path / "x.zip").write_bytes(data)
    (tmp_path / "y.tar").write_bytes(_tar({"inner.zip": data}))
    (tmp_path / "good.md").write_bytes(GOOD)
    result = load_records([str(tmp_path)], jobs=1)
    assert str(tmp_path / "good.md") in set(result.frame["source"])
    assert list(result.frame.columns) == list(COLUMNS)


def test_future_version_is_reported_as_unreadable_archive() -> None:
    """The zip is refused as a whole, with the reason, not silently skipped."""
    errors = _check(list(archive_sources("x.zip", zip_future_version(), Limits(), depth=0)))
    assert len(errors) == 1 and "unreadable archive" in errors[0].reason
    assert "23.5" in errors[0].reason


def test_negative_offset_is_reported_per_member() -> None:
    """The member is an error naming it; it is not silently dropped."""
    data = _tar({"inner.zip": zip_negative_header_offset()})
    errors = _check(list(archive_sources("outer.tar", data, Limits(), depth=0)))
    assert [e.source for e in errors] == ["outer.tar::inner.zip::a.md"]
    assert "unreadable member" in errors[0].reason


def test_empty_member_name_keeps_the_good_member() -> None:
    """The nameless member is skipped (no known suffix); the good member is still read."""
    items = list(archive_sources("x.zip", zip_empty_member_name(), Limits(), depth=0))
    assert not _check(items)
    assert [item.name for item in items if isinstance(item, Source)] == ["x.zip::a.md"]


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_fuzzer_crash_inputs_replay_cleanly(path: Path, tmp_path: Path) -> None:
    """The fuzzer's own crash inputs, loaded from disk the way a user would meet them."""
    raw = path.read_bytes()
    target, payload = raw[0] % 7, raw[1:]
    suffix = TARGET_SUFFIX.get(target)
    if suffix is None:  # a write-back target: replayed by the harness test below
        return
    (tmp_path / f"x.{suffix}").write_bytes(payload)
    (tmp_path / "nested.tar").write_bytes(_tar({f"x.{suffix}": payload}))
    (tmp_path / "good.md").write_bytes(GOOD)
    result = load_records([str(tmp_path)], jobs=1)
    assert str(tmp_path / "good.md") in set(result.frame["source"])
    assert all(e.reason and "\n" not in e.reason for e in result.errors)


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_fuzzer_crash_inputs_pass_the_harness(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay each input through the harness itself, with all its invariants."""
    monkeypatch.syspath_prepend(str(ROOT / "fuzz"))
    monkeypatch.setattr(sys, "argv", ["fuzz_records.py"])
    harness = importlib.import_module("fuzz_records")
    for path in REGRESSIONS:
        harness.run_one(path.read_bytes())


def test_write_back_into_cr_only_file(tmp_path: Path) -> None:
    """Lone-CR line ends: one line added with a CR end, the rest byte-identical, still loads."""
    data = b'---\rtitle: "t"\rquality: 5\r---\rbody\r'
    new = edit_front_matter(data, "quality_pred", 7)
    assert new == b'---\rtitle: "t"\rquality: 5\rquality_pred: 7\r---\rbody\r'
    (tmp_path / "x.md").write_bytes(new)
    frame = load_records([str(tmp_path)]).frame
    assert frame["title"].tolist() == ["t"] and frame["quality"].tolist() == [5]


BAD_TAGS = ["!!timestamp x", "!!bool x", '!!int ""', '!!int "-"', "!!int _", '!!float ""', "!!int"]


@pytest.mark.parametrize("backend", ["auto", "pyyaml"])
def test_tagged_scalar_that_does_not_fit_is_an_error(backend: str, tmp_path: Path) -> None:
    """Each header is one error entry with a reason; the good record beside them is kept."""
    for i, tag in enumerate(BAD_TAGS):
        (tmp_path / f"t{i}.md").write_text(f"---\ntitle: {tag}\nquality: 3\n---\nbody\n")
    (tmp_path / "good.md").write_bytes(GOOD)
    result = load_records([str(tmp_path)], jobs=1, yaml_backend=backend)
    assert result.frame["source"].tolist() == [str(tmp_path / "good.md")]
    assert sorted(e.source for e in result.errors) == sorted(
        str(tmp_path / f"t{i}.md") for i in range(len(BAD_TAGS))
    )
    assert all("YAML value not valid" in e.reason for e in result.errors)


@pytest.mark.parametrize("tag", [*BAD_TAGS, "!!timestamp 2021-13-45"])
def test_write_back_refuses_bad_tagged_values_cleanly(tag: str, tmp_path: Path) -> None:
    """Write-back refuses with its own one-line error and leaves the file as it was."""
    path = tmp_path / "x.md"
    data = f"---\ntitle: {tag}\n---\nbody\n".encode()
    path.write_bytes(data)
    with pytest.raises(WriteBackError, match="invalid value"):
        write_back(path, "quality_pred", 4.5)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.md"]
