"""The evidence pass: which records `score predict` reads first, for sites it knows little of."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import rule_record, to_markdown, write, write_rule_jsonl

from pipeline.limits import Limits
from pipeline.load.units import CHUNK_SIZE
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
