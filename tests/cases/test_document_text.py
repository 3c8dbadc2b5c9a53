"""Text extraction from uploaded process, and the signs of a document never issued."""

import io

import pytest
from pypdf import PdfReader, PdfWriter

from legalops.cases.document_text import (
    BLANK_DATE_REASON,
    BLANK_DOCKET_REASON,
    NO_SIGNATURE_REASON,
    is_pdf,
    not_issued_signs,
    pdf_text,
)


def minimal_pdf(*pages: str) -> bytes:
    """A real, small PDF built by hand: one Helvetica text line per input line.

    Built byte by byte (with a correct xref) so the tests need no PDF library to
    make their input, and so the input is exactly what a simple producer writes.
    """
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        (
            "<< /Type /Pages /Kids ["
            + " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
            + f"] /Count {len(pages)} >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, text in enumerate(pages):
        operators = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in text.split("\n"):
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operators.append(f"({escaped}) Tj T*")
        operators.append("ET")
        stream = "\n".join(operators).encode("latin-1")
        objects.append(
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>"
            ).encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def encrypted(data: bytes, *, user_password: str, owner_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


SIGNED_ORDER = """UNITED STATES DISTRICT COURT
NORTHERN DISTRICT OF CALIFORNIA
In the Matter of the Application of the United States for an Order
Pursuant to 18 U.S.C. 2703(d)
Case No. 3:26-mj-01422
ORDER
Upon the application of the United States and its proposed order, the Court finds
specific and articulable facts showing that the records sought are relevant and
material to an ongoing criminal investigation.
IT IS SO ORDERED.
Dated: November 20, 2026
/s/ Jane Q. Doe
United States Magistrate Judge"""


# --- is_pdf ---------------------------------------------------------------------------


def test_is_pdf_accepts_a_real_pdf() -> None:
    assert is_pdf(minimal_pdf("hello"))


def test_is_pdf_accepts_junk_before_the_header_within_1024_bytes() -> None:
    assert is_pdf(b"\x00" * 500 + minimal_pdf("hello"))


def test_is_pdf_rejects_the_header_past_1024_bytes() -> None:
    assert not is_pdf(b" " * 1100 + minimal_pdf("hello"))


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b"<html><body>%PDF-</body></html>", b"%PDF-1.7\ngarbage\n"],
    ids=["empty", "text", "html-claiming-pdf", "header-then-garbage"],
)
def test_is_pdf_rejects_non_pdfs(data: bytes) -> None:
    assert not is_pdf(data)


def test_is_pdf_rejects_a_truncated_pdf() -> None:
    data = minimal_pdf("hello")
    assert not is_pdf(data[: len(data) // 2])


def test_is_pdf_accepts_an_encrypted_pdf() -> None:
    # It is a PDF; whether its text can be read is pdf_text's business.
    assert is_pdf(encrypted(minimal_pdf("secret"), user_password="pw", owner_password="own"))


# --- pdf_text ---------------------------------------------------------------------------


def test_pdf_text_extracts_every_line() -> None:
    text = pdf_text(minimal_pdf(SIGNED_ORDER))
    assert "Case No. 3:26-mj-01422" in text
    assert "/s/ Jane Q. Doe" in text


def test_pdf_text_joins_pages_and_stops_at_max_pages() -> None:
    data = minimal_pdf("page one", "page two", "page three")
    assert pdf_text(data).split("\n") == ["page one", "page two", "page three"]
    assert pdf_text(data, max_pages=2).split("\n") == ["page one", "page two"]


def test_pdf_text_rejects_non_pdf_input_with_value_error() -> None:
    with pytest.raises(ValueError, match="not a PDF"):
        pdf_text(b"GIF89a....")


def test_pdf_text_rejects_a_non_positive_page_limit() -> None:
    with pytest.raises(ValueError, match="max_pages"):
        pdf_text(minimal_pdf("x"), max_pages=0)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\ngarbage\n",
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\n%%EOF\n",
        minimal_pdf("hello")[:200],
    ],
    ids=["garbage", "dangling-reference", "truncated"],
)
def test_pdf_text_returns_empty_for_broken_pdfs(data: bytes) -> None:
    assert pdf_text(data) == ""


