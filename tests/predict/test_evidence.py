"""The evidence pass: which records `score predict` reads first, for sites it knows little of."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import rule_record, tar_bytes, to_markdown, write, write_rule_jsonl

from pipeline.limits import Limits
from pipeline.load import walk
from pipeline.load.units import CHUNK_SIZE
from pipeline.predict import evidence as evidence_module
from pipeline.predict.evidence import gather


def write_site(root: Path, site: str, n: int, *, related: bool | None = None) -> Path:
    """``n`` Markdown rule records of ``site`` (a folder of that name)."""
    for i in range(n):
        record = rule_record(i, seed=len(site), related=related)
        write(root / site / f"{i:04d}.md", to_markdown(record))
    return root / site


def test_reads_only_the_sites_the_model_asks_for(tmp_path: Path) -> None:
    new = write_site(tmp_path, "new-site", 12)
    known = write_site(tmp_path, "known-site", 12)
    evidence = gather([str(new), str(known)], lambda site: site == "new-site")
    assert evidence.sites == ["new-site"]
    assert set(evidence.records["site"]) == {"new-site"}
    assert len(evidence.records) == 12


def test_stops_once_a_site_has_enough_entries(tmp_path: Path) -> None:
    dump = write_rule_jsonl(tmp_path / "new-site" / "dump.jsonl", 1000, related=True)
    evidence = gather([str(dump.parent)], lambda site: True, per_site=30)
    assert sum(len(r) for r in evidence.records["related"]) >= 30
    assert len(evidence.records) <= CHUNK_SIZE  # the first unit held enough: no more read


def test_files_are_parsed_in_units_bounded_by_bytes(tmp_path: Path) -> None:
    folder = write_site(tmp_path, "new-site", 40, related=True)  # 3 entries each
    smallest = min(path.stat().st_size for path in folder.iterdir())
    limits = Limits(max_batch_bytes=4 * smallest)  # a unit holds at most 4 of these files
    evidence = gather([str(folder)], lambda site: True, per_site=6, limits=limits)
    assert 2 <= len(evidence.records) <= 4  # stopped after the first unit, not at 40 files
    assert len(gather([str(folder)], lambda site: True, per_site=6).records) == 40  # one unit


def test_a_site_without_related_lists_is_not_read_to_the_end(tmp_path: Path) -> None:
    dump = write_rule_jsonl(tmp_path / "new-site" / "dump.jsonl", 600, related=False)
    evidence = gather([str(dump.parent)], lambda site: True, bare_after=100)
    assert 100 <= len(evidence.records) < 600
    assert sum(len(r) for r in evidence.records["related"]) == 0


def test_site_option_names_every_record(tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(json.dumps(rule_record(i, related=True)) for i in range(5)) + "\n")
    evidence = gather([str(dump)], lambda site: site == "mine", site="mine")
    assert evidence.sites == ["mine"]
    assert list(evidence.records["site"]) == ["mine"] * 5


def test_bad_records_are_left_to_the_scoring_pass(tmp_path: Path) -> None:
    folder = write_site(tmp_path, "new-site", 5, related=True)
    write(folder / "broken.md", "---\ntitle: [unclosed\n---\n")
    evidence = gather([str(folder)], lambda site: True)
    assert len(evidence.records) == 5


def test_a_site_whose_records_list_nothing_is_not_said_to_be_placed(tmp_path: Path) -> None:
    folder = write_site(tmp_path, "new-site", 5, related=False)
    evidence = gather([str(folder)], lambda site: True)
    assert len(evidence.records) == 5
    assert evidence.sites == []


def test_files_of_sites_not_wanted_are_never_opened(tmp_path: Path, monkeypatch) -> None:
    """Their folders yield only archives, whose members have sites of their own."""
    write_site(tmp_path, "known", 6, related=True)
    member = to_markdown(rule_record(1, related=True))
    write(tmp_path / "known" / "more.tar", tar_bytes([("new-site/r.md", member)]))
    write_site(tmp_path, "other-new", 3, related=True)
    touched: list[str] = []
    real = walk._file_sources
    monkeypatch.setattr(
        walk, "_file_sources", lambda path, *a, **k: touched.append(path) or real(path, *a, **k)
    )
    evidence = gather([str(tmp_path)], lambda site: site != "known")
    assert any(path.endswith(".md") for path in touched)
    assert all("other-new" in path or path.endswith("more.tar") for path in touched)
    assert sorted(set(evidence.records["site"])) == ["new-site", "other-new"]


def test_what_is_held_at_once_is_bounded_across_sites(tmp_path: Path, monkeypatch) -> None:
    for name in ("a", "b", "c"):
        write_site(tmp_path, name, 10, related=True)
    smallest = min(path.stat().st_size for path in tmp_path.rglob("*.md"))
    units: list[int] = []
    real = evidence_module.parse_unit
    monkeypatch.setattr(
        evidence_module, "parse_unit", lambda unit, s: units.append(len(unit)) or real(unit, s)
    )
    evidence = gather(
        [str(tmp_path)], lambda site: True, limits=Limits(max_batch_bytes=4 * smallest)
    )
    assert len(evidence.records) == 30
    assert max(units) <= 4 and sum(units) == 30
