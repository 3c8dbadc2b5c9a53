"""Tests for the disclosure renderer; builders shared by the render test modules."""

import hashlib
from pathlib import Path
from typing import Any

import pypdf

BATES = "PFX"
NUMBER = "LO-2025-000042"
REFERENCE = "2:25-mj-01234-ABC"


def make_rows(count: int, *, third_party_every: int = 3) -> list[dict[str, Any]]:
    """``count`` rows one second apart, every ``third_party_every``-th one incoming."""
    rows = []
    for i in range(count):
        minute, second = divmod(i, 60)
        rows.append(
            {
                "n": i + 1,
                "utc": f"2025-06-02T10:{minute:02d}:{second:02d}Z",
                "local": f"2025-06-02 03:{minute:02d}:{second:02d} PDT",
                "service": "imessage",
                "source": "+14155550100",
                "target": f"user{i + 1}@example.com",
                "source_ip": f"198.51.100.{i % 250 + 1}",
                "client": f"ios/17.{i % 10}",
                "target_reachable": i % 2 == 0,
                "third_party": i % third_party_every == 0,
            }
        )
    return rows


def write_csv(tmp_path: Path, rows: list[dict[str, Any]]) -> tuple[Path, str]:
    lines = ["n,utc,source,target"] + [
        f"{r['n']},{r['utc']},{r['source']},{r['target']}" for r in rows
    ]
    path = tmp_path / "records.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def make_context(
    row_count: int,
    csv_sha256: str,
    *,
    signed: bool = False,
    california: bool = False,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "request": {
            "number": NUMBER,
            "reference": REFERENCE,
            "agency_name": "Federal Bureau of Investigation",
            "contact_name": "SA Dana Smith",
            "contact_email": "dsmith@fbi.example.gov",
            "contact_phone": "+1 415 555 0199",
            "issuing_authority": "U.S. District Court for the Northern District of California",
            "legal_authority": "18 U.S.C. § 2703(d)",
            "process_type": "court_order",
            "process_type_label": "Court order under 18 U.S.C. § 2703(d)",
            "jurisdiction": "US-CA",
            "issued_on": "2025-06-01",
            "received_at": "2025-06-02 12:00:00 UTC",
            "expires_on": None,
        },
        "identifiers": [
            {
                "raw": "(415) 555-0100",
                "normalized": "+14155550100",
                "kind": "phone",
                "rows": row_count,
            },
            {
                "raw": "Nobody@Example.com",
                "normalized": "nobody@example.com",
                "kind": "email",
                "rows": 0,
            },
        ],
        "categories": [
            {
                "name": "lookups",
                "label": "Capability lookups",
                "produced": True,
                "note": "produced in the records section",
            },
            {
                "name": "content",
                "label": "Content",
                "produced": False,
                "note": "content: none stored",
            },
            {
                "name": "subscriber",
                "label": "Subscriber information",
                "produced": False,
                "note": "subscriber information: not held by this system",
            },
        ],
        "direction": "both",
        "direction_text": "Lookups made by the identifiers, and lookups of the identifiers "
        "made by other accounts.",
        "range": {
            "from_local": "2025-06-01 00:00:00",
            "to_local": "2025-06-02 23:59:59",
            "tz_label": "America/Los_Angeles",
            "from_utc": "2025-06-01 07:00:00",
            "to_utc": "2025-06-03 06:59:59",
        },
        "narrowing": {
            "basis": "overbroad",
            "basis_label": "Overbroad range",
            "reason": "Agreed with the agency on 2025-06-02 to limit the range to two days.",
        },
        "fields": fields
        or [
            "occurred_at",
            "service",
            "source",
            "target",
            "source_ip",
            "client",
            "target_reachable",
        ],
        "bates_prefix": BATES,
        "row_count": row_count,
        "generated_at": "2025-06-03 09:00:00 UTC",
        "authentication_contact": {
            "name": "Custodian of Records",
            "email": "legal@provider.example",
            "phone": "+1 650 555 0100",
        },
        "certificate": {
            "signed": signed,
            "custodian_name": "Jane Custodian",
            "custodian_title": "Custodian of Records",
            "executed_on": "2025-06-04" if signed else "",
            "csv_sha256": csv_sha256,
            "row_count": row_count,
            "california": california,
        },
        "retention_days": 30,
    }


def page_texts(pdf: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(pdf).pages]


def squash(text: str) -> str:
    """Text without whitespace: table cells wrap long values at arbitrary points."""
    return "".join(text.split())
