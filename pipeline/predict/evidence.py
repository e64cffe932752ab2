"""What the input says of sites the model knows little of: the scored related entries it holds.

Why a first look: a record of a site never seen cannot be placed on its site's scale from
itself, but the scored related entries of the site's records can place the whole site (a few
dozen do it exactly). So before scoring, the records of such sites are read once for their
related entries (only those sites' files, and at most :data:`ENTRIES_PER_SITE` entries each;
a site whose first :data:`BARE_AFTER` records carry none is not read further);
the model takes them in (:meth:`SiteRuleRegressor.adapt`), and every batch is then scored
with the same estimate -- the output does not depend on batch sizes or engines. Standard
input cannot be read twice: its new sites get the pooled estimate, and the run says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from pipeline.features.cells import entries
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.load.columns import columns_to_frame, empty_frame
from pipeline.load.parse import jsonl_chunks
from pipeline.load.sources import Source
from pipeline.load.units import CHUNK_SIZE, ParseSettings, Unit, parse_unit
from pipeline.load.walk import iter_sources

ENTRIES_PER_SITE = 20_000  # related entries read per site: far more than a site's level needs
RECORDS_PER_SITE = 20_000  # records read per site at most, whatever they hold
BARE_AFTER = 1_000  # records of a site read without one related entry: its records carry none
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "id", "site", "title", "topics", "url", "provider_name", "provider_domain",
    "image_count", "amp_url", "related",
)  # fmt: skip


@dataclass
class Evidence:
    """The records read for their related entries, whether standard input was left out, and
    the sites whose records held scored related entries (the ones they can place)."""

    records: pd.DataFrame
    unread_stdin: bool = False
    sites: list[str] = field(default_factory=list)


def gather(
    paths: Sequence[str],
    needs: Callable[[str], bool],
    *,
    site: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    per_site: int = ENTRIES_PER_SITE,
    records_per_site: int = RECORDS_PER_SITE,
    bare_after: int = BARE_AFTER,
) -> Evidence:
    """Read the records of the sites ``needs`` names (their folder, or ``site`` for all),
    in input order, until each has ``per_site`` scored related entries, or has shown in
    ``bare_after`` records that it carries none, or the input ends.

    Files are parsed together in units of :data:`CHUNK_SIZE` files or ``max_batch_bytes``, as
    the loader cuts them (one frame per file made this pass slower than scoring the input),
    so what is held at once is bounded by the caps however many sites the input has."""
    frames: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    read: dict[str, int] = {}
    pending: list[Source] = []
    held = 0  # bytes of the pending files
    cut = min(limits.max_batch_bytes, limits.max_archive_bytes)
    unread_stdin = False
    settings = ParseSettings(limits)

    def done(name: str) -> bool:
        entries_seen = counts.get(name, 0)
        records_seen = read.get(name, 0)
        return (
            entries_seen >= per_site
            or records_seen >= records_per_site
            or (entries_seen == 0 and records_seen >= bare_after)
        )

    def take(unit: Unit) -> None:
        columns, _ = parse_unit(unit, settings)  # errors: the scoring pass reports them
        frame = columns_to_frame(columns)
        if site is not None:
            frame = frame.assign(site=pd.array([site] * len(frame), dtype="string"))
        frames.append(frame[list(EVIDENCE_COLUMNS)])
        for name, part in frame.groupby("site", sort=False):
            counts[str(name)] = counts.get(str(name), 0) + sum(
                map(len, map(entries, part["related"]))
            )
            read[str(name)] = read.get(str(name), 0) + len(part)

    walk_sites = None if site is not None else needs  # folders of other sites: files not listed
    for source in iter_sources(list(paths), limits, sites=walk_sites):
        if not isinstance(source, Source):
            continue  # an error found while walking: the scoring pass reports it
        name = site or source.site
        if not needs(name) or done(name):
            continue
        if source.stdin:  # read once, by the scoring pass
            unread_stdin = True
            continue
        if source.kind == "jsonl":
            if pending:  # the files before it first: records are taken in input order
                take(pending)
                pending, held = [], 0
            for chunk in jsonl_chunks(source, limits, CHUNK_SIZE):
                take(chunk)
                if done(name):
                    break
            continue
        pending.append(source)
        held += len(source.data) if source.data is not None else source.size
        if len(pending) >= CHUNK_SIZE or held >= cut:  # as the loader cuts its units
            take(pending)
            pending, held = [], 0
    if pending:
        take(pending)
    records = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    placed = sorted(name for name, count in counts.items() if count > 0)
    return Evidence(records, unread_stdin, placed)
