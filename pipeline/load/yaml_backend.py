"""A fast, bomb-proof YAML backend for python-frontmatter's handler interface.

python-frontmatter stays the format layer (delimiters, splitting); only the YAML parse is
swapped: yaml-rs (Rust) parses these headers faster than PyYAML's C loader and caps alias
expansion natively. PyYAML's C loader (or its pure-Python loader) is the fallback when yaml-rs
is not installed, and the second opinion when yaml-rs rejects a header, so both backends
accept the same documents. ``tests/load/test_corpus.py`` checks both give identical values on
the corpus.

Both backends read plain scalars alike: PyYAML through ``yaml_core.CoreSchemaLoader``, which
resolves them as yaml-rs does (YAML 1.2 core: ``no`` and ``1:20`` are text, ``017`` is 17,
``1e3`` a number). Neither turns scalars into dates: a time is text at this layer, and the
schema reads it (``normalize._timestamp``) only in the fields that hold times, as it does for
JSON. So a title "2021-05-10" is text whether quoted or not (yaml-rs resolves even *quoted*
scalars like "2021-05-10" to dates unless told not to).
"""

from __future__ import annotations

from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from pipeline.errors import RecordError, one_line
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.load.yaml_core import CoreSchemaLoader

try:  # pragma: no cover - exercised by whichever backend is installed
    import yaml_rs
except ImportError:  # pragma: no cover
    yaml_rs = None


def _needs_pyyaml(text: str) -> bool:
    """Headers yaml-rs would read wrongly, so PyYAML reads them: ``<<`` merge keys (yaml-rs
    keeps "<<" as a key, so merged fields go missing; any "<<" counts, "<< :" included) and
    tags, which yaml-rs ignores (``!!binary``, ``!local``, ``!<verbatim>``, a tagged
    document) where PyYAML builds or refuses the value. Neither occurs in the corpus."""
    return ("<" in text and "<<" in text) or _has_tag(text, "!", " \t\n[{,:")


def _has_tag(text: str, bang: str, leads: str) -> bool:
    """A "!" where a tag can start: first, or after a space, tab, newline, "[", "{", "," or
    ":" (``{"a":!t 1}``). "Wow!" in a title is not one, and a false alarm ("Hei !") costs
    nothing: PyYAML reads plain values as yaml-rs does."""
    at = text.find(bang)
    while at != -1:
        if at == 0 or text[at - 1 : at] in leads:
            return True
        at = text.find(bang, at + 1)
    return False


def _pyyaml_load(text: str, line_offset: int) -> Any:
    try:
        return yaml.load(text, Loader=CoreSchemaLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or one_line(exc)
        if mark is not None:
            raise RecordError(
                f"YAML does not parse at line {mark.line + 1 + line_offset}: {problem}"
            ) from None
        raise RecordError(f"YAML does not parse: {one_line(problem)}") from None
    except (ValueError, OverflowError) as exc:  # a constructor refused a value (date 2021-13-45)
        raise RecordError(f"YAML value not valid: {one_line(exc, 120)}") from None
    except (AttributeError, KeyError, IndexError, TypeError) as exc:
        # SafeLoader's constructors crash on some explicitly tagged scalars instead of raising
        # a YAMLError: "!!timestamp x" (AttributeError), "!!bool x" (KeyError), '!!int ""' or
        # "!!int -" (IndexError). The value is bad, not the batch.
        raise RecordError(
            f"YAML value not valid for its tag ({type(exc).__name__}: {one_line(exc, 80)})"
        ) from None


def _count_aliases(text: str) -> bool:
    return "*" in text and "&" in text


class FastYAMLHandler(YAMLHandler):
    """YAML front matter handler using yaml-rs with alias caps, PyYAML as fallback."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS, *, backend: str = "auto") -> None:
        super().__init__()
        self.limits = limits
        self.backend = "pyyaml" if backend == "pyyaml" or yaml_rs is None else "yaml-rs"
        self.line_offset = 1  # the opening "---" line precedes the header
        if self.backend == "yaml-rs":
            # How yaml-rs reads every header.
            self._yaml_rs_options: dict[str, Any] = {
                "parse_datetime": False,
                "alias_limits": yaml_rs.AliasLimits(
                    max_alias_expansions_per_anchor=limits.max_yaml_alias_expansions,
                    max_total_replayed_events=limits.max_yaml_replayed_events,
                ),
                "duplicate_key_policy": yaml_rs.DuplicateKeyPolicy.LastWins,  # as PyYAML does
            }

    def split(self, text: str) -> tuple[str, str]:
        """Split on the first two '---' lines; a plain scan, faster than the handler's regex."""
        first = text.find("\n")
        if first == -1 or text[:first].strip("-").strip() or not text.startswith("---"):
            raise ValueError("no opening delimiter")
        start = first + 1
        position = start
        while True:
            end = text.find("\n---", position - 1)
            if end == -1:
                raise ValueError("no closing delimiter")
            line_end = text.find("\n", end + 1)
            line = text[end + 1 : line_end if line_end != -1 else len(text)]
            if not line.strip("-").strip():
                header = text[start : end + 1] if end + 1 > start else ""
                return header, text[line_end + 1 :] if line_end != -1 else ""
            position = end + 2

    def load(self, fm: str, **kwargs: object) -> Any:
        if self.backend == "pyyaml" or _needs_pyyaml(fm):
            if _count_aliases(fm):
                _check_aliases_pyyaml(fm, self.limits)
            return _pyyaml_load(fm, self.line_offset)
        try:
            return yaml_rs.loads(fm, **self._yaml_rs_options)
        except yaml_rs.YAMLDecodeError as exc:
            message = str(exc)
            if "alias" in message and "limit" in message:
                raise RecordError(
                    f"YAML alias expansion over the cap ({one_line(message)})"
                ) from None
            # A second opinion: accept what PyYAML accepts, report PyYAML's located message.
            if _count_aliases(fm):
                _check_aliases_pyyaml(fm, self.limits)
            return _pyyaml_load(fm, self.line_offset)


def _check_aliases_pyyaml(text: str, limits: Limits) -> None:
    """Refuse alias bombs before PyYAML builds them (PyYAML itself has no cap).

    Counting alias *tokens* is not enough: the classic billion laughs has only 90 aliases, yet
    each one replays a node that itself holds aliases. So, as yaml-rs does, count the events
    each alias replays (the size of its anchored node, aliases inside it expanded) and cap
    both the uses of one anchor and the total replayed.
    """
    sizes: dict[str, int] = {}  # anchor -> events its node expands to
    uses: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, position of the start event)
    position = 0  # events so far, aliases expanded
    replayed = 0
    try:
        for event in yaml.parse(text, Loader=CoreSchemaLoader):
            if isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor, 1)
                uses[event.anchor] = uses.get(event.anchor, 0) + 1
                replayed += size
                position += size
                if uses[event.anchor] > limits.max_yaml_alias_expansions:
                    raise RecordError(
                        f"YAML alias expansion over the cap (anchor '{event.anchor}' used more "
                        f"than {limits.max_yaml_alias_expansions} times)"
                    )
                if replayed > limits.max_yaml_replayed_events:
                    raise RecordError(
                        f"YAML alias expansion over the cap (aliases replay more than "
                        f"{limits.max_yaml_replayed_events} events)"
                    )
                continue
            position += 1
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                open_nodes.append((event.anchor, position))
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                anchor, start = open_nodes.pop()
                if anchor is not None:
                    sizes[anchor] = position - start + 1
            elif isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                sizes[event.anchor] = 1
    except yaml.YAMLError:
        return  # the real load reports the syntax error with its line
