"""Read query-log files (JSON Lines or CSV) as a stream of (position, entry) pairs.

Files are read line by line, so memory stays flat whatever their size. A file
that is empty, binary or plainly in another format fails before anything is
stored (``IngestFileError``); a single bad line becomes a rejected row.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Literal

import orjson

from lookups.entries import ALL_FIELDS, REQUIRED_FIELDS, EntryRejected

LogFormat = Literal["jsonl", "csv"]
_SNIFF_BYTES = 8192
_JSONL_PROBE_LINES = 20


class IngestFileError(ValueError):
    """The input as a whole cannot be read; nothing was stored."""


Entry = dict[str, Any] | EntryRejected


def _buffered(stream: BinaryIO) -> io.BufferedReader:
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(stream)  # type: ignore[arg-type]


def _sniff(stream: io.BufferedReader) -> None:
    head = stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
    if not head:
        raise IngestFileError("the file is empty: no query-log entries to ingest")
    if b"\x00" in head:
        raise IngestFileError("the file is binary (it contains NUL bytes), not JSON Lines or CSV")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the probe is not an error.
        if exc.start < len(head) - 4:
            raise IngestFileError(
                "the file is not UTF-8 text (binary or another encoding)"
            ) from None
    if not head.strip():
        raise IngestFileError("the file holds only blank lines: no query-log entries to ingest")


def jsonl_entries(stream: BinaryIO) -> Iterator[tuple[int, Entry]]:
    """Yield (1-based line number, parsed object or rejection) for each non-blank line."""
    reader = _buffered(stream)
    _sniff(reader)
    probe: list[tuple[int, Entry]] = []
    first_line = b""
    lines = enumerate(reader, start=1)
    for number, raw in lines:
        if not raw.strip():
            continue
        first_line = first_line or raw
        probe.append((number, _jsonl_line(raw)))
        if len(probe) >= _JSONL_PROBE_LINES:
            break
    if probe and all(isinstance(entry, EntryRejected) for _, entry in probe):
        first = probe[0][1]
        assert isinstance(first, EntryRejected)
        hint = " It looks like CSV: use --format csv." if b"event_id," in first_line else ""
        raise IngestFileError(
            f"this is not JSON Lines: none of the first {len(probe)} lines is a JSON object "
            f"(line {probe[0][0]}: {first.errors['non_field_errors'][0]}).{hint}"
        )
    yield from probe
    for number, raw in lines:
        if raw.strip():
            yield number, _jsonl_line(raw)


def _jsonl_line(raw: bytes) -> Entry:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = "not valid UTF-8" if "utf-8" in str(exc).lower() else f"malformed JSON ({exc})"
        return EntryRejected({"non_field_errors": [f"line is {reason}"]})
    if not isinstance(value, dict):
        return EntryRejected({"non_field_errors": ["line is not a JSON object"]})
    return value


def csv_entries(stream: BinaryIO) -> Iterator[tuple[int, Entry]]:
    """Yield (1-based line number, row dict or rejection); the header names the fields."""
    reader = _buffered(stream)
    _sniff(reader)
    bad_lines: dict[int, str] = {}
    line_counter = [0]

    def decoded() -> Iterator[str]:
        for raw in reader:
            line_counter[0] += 1
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                bad_lines[line_counter[0]] = "line is not valid UTF-8"
                yield "\n"

    rows = csv.reader(decoded(), strict=True)
    try:
        header = next(rows)
    except (StopIteration, csv.Error) as exc:
        raise IngestFileError(f"the CSV header row cannot be read: {exc}") from None
    header = [name.strip().lstrip("\ufeff") for name in header]
    if header and header[0].startswith("{"):
        raise IngestFileError("this is not CSV: the first line is a JSON object (JSON Lines?)")
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    unknown = [name for name in header if name not in ALL_FIELDS]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown columns: {', '.join(unknown)}")
        if len(set(header)) != len(header):
            parts.append("a column is named twice")
        raise IngestFileError(f"the CSV header row is wrong ({'; '.join(parts)})")

    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield rows.line_num, EntryRejected({"non_field_errors": [f"malformed CSV ({exc})"]})
            continue
        number = rows.line_num
        if number in bad_lines:
            yield number, EntryRejected({"non_field_errors": [bad_lines.pop(number)]})
            continue
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield (
                number,
                EntryRejected(
                    {"non_field_errors": [f"expected {len(header)} columns, found {len(cells)}"]}
                ),
            )
            continue
        yield number, _csv_row(dict(zip(header, cells, strict=True)))


def _csv_row(row: dict[str, str]) -> Entry:
    data: dict[str, Any] = {name: value for name, value in row.items() if value != ""}
    reachable = row.get("target_reachable", "").strip().lower()
    if reachable in {"true", "false"}:
        data["target_reachable"] = reachable == "true"
    elif "target_reachable" in data:
        return EntryRejected({"target_reachable": ["must be true or false"]})
    return data


def array_entries(items: Iterable[Any]) -> Iterator[tuple[int, Entry]]:
    """Entries of a JSON array body: 0-based index, as the API reports them."""
    for index, item in enumerate(items):
        if isinstance(item, dict):
            yield index, item
        else:
            yield index, EntryRejected({"non_field_errors": ["each entry must be a JSON object"]})


def ndjson_entries(body: bytes) -> Iterator[tuple[int, Entry]]:
    """Entries of a JSON Lines body: 0-based index among its non-blank lines."""
    index = 0
    for raw in body.splitlines():
        if raw.strip():
            yield index, _jsonl_line(raw)
            index += 1


def file_entries(stream: BinaryIO, *, fmt: LogFormat) -> Iterator[tuple[int, Entry]]:
    return csv_entries(stream) if fmt == "csv" else jsonl_entries(stream)
