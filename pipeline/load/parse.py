"""Parse one source into records or error entries: Markdown front matter, JSON, JSON Lines.

Knows nothing of files or models: it receives a :class:`~pipeline.load.sources.Source`, reads
it through :mod:`pipeline.load.sources`, and yields one dict per article (mapped onto the
schema by :func:`~pipeline.load.normalize.normalize`) or one
:class:`~pipeline.errors.LoadError` per bad part.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.errors import LoadError, RecordError, one_line
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.load.normalize import Record, normalize
from pipeline.load.sources import Source, SourceReadError, open_stream, read_bytes
from pipeline.load.tables import check_known, csv_rows, is_table_row, parquet_rows, table_record
from pipeline.load.yaml_backend import FastYAMLHandler

JSONL_CHUNK_LINES = 250  # lines read ahead of parsing when a JSON Lines source is parsed here

_HANDLERS: dict[tuple[Limits, str], FastYAMLHandler] = {}


def _handler(limits: Limits, backend: str) -> FastYAMLHandler:
    key = (limits, backend)
    if key not in _HANDLERS:
        _HANDLERS[key] = FastYAMLHandler(limits, backend=backend)
    return _HANDLERS[key]


def parse_source(
    source: Source, limits: Limits = DEFAULT_LIMITS, *, yaml_backend: str = "auto"
) -> Iterator[Record | LoadError]:
    """Yield the records of one source, or an error for each bad part of it."""
    try:
        if source.kind == "jsonl":
            yield from _parse_jsonl(source, limits)
            return
        data = read_bytes(source, limits)
        if source.kind == "markdown":
            yield parse_markdown(decode_text(data), source, limits, yaml_backend=yaml_backend)
        elif source.kind == "csv":
            yield from _parse_csv(decode_text(data, line_ends=False), source, limits)
        elif source.kind == "parquet":
            yield from _parse_parquet(data, source, limits)
        else:
            yield from _parse_json_document(decode_text(data), source, limits)
    except (RecordError, SourceReadError) as exc:
        yield LoadError(source.name, str(exc))


def decode_text(data: bytes, *, line_ends: bool = True) -> str:
    """Bytes to text: refuse empty, binary and invalid UTF-8; drop a BOM; CRLF and CR to LF
    (``line_ends``: a CSV's quoted cells keep theirs)."""
    if not data.strip():
        raise RecordError("empty file")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\x00" in data:
        raise RecordError("binary content (NUL bytes), not a text record")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RecordError(f"invalid UTF-8 at line {line} (byte {exc.start})") from None
    if line_ends and "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# --- Markdown with YAML front matter --------------------------------------------------------


def parse_markdown(
    text: str, source: Source, limits: Limits = DEFAULT_LIMITS, *, yaml_backend: str = "auto"
) -> Record:
    """Parse a Markdown record: YAML front matter between ``---`` lines, then the body."""
    handler = _handler(limits, yaml_backend)
    if not handler.detect(text):
        raise RecordError("no front matter (the file must start with a '---' line)")
    try:
        header, body = handler.split(text)
    except ValueError:
        raise RecordError("front matter does not close (no second '---' line)") from None
    meta = handler.load(header)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise RecordError(f"front matter is a {type(meta).__name__}, not a mapping")
    return normalize(meta, body.strip(), source.name, source.site, limits)


# --- JSON: feed pages, single records, arrays, JSON Lines -----------------------------------


def read_object(item: dict[str, Any], name: str, site: str, limits: Limits) -> Record:
    """A JSON object as a record: a feed object, or a row of our own tables (``score load``'s
    JSON Lines); an object with no record field at all is refused."""
    if is_table_row(item):
        return table_record(item, name, site, limits)
    check_known(item)
    return normalize(item, None, name, site, limits)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_unicode(item: Any, suspect: bool) -> None:
    """Refuse a lone surrogate escape ("\\ud800"): valid JSON, but not text any output can hold."""
    if not suspect:
        return
    try:
        json.dumps(item, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError("invalid Unicode: a lone surrogate escape (\\ud800-\\udfff)") from None


def _suspect_surrogates(text: str) -> bool:
    return "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None


def _parse_json_document(text: str, source: Source, limits: Limits) -> Iterator[Record | LoadError]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise RecordError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal over Python's digit limit
        raise RecordError(f"invalid JSON: {one_line(exc, 120)}") from None
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        items = document["value"]  # a feed page: {"page": N, "value": [...]}
    elif isinstance(document, list):
        items = document
    elif isinstance(document, dict):
        _check_unicode(document, _suspect_surrogates(text))
        yield read_object(document, source.name, source.site, limits)
        return
    else:
        raise RecordError(f"JSON top level is a {type(document).__name__}, not a record or list")
    if len(items) > limits.max_records_per_file:
        raise RecordError(f"{len(items)} records in one file > cap {limits.max_records_per_file}")
    suspect = _suspect_surrogates(text)
    for index, item in enumerate(items):
        name = f"{source.name}[{index}]"
        try:
            if not isinstance(item, dict):
                raise RecordError(f"item is a {type(item).__name__}, not a record object")
            _check_unicode(item, suspect)
            yield read_object(item, name, source.site, limits)
        except RecordError as exc:
            yield LoadError(name, str(exc))


@dataclass(frozen=True)
class LinesChunk:
    """Consecutive raw lines of one JSON Lines source, to be parsed apart from the reading.

    The reader (:func:`jsonl_chunks`) only splits lines and applies the per-line and per-file
    caps, so worker processes can do the parsing; ``items`` are raw lines or errors already
    found for a line (too long, over the record cap, unreadable), in line order.
    """

    name: str
    site: str
    first_line: int
    items: list[bytes | LoadError | None]  # None: a blank line

    @property
    def nbytes(self) -> int:
        return sum(len(item) for item in self.items if isinstance(item, bytes))


def jsonl_chunks(source: Source, limits: Limits, size: int) -> Iterator[LinesChunk]:
    """Read a JSON Lines source into chunks of at most ``size`` lines and
    ``max_batch_bytes`` (streamed: memory is bounded by the caps, whatever the dump holds).
    Blank lines are dropped as they are read (a line of spaces can be megabytes)."""
    items: list[bytes | LoadError | None] = []
    held = 0
    first = 1
    number = 0
    try:
        stream = open_stream(source, limits)
    except SourceReadError as exc:  # unreadable, or gone since the walk: one error, go on
        yield LinesChunk(source.name, source.site, 1, [LoadError(source.name, str(exc))])
        return
    try:
        for number, raw in enumerate(_capped_lines(stream, limits.max_line_bytes), start=1):
            name = f"{source.name}:{number}"
            if number > limits.max_records_per_file:
                items.append(
                    LoadError(name, f"more than {limits.max_records_per_file} lines; rest skipped")
                )
                break
            if raw is None:
                items.append(
                    LoadError(name, f"line longer than the cap of {limits.max_line_bytes} bytes")
                )
            elif raw.isspace():
                items.append(None)  # keeps the line numbers of the lines after it
            else:
                items.append(raw)
                held += len(raw)
            if len(items) >= size or held >= limits.max_batch_bytes:
                yield LinesChunk(source.name, source.site, first, items)
                items, first, held = [], number + 1, 0
    except SourceReadError as exc:
        items.append(LoadError(source.name, str(exc)))
    except (OSError, EOFError) as exc:
        items.append(LoadError(source.name, f"read failed: {one_line(exc)}"))
    finally:
        if not source.stdin:
            stream.close()
    if items:
        yield LinesChunk(source.name, source.site, first, items)


def parse_lines(chunk: LinesChunk, limits: Limits) -> Iterator[Record | LoadError]:
    """The records of a chunk of JSON Lines, or an error for each bad line (blank lines skipped)."""
    for number, raw in enumerate(chunk.items, start=chunk.first_line):
        if isinstance(raw, LoadError):
            yield raw
            continue
        if raw is None or not raw.strip():
            continue
        name = f"{chunk.name}:{number}"
        try:
            text = decode_text(raw)
            item = json.loads(text)
            if not isinstance(item, dict):
                raise RecordError(f"line is a JSON {type(item).__name__}, not a record object")
            _check_unicode(item, _suspect_surrogates(text))
            yield read_object(item, name, chunk.site, limits)
        except json.JSONDecodeError as exc:
            yield LoadError(name, f"invalid JSON at column {exc.colno}: {exc.msg}")
        except RecursionError:
            yield LoadError(name, "invalid JSON: nested too deeply")
        except RecordError as exc:
            yield LoadError(name, str(exc))
        except ValueError as exc:  # e.g. an integer literal over Python's digit limit
            yield LoadError(name, f"invalid JSON: {one_line(exc, 120)}")


def _parse_jsonl(source: Source, limits: Limits) -> Iterator[Record | LoadError]:
    for chunk in jsonl_chunks(source, limits, JSONL_CHUNK_LINES):
        yield from parse_lines(chunk, limits)


def _parse_csv(text: str, source: Source, limits: Limits) -> Iterator[Record | LoadError]:
    """A CSV table that ``score load`` wrote (a header line, one record per row)."""
    rows = ((f"{source.name}:{number}", row) for number, row in csv_rows(text))
    try:
        yield from _table_rows(rows, source, limits)
    except csv.Error as exc:
        raise RecordError(f"invalid CSV: {one_line(exc, 120)}") from None


def _parse_parquet(data: bytes, source: Source, limits: Limits) -> Iterator[Record | LoadError]:
    """A Parquet table that ``score load`` wrote."""
    import pyarrow as pa

    rows = ((f"{source.name}[{i}]", row) for i, row in enumerate(parquet_rows(data)))
    try:
        yield from _table_rows(rows, source, limits)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise RecordError(f"unreadable Parquet: {one_line(exc, 120)}") from None


def _table_rows(
    rows: Iterator[tuple[str, dict[str, Any]]], source: Source, limits: Limits
) -> Iterator[Record | LoadError]:
    """The records of a table's named rows, or an error for each bad row."""
    for count, (name, row) in enumerate(rows, start=1):
        if count > limits.max_records_per_file:
            yield LoadError(name, f"more than {limits.max_records_per_file} rows; rest skipped")
            return
        try:
            yield _table_row(row, name, source.site, limits)
        except RecordError as exc:
            yield LoadError(name, str(exc))


def _table_row(row: dict[str, Any], name: str, site: str, limits: Limits) -> Record:
    if not is_table_row(row):
        check_known(row)
        raise RecordError("not a table that `score load` wrote (no provider_domain, url columns)")
    return table_record(row, name, site, limits)


def _capped_lines(stream: Any, cap: int) -> Iterator[bytes | None]:
    """Lines of a binary stream; an over-long line yields None and is skipped, not buffered."""
    while True:
        line = stream.readline(cap + 1)
        if not line:
            return
        if len(line) > cap and not line.endswith(b"\n"):
            while True:  # drain the rest of the long line in bounded chunks
                more = stream.readline(cap + 1)
                if not more or more.endswith(b"\n"):
                    break
            yield None
            continue
        yield line
