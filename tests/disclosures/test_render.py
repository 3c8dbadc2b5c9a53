"""The package and letters say what the issue requires, checked by reading the PDF back."""

import re
from pathlib import Path
from typing import Any

import pypdf
import pytest

from legalops.disclosures.render import (
    RenderInputError,
    letter_pdf_render,
    package_pdf_render,
)
from tests.disclosures import (
    BATES,
    NUMBER,
    REFERENCE,
    make_context,
    make_rows,
    page_texts,
    squash,
    write_csv,
)

ROWS = 200


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 200-row draft package, rendered once for the read-back tests (a few seconds)."""
    tmp = tmp_path_factory.mktemp("package")
    rows = make_rows(ROWS)
    csv_path, digest = write_csv(tmp, rows)
    out = tmp / "package.pdf"
    pages = package_pdf_render(
        context=make_context(ROWS, digest), rows=rows, csv_path=csv_path, out_path=out
    )
    return {
        "rows": rows,
        "csv": csv_path.read_bytes(),
        "digest": digest,
        "out": out,
        "pages": pages,
        "texts": page_texts(out),
    }


def _section_page(texts: list[str], marker: str) -> int:
    return next(i for i, text in enumerate(texts) if marker in text)


def test_page_count_is_returned(package: dict[str, Any]) -> None:
    assert package["pages"] == len(package["texts"]) > 5


def test_cover_letter_shows_request_and_counts(package: dict[str, Any]) -> None:
    cover = " ".join(" ".join(package["texts"][:2]).split())
    for expected in (
        NUMBER,
        REFERENCE,
        "U.S. District Court for the Northern District of California",
        "18 U.S.C. § 2703(d)",
        "2025-06-01",  # issued
        "2025-06-02 12:00:00 UTC",  # received
        "(415) 555-0100",
        "+14155550100",
        "Nobody@Example.com",
        "nobody@example.com",
        "content: none stored",
        "subscriber information: not held by this system",
        "lookups of the identifiers made by other accounts",
        "America/Los_Angeles",
        "2025-06-01 07:00:00",
        "Overbroad range",
        "limit the range to two days",
        "legal@provider.example",
    ):
        assert expected in cover, expected
    # rows found per identifier: "+14155550100 phone 200" and the empty one
    assert re.search(r"\+14155550100 phone 200\b", cover)
    assert re.search(r"nobody@example\.com email 0\b", cover)
    assert f"lists {ROWS} rows" in cover


def test_sections_are_in_order(package: dict[str, Any]) -> None:
    texts = package["texts"]
    cover = _section_page(texts, "Production in response to legal process")
    records = _section_page(texts, "Time: UTC / America/")
    notes = _section_page(texts, "Notes on reading these records")
    certificate = _section_page(texts, "Certificate of authenticity")
    assert cover == 0 < records < notes < certificate


def test_every_row_appears_with_its_values_in_order(package: dict[str, Any]) -> None:
    texts = package["texts"]
    records = "\n".join(texts[_section_page(texts, "Time: UTC / America/") :])
    positions = []
    for row in package["rows"]:
        # a row starts with its number then its UTC time
        match = re.search(rf"(?m)^{row['n']} {re.escape(row['utc'])}", records)
        assert match, f"row {row['n']} missing"
        positions.append(match.start())
    assert positions == sorted(positions), "rows are not printed in order"
    for i, row in enumerate(package["rows"]):
        # every row is printed on exactly two lines
        chunk = squash("".join(records[positions[i] :].splitlines()[:2]))
        for key in ("local", "service", "source", "target", "source_ip", "client"):
            assert squash(str(row[key])) in chunk, (row["n"], key)
        assert ("yes" if row["target_reachable"] else "no") in chunk
        assert ("thirdparty" in chunk) == row["third_party"], row["n"]


def test_every_page_has_header_bates_and_page_x_of_y(package: dict[str, Any]) -> None:
    texts = package["texts"]
    total = len(texts)
    for number, text in enumerate(texts, start=1):
        assert f"Request {NUMBER}" in text
        assert "Confidential: produced pursuant to legal process" in text
        assert f"Page {number} of {total}" in text
        assert f"{BATES}-{number:06d}" in text
        # exactly one Bates number per page: continuous, no repeats
        assert re.findall(rf"{BATES}-\d{{6}}", text) == [f"{BATES}-{number:06d}"]


def test_embeds_exactly_the_csv(package: dict[str, Any]) -> None:
    reader = pypdf.PdfReader(package["out"])
    assert reader.attachments == {"records.csv": [package["csv"]]}


def test_notes_cover_what_the_records_cannot_show(package: dict[str, Any]) -> None:
    texts = package["texts"]
    notes = " ".join(texts[_section_page(texts, "Notes on reading these records") :])
    flat = " ".join(notes.split())
    for expected in (
        "shows neither intent nor that any communication took place",
        "no message content",
        "cache",
        "identifies an account on the service, not the person",
        "NAT",
        "VPN",
        "ports are not logged",
        "what the device reported",
        "at the instant of the lookup",
        "UTC, taken from our servers' clocks",
        "kept 30 days",
    ):
        assert expected in flat, expected


def test_draft_certificate_is_unsigned_and_federal(package: dict[str, Any]) -> None:
    texts = package["texts"]
    cert = " ".join(" ".join(texts[_section_page(texts, "Certificate of authenticity") :]).split())
    for expected in (
        "DRAFT – not signed",
        "902(11)",
        "902(13)",
        "902(14)",
        "28 U.S.C. § 1746",
        "at or near the time",
        "automated process",
        "regularly conducted activity",
        "regular practice",
        package["digest"],
        f"contains {ROWS} rows",
        "printed records pages show the same 200 rows",
        "accurate extract of the records found by the described search",
        "I declare under penalty of perjury that the foregoing is true and correct. Executed on",
    ):
        assert expected in cert, expected
    assert "/s/" not in cert


def _render(tmp_path: Path, rows_n: int = 5, **context_kwargs: Any) -> list[str]:
    rows = make_rows(rows_n)
    csv_path, digest = write_csv(tmp_path, rows)
    out = tmp_path / "p.pdf"
    package_pdf_render(
        context=make_context(rows_n, digest, **context_kwargs),
        rows=rows,
        csv_path=csv_path,
        out_path=out,
    )
    return page_texts(out)


def test_signed_certificate(tmp_path: Path) -> None:
    text = " ".join(" ".join(_render(tmp_path, signed=True)).split())
    assert "true and correct. Executed on 2025-06-04." in text
    assert "/s/ Jane Custodian" in text
    assert "Custodian of Records" in text
    assert "DRAFT" not in text


def test_california_affidavit(tmp_path: Path) -> None:
    text = " ".join(" ".join(_render(tmp_path, signed=True, california=True)).split())
    for expected in (
        "Evidence Code §§ 1561",
        "duly authorized custodian",
        "true copy of all the records described",
        "ordinary course of business at or near the time",
        "Mode of preparation",
        "under the laws of the State of California that the foregoing is true and correct",
        "/s/ Jane Custodian",
    ):
        assert expected in text, expected
    assert "902(11)" not in text


def test_only_scoped_fields_are_printed(tmp_path: Path) -> None:
    text = "\n".join(_render(tmp_path, fields=["occurred_at", "source", "target"]))
    assert "198.51.100." not in text  # source_ip not in scope
    assert "ios/17." not in text  # client not in scope
    assert "Source IP" not in text  # neither the column nor its note
    assert "Client" not in text
    assert "user1@example.com" in text


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda rows, ctx: rows.pop(), "row counts disagree"),
        (lambda rows, ctx: rows.reverse(), "row numbers"),
        (lambda rows, ctx: rows[1].update(utc="2025-06-02T09:00:00Z"), "earlier"),
        (lambda rows, ctx: ctx["certificate"].update(csv_sha256="0" * 64), "csv_sha256"),
        (lambda rows, ctx: ctx["fields"].append("content"), "fields"),
        (lambda rows, ctx: ctx["request"].pop("reference"), "reference"),
    ],
)
def test_inconsistent_input_fails_and_writes_nothing(
    tmp_path: Path, mutate: Any, message: str
) -> None:
    rows = make_rows(3)
    csv_path, digest = write_csv(tmp_path, rows)
    context = make_context(3, digest)
    mutate(rows, context)
    out = tmp_path / "p.pdf"
    with pytest.raises(RenderInputError, match=message):
        package_pdf_render(context=context, rows=rows, csv_path=csv_path, out_path=out)
    assert not out.exists()
    assert list(tmp_path.glob("*.pdf")) == []


# --------------------------------------------------------------------------- letters

BANNED = ("no account", "no communication")


def _request() -> dict[str, Any]:
    return make_context(0, "0" * 64)["request"]


def test_no_records_letter(tmp_path: Path) -> None:
    out = tmp_path / "none.pdf"
    pages = letter_pdf_render(
        template="pdf/no_records.html",
        context={
            "request": _request(),
            "identifiers": [
                {"raw": "(415) 555-0100", "normalized": "+14155550100", "status": "none_logged"},
                {
                    "raw": "Old@Example.com",
                    "normalized": "old@example.com",
                    "status": "not_retained",
                },
                {
                    "raw": "@handle",
                    "normalized": "handle",
                    "status": "partly_retained",
                    "retained_from": "2025-05-04 00:00:00 UTC",
                },
            ],
            "range": make_context(0, "0" * 64)["range"],
            "searched_at": "2025-06-03 09:00:00 UTC",
            "certificate": make_context(0, "0" * 64, signed=True)["certificate"],
        },
        out_path=out,
    )
    texts = page_texts(out)
    assert pages == len(texts)
    text = " ".join(" ".join(texts).split())
    flat = squash(text)
    for expected in (
        "No responsive records",
        NUMBER,
        REFERENCE,
        "(415) 555-0100",
        "+14155550100",
        "Old@Example.com",
        "old@example.com",
        "2025-06-01 00:00:00",
        "2025-06-03 06:59:59",
        "America/Los_Angeles",
        "2025-06-03 09:00:00 UTC",  # date of the search
        "Nothing was logged",
        "could not be searched",  # not retained
        "no longer retained (logs are held from 2025-05-04 00:00:00 UTC)",
        "diligent search",
        "803(7)",
        "regularly made for every capability lookup",
        "I declare under penalty of perjury that the foregoing is true and correct. "
        "Executed on 2025-06-04.",
        "/s/ Jane Custodian",
    ):
        assert squash(expected) in flat, expected
    for banned in BANNED:
        assert banned not in text.lower()
    assert pypdf.PdfReader(out).attachments == {}


def test_no_records_letter_rejects_unknown_status(tmp_path: Path) -> None:
    with pytest.raises(RenderInputError, match="status"):
        letter_pdf_render(
            template="pdf/no_records.html",
            context={
                "request": _request(),
                "identifiers": [{"raw": "x", "normalized": "x", "status": "no_account"}],
                "range": make_context(0, "0" * 64)["range"],
                "searched_at": "2025-06-03",
                "certificate": make_context(0, "0" * 64)["certificate"],
            },
            out_path=tmp_path / "x.pdf",
        )


def test_preservation_acknowledgement(tmp_path: Path) -> None:
    out = tmp_path / "ack.pdf"
    letter_pdf_render(
        template="pdf/preservation_ack.html",
        context={
            "request": _request(),
            "identifiers": [
                {"raw": "(415) 555-0100", "normalized": "+14155550100", "rows": 7},
            ],
            "held_from": "2025-05-10 00:00:00 UTC",
            "held_to": "2025-06-02 23:59:59 UTC",
            "expires_at": "2025-08-31 23:59:59 UTC",
            "renew_by": "2025-08-24",
        },
        out_path=out,
    )
    text = " ".join(" ".join(page_texts(out)).split())
    flat = squash(text)
    for expected in (
        "Acknowledgement of preservation request",
        NUMBER,
        "(415) 555-0100",
        "+14155550100",
        "to the extent such records exist",
        "2025-05-10 00:00:00 UTC to 2025-06-02 23:59:59 UTC",
        "2025-08-31 23:59:59 UTC",
        "Renew by 2025-08-24",
        "not disclosed without valid legal process",
    ):
        assert squash(expected) in flat, expected
    # an acknowledgement must not reveal whether anything exists
    assert " 7 " not in f" {text} "
    for banned in BANNED:
        assert banned not in text.lower()
    assert pypdf.PdfReader(out).attachments == {}


def test_unknown_letter_template_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderInputError):
        letter_pdf_render(template="pdf/package.html", context={}, out_path=tmp_path / "x.pdf")
