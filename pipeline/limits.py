"""Caps that keep hostile or broken input from exhausting memory; each one is reported when hit."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
MAX_ABS_SCORE = 1_000_000  # far beyond any scale seen (11-189); past it a value is not a score


@dataclass(frozen=True)
class Limits:
    """Input caps. A record, file or member over a cap becomes a reported error, never truncated."""

    max_file_bytes: int = 64 * MiB  # one file, or one decompressed file or archive member
    max_line_bytes: int = 8 * MiB  # one JSON Lines line
    max_field_chars: int = 1 * MiB  # one string field of a record (title, excerpt, body...)
    max_archive_members: int = 100_000  # members read from one archive
    max_archive_bytes: int = 1024 * MiB  # total inflated bytes read from one archive
    max_archive_depth: int = 2  # archives inside archives
    max_yaml_alias_expansions: int = 100  # per anchor; a few are normal, a bomb needs millions
    max_yaml_replayed_events: int = 10_000  # total events replayed through aliases in one header
    max_records_per_file: int = 1_000_000  # records in one JSON array / feed page / JSONL file
    max_batch_bytes: int = 32 * MiB  # input bytes parsed together (one unit of work)


DEFAULT_LIMITS = Limits()