def test_pdf_text_returns_empty_for_a_user_password() -> None:
    data = encrypted(minimal_pdf("sealed text"), user_password="pw", owner_password="own")
    assert pdf_text(data) == ""


def test_pdf_text_reads_a_pdf_with_only_an_owner_password() -> None:
    data = encrypted(minimal_pdf("restricted text"), user_password="", owner_password="own")
    assert pdf_text(data) == "restricted text"


def test_pdf_text_reads_a_weasyprint_document() -> None:
    weasyprint = pytest.importorskip("weasyprint")
    data = weasyprint.HTML(string="<p>[PROPOSED] ORDER</p><p>Case No. ____</p>").write_pdf()
    assert pdf_text(data) == "[PROPOSED] ORDER\nCase No. ____"


# --- not_issued_signs ------------------------------------------------------------------


def test_a_signed_order_shows_no_sign() -> None:
    # "its proposed order" in the body is not the "[PROPOSED]" caption of a draft.
    assert not_issued_signs(SIGNED_ORDER) == []


def test_empty_text_is_no_evidence() -> None:
    assert not_issued_signs("") == []
    assert not_issued_signs(" \n\t") == []


def test_a_proposed_order_shows_every_sign_in_order() -> None:
    text = (
        "[PROPOSED] ORDER\nCase No. ____\n"
        "The provider shall disclose the records.\nSO ORDERED this ___ day of ____, 2026."
    )
    assert not_issued_signs(text) == [
        'the text says "[PROPOSED]"',
        BLANK_DOCKET_REASON,
        BLANK_DATE_REASON,
        NO_SIGNATURE_REASON,
    ]


@pytest.mark.parametrize(
    ("caption", "quoted"),
    [
        ("[Proposed] Order", "[Proposed]"),
        ("(PROPOSED) ORDER", "(PROPOSED)"),
        ("［PROPOSED］", "[PROPOSED]"),
    ],
)
def test_proposed_marker_variants(caption: str, quoted: str) -> None:
    assert not_issued_signs(f"{caption}\n/s/ Judge")[0] == f'the text says "{quoted}"'


@pytest.mark.parametrize(
    "docket",
    ["Case No. ____", "Case No.: __", "Docket No. [ ]", "Misc. No. TBD", "Case No. 3:26-mj-XXXX"],
)
def test_blank_docket_numbers(docket: str) -> None:
    assert BLANK_DOCKET_REASON in not_issued_signs(f"{docket}\n/s/ Judge")


def test_a_docket_number_on_the_next_line_is_not_blank() -> None:
    # Extraction often wraps the number; flagging it would block a valid order.
    assert not_issued_signs("Case No.\n3:26-mj-01422\n/s/ Judge") == []


@pytest.mark.parametrize(
    "line",
    [
        "SO ORDERED this ___ day of ____, 2026.",
        "Entered this ____th day of November, 2026.",
        "Dated: ________",
        "Date and time issued: __________",
        "Date: ______",
    ],
)
def test_blank_dates_of_issue(line: str) -> None:
    assert not_issued_signs(f"Case No. 1:26-mj-7\n{line}\n/s/ Judge") == [BLANK_DATE_REASON]


def test_blank_return_section_of_a_served_warrant_is_not_the_issuing_part() -> None:
    # AO 93: the Return is blank when the warrant is served on the provider.
    text = (
        "Case No. 3:26-mj-01422\nSEARCH AND SEIZURE WARRANT\n"
        "Date and time issued: 11/20/2026 10:15 am\n/s/ Jane Q. Doe, Judge's signature\n"
        "Return\nCase No.: ______\nDate and time warrant executed: ______\nDate: ______\n"
    )
    assert not_issued_signs(text) == []


@pytest.mark.parametrize(
    "signature",
    [
        "/s/ Jane Q. Doe",
        "s/ Jane Q. Doe",
        "Digitally signed by Jane Q. Doe",
        "United States Magistrate Judge",
        "Signature of Clerk or Deputy Clerk",
        "Assistant Special Agent in Charge",
    ],
)
def test_signature_markers(signature: str) -> None:
    assert not_issued_signs(f"Case No. 1:26-mj-7\nORDER\n{signature}") == []


def test_no_signature_line() -> None:
    assert not_issued_signs("Case No. 1:26-mj-7\nORDER\nProduce the records.") == [
        NO_SIGNATURE_REASON
    ]
