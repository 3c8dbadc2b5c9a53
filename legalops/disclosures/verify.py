"""The verifier: an independent check of a finished PDF against its approved scope.

It does not trust the renderer or the selector: it reads the embedded CSV back out
of the PDF and re-checks every row against the scope in plain Python (identifier
on the approved side, ``date_from <= t < date_to + 1 s``, only allowed columns),
then compares the count with ``count_in_scope`` from the same snapshot.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pypdf import PdfReader

from legalops.cases.scope import Scope
from legalops.disclosures.records import csv_columns, csv_rows, embedded_csv

_SIDES = {"outgoing": ("source",), "incoming": ("target",), "both": ("source", "target")}


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    csv_sha256: str
    problem: str = ""


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%fZ").replace(tzinfo=UTC)


def package_verify(*, pdf: Path, scope: Scope, expected_count: int) -> Verification:
    if expected_count == 0 and not PdfReader(str(pdf)).attachments:
        # A "no responsive records" letter carries no records to check.
        return Verification(True, 0, hashlib.sha256(b"").hexdigest())
    try:
        data = embedded_csv(pdf)
    except (ValueError, OSError) as exc:
        return Verification(False, 0, "", f"the embedded records cannot be read: {exc}")
    digest = hashlib.sha256(data).hexdigest()
    rows = csv_rows(data)
    if rows and list(rows[0]) != csv_columns(scope.fields, scope.direction):
        return Verification(
            False, len(rows), digest, f"columns {list(rows[0])} differ from the scope's fields"
        )
    identifiers = set(scope.identifiers)
    start, end = scope.date_from, scope.date_to + timedelta(seconds=1)
    previous: datetime | None = None
    for index, row in enumerate(rows, start=1):
        where = f"row {index}"
        if row.get("row") != str(index):
            return Verification(False, len(rows), digest, f"{where}: rows are not numbered 1..n")
        moment = _moment(row["occurred_at_utc"])
        if not start <= moment < end:
            return Verification(
                False,
                len(rows),
                digest,
                f"{where}: {row['occurred_at_utc']} is outside the approved range",
            )
        if previous is not None and moment < previous:
            return Verification(False, len(rows), digest, f"{where}: rows are not in time order")
        previous = moment
        sides = [row.get(side) for side in _SIDES[scope.direction]]
        if not identifiers.intersection(sides):
            return Verification(
                False, len(rows), digest, f"{where}: no approved identifier on the approved side"
            )
    if len(rows) != expected_count:
        return Verification(
            False, len(rows), digest, f"{len(rows)} rows in the package, {expected_count} in scope"
        )
    return Verification(True, len(rows), digest)
