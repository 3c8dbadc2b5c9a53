"""The rows of a package: selected only by the lookups scope selector, streamed to
an embedded CSV, and read back out of a finished PDF by the verifier."""

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from legalops.cases.scope import Scope
from lookups.models import QueryLogEntry
from lookups.selectors import rows_in_scope

CSV_NAME = "records.csv"
# Every column is text in the CSV, so a spreadsheet cannot eat a "+" or a leading 0.
CSV_COLUMNS = (
    "row",
    "occurred_at_utc",
    "service",
    "source",
    "target",
    "source_ip",
    "client",
    "target_reachable",
)
_FIELD_COLUMN = {"occurred_at": "occurred_at_utc"}


_SIDE_COLUMNS = {"outgoing": {"source"}, "incoming": {"target"}, "both": {"source", "target"}}


def csv_columns(fields: tuple[str, ...], direction: str) -> list[str]:
    """The CSV columns for a scope: row number, time and the approved side's handle
    always (they show why a row is in scope), then the allowed fields, in a fixed
    order."""
    wanted = {_FIELD_COLUMN.get(f, f) for f in fields} | {"row", "occurred_at_utc"}
    wanted |= _SIDE_COLUMNS[direction]
    return [column for column in CSV_COLUMNS if column in wanted]


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "Z"


def local_text(moment: datetime, offset_minutes: int) -> str:
    zone = timezone(timedelta(minutes=offset_minutes))
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f %z")


@dataclass
class Extract:
    """What streaming the scope produced: the CSV on disk and its tallies."""

    path: Path
    sha256: str
    rows: int
    per_identifier: Counter[str]


def rows_stream(*, scope: Scope, region: str) -> Iterator[QueryLogEntry]:
    return rows_in_scope(
        identifiers=scope.identifiers,
        date_from=scope.date_from,
        date_to=scope.date_to,
        direction=scope.direction,
        # Only the allowed columns are loaded at all (the keys come along).
        fields=[f for f in scope.fields if f != "occurred_at"],
        region=region,
    )


_COLUMN_VALUE = {
    "occurred_at_utc": lambda e: utc_text(e.occurred_at),
    "service": lambda e: e.service,
    "source": lambda e: e.source,
    "target": lambda e: e.target,
    "source_ip": lambda e: str(e.source_ip),
    "client": lambda e: e.client,
    "target_reachable": lambda e: "true" if e.target_reachable else "false",
}


def row_values(entry: QueryLogEntry, number: int, columns: list[str]) -> dict[str, str]:
    """One CSV row; touches only the given columns (others were never loaded)."""
    values = {column: _COLUMN_VALUE[column](entry) for column in columns if column != "row"}
    return {"row": str(number), **values}


def extract_write(
    *,
    scope: Scope,
    region: str,
    path: Path,
    on_row: Callable[[dict[str, str]], None] | None = None,
) -> Extract:
    """Stream the scope's rows into a CSV at ``path``; memory holds one row at a time.

    ``on_row`` receives each CSV row as written, so the printed records come from
    the same single pass (and snapshot) as the CSV and the verifier's count.
    """
    columns = csv_columns(scope.fields, scope.direction)
    identifiers = set(scope.identifiers)
    tally: Counter[str] = Counter()
    digest = hashlib.sha256()
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        for entry in rows_stream(scope=scope, region=region):
            count += 1
            values = row_values(entry, count, columns)
            writer.writerow(values)
            if on_row is not None:
                on_row(values)
            for side in {entry.source, entry.target} & identifiers:
                tally[side] += 1
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return Extract(path=path, sha256=digest.hexdigest(), rows=count, per_identifier=tally)


def embedded_csv(pdf: Path) -> bytes:
    """The ``records.csv`` attached to a finished PDF; a package without exactly one
    is invalid."""
    reader = PdfReader(str(pdf))
    attachments = reader.attachments
    if list(attachments) != [CSV_NAME] or len(attachments[CSV_NAME]) != 1:
        raise ValueError(f"the PDF must embed exactly one {CSV_NAME}, found {list(attachments)}")
    return attachments[CSV_NAME][0]


def csv_rows(data: bytes) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
