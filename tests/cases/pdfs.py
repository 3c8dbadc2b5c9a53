"""Real PDFs for upload tests, rendered by WeasyPrint from plain HTML."""

import weasyprint


def pdf_of(text: str) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines())
    return weasyprint.HTML(string=f"<html><body>{paragraphs}</body></html>").write_pdf()


SIGNED_ORDER = pdf_of(
    "UNITED STATES DISTRICT COURT\nNORTHERN DISTRICT OF CALIFORNIA\n"
    "Case No. 3:26-mj-01422\nORDER PURSUANT TO 18 U.S.C. 2703(d)\n"
    "IT IS SO ORDERED this 20th day of November, 2026.\n"
    "/s/ Hon. Maria Chen, United States Magistrate Judge"
)
PROPOSED_ORDER = pdf_of(
    "[PROPOSED] ORDER\nCase No. ________\nIT IS SO ORDERED this ___ day of ______, 2026.\n"
    "United States Magistrate Judge"
)
