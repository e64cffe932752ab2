"""Glob patterns: glob's own matches, but no symlinked folder is entered or matched."""

from __future__ import annotations

import glob
import os
import random
import time
from pathlib import Path

import pytest

from pipeline.load.globs import expand, literal_root

PATTERNS = [
    "t/*",
    "t/**",
    "t/**/*.md",
    "t/*/*.md",
    "t/**/.*",
    "t/.*/*",
    "t/a/**/d.md",
    "t/[ab]/*.md",
    "t/?/*",
    "t/**/sub",
    "t/**/",
    "t/**/*",
    "*/a/*.md",
    "t/sub/**/*.txt",
]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_without_links_the_matches_are_globs(tmp_path: Path, monkeypatch, seed: int) -> None:
    rng = random.Random(seed)
    monkeypatch.chdir(tmp_path)
    for _ in range(150):
        parts = [rng.choice(["a", "b", ".h", "sub", "deep"]) for _ in range(rng.randint(0, 3))]
        folder = Path("t", *parts)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / rng.choice(["c.md", "d.md", ".e.md", "x.txt"])).touch()
    for pattern in PATTERNS:
        assert expand(pattern) == sorted(glob.glob(pattern, recursive=True)), pattern
        absolute = str(tmp_path / pattern)
        assert expand(absolute) == sorted(glob.glob(absolute, recursive=True)), absolute


def test_self_links_neither_trap_nor_repeat(tmp_path: Path) -> None:
    """Two links to the folder itself: glob.glob repeats every file through them for
    minutes; here each file comes once, at once."""
    d = tmp_path / "d"
    (d / "x").mkdir(parents=True)
    (d / "a.md").touch()
    (d / "x" / "b.md").touch()
    os.symlink(d, d / "loop1")
    os.symlink(d, d / "x" / "loop2")
    start = time.monotonic()
    found = expand(str(d / "**" / "*.md"))
    assert time.monotonic() - start < 5
    assert found == [str(d / "a.md"), str(d / "x" / "b.md")]


def test_a_link_to_another_tree_is_not_matched(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.md").touch()
    d = tmp_path / "d"
    d.mkdir()
    (d / "mine.md").touch()
    os.symlink(outside, d / "link")
    assert expand(str(d / "**" / "*.md")) == [str(d / "mine.md")]
    assert expand(str(d / "*" / "*.md")) == []
    assert expand(str(d / "*")) == [str(d / "mine.md")]  # the linked folder is not a match


def test_the_literal_start_may_be_a_link(tmp_path: Path) -> None:
    """What the user typed is theirs to point anywhere; only what a pattern finds is checked."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.md").touch()
    os.symlink(real, tmp_path / "named")
    assert expand(str(tmp_path / "named" / "*.md")) == [str(tmp_path / "named" / "a.md")]
    assert literal_root(str(tmp_path / "named" / "**" / "*.md")) == str(tmp_path / "named")
    assert literal_root("*.md") == "."
