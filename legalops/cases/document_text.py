"""Text out of uploaded legal process, and the signs that a document was never issued.

Pure functions over bytes and strings: no Django, no database. The intake service
extracts the text once at upload and hands it to the rules as
``RequestFacts.document_texts``; the rules never open files themselves.

Extraction is best effort on purpose. An uploaded file is untrusted input: an
encrypted, truncated or hostile PDF yields ``""`` (nothing to judge), never an
exception that would fail the upload or the findings. A scanned order has no text
layer either; the rules treat "no text" as "nothing automatic can be said", not
as a defect.
"""

import io
import logging
import re
import unicodedata

logger = logging.getLogger(__name__)

# ISO 32000 puts "%PDF-" first; readers (and pypdf) accept it within the first
# 1024 bytes, because some producers prepend junk. Same window as Acrobat's.
PDF_HEADER = b"%PDF-"
PDF_HEADER_WINDOW = 1024

# The reasons, as a reviewer and the agency will read them in the finding.
PROPOSED_REASON = 'the text says "{marker}"'
BLANK_DOCKET_REASON = "the docket number is blank"
BLANK_DATE_REASON = "the date of issue is blank"
NO_SIGNATURE_REASON = "no signature line"

# "[PROPOSED] ORDER" is how a draft order is lodged with a court; once the judge
# signs, the court enters it without the bracket. Only the bracketed (or
# parenthesised) form counts: an issued order may well say "upon the
# Government's application and proposed order".
_PROPOSED = re.compile(r"[\[(]\s*proposed\s*[\])]", re.IGNORECASE)

# A docket label followed by a placeholder instead of a number: underscores,
# empty brackets, "TBD", or a run of X's ("3:26-mj-XXXX"). A label followed by
# nothing at all is NOT flagged: text extraction often wraps the number onto the
# next line, and a false "not issued" is an error that blocks a valid order.
_DOCKET_BLANK = re.compile(
    r"\b(?:case|docket|cause|misc\.?|miscellaneous|mag\.?|magistrate|sw|warrant|file)"
    r"\s*(?:no\.?|number|#)\s*:?\s*"
    r"(?:_{2,}|\[\s*\]|tbd\b|to\s+be\s+assigned|[\w:.\-]*x{3,})",
    re.IGNORECASE,
)

# The places an order, warrant or subpoena states its date of issue, left blank.
_DATE_BLANK = (
    re.compile(r"\bthis\s+_{2,}\s*(?:st|nd|rd|th)?\s+day\s+of\b", re.IGNORECASE),
    re.compile(r"\bday\s+of\s+_{2,}", re.IGNORECASE),
    re.compile(r"\b(?:dated|date\s+issued|issued\s+on|entered)\s*:?\s*_{3,}", re.IGNORECASE),
    re.compile(r"\bdate\s+and\s+time\s+issued\s*:?\s*_{3,}", re.IGNORECASE),
    re.compile(r"^\s*date\s*:?\s*_{3,}", re.IGNORECASE | re.MULTILINE),
)

# Federal forms carry a return / proof-of-service part that is blank when the
# process is served (AO 93's "Return", AO 89/110's "Proof of Service"): its blank
# "Case No." and "Date:" are not the issuing court's. Blank-field checks stop at
# the first such heading; the signature and "[PROPOSED]" checks read everything.
_SERVICE_PART_HEADING = re.compile(
    r"^\s*(?:return|return\s+of\s+service|proof\s+of\s+service|certification"
    r"|inventory|declaration\s+of\s+service)\s*:?\s*$",
    re.IGNORECASE | re.MULTILINE,
)

# Any sign that someone signed or that a signature block exists: an electronic
# "/s/", a digital-signature stamp, or the title under a signature line (judge,
# clerk, issuing official). Broad, because this is the weakest sign and a wet-ink
# signature leaves only its title in the text layer; but not words every order's
# body uses ("attorney", "court"), or the check could never fire.
_SIGNATURE_MARKERS = re.compile(
    r"/s/|\bs/\s*\w|digitally\s+signed|\bsignature\b|\bsigned\b|\bjudge\b|\bmagistrate\b"
    r"|\bjustice\b|\bclerk\b|\bcommissioner\b|\bhon(?:orable|\.)|\bissuing\s+official\b"
    r"|\bagent\s+in\s+charge\b|\bauthorized\s+official\b",
    re.IGNORECASE,
)


def is_pdf(data: bytes) -> bool:
    """True when ``data`` is a PDF by content: the header, and pypdf can open it.

    An encrypted PDF counts (it opens; its text may still be unreadable). The file
    name and the declared content type are never consulted: they are the
    uploader's claim, not the file's.
    """
    if PDF_HEADER not in data[:PDF_HEADER_WINDOW]:
        return False
    from pypdf import PdfReader  # here, not at start-up: every process imports the rules

    try:
        PdfReader(io.BytesIO(data))
    except Exception as exc:  # pypdf raises many types on hostile input
        logger.info("not an openable PDF: %s: %s", type(exc).__name__, exc)
        return False
    return True


def pdf_text(data: bytes, *, max_pages: int = 50) -> str:
    """The text layer of the first ``max_pages`` pages, pages joined by a newline.

    Raises ``ValueError`` only when ``data`` is not a PDF at all (no header), or
    ``max_pages`` is not positive: those are caller mistakes. Anything wrong inside
    a PDF (encryption with a password, a broken xref, a page that fails to parse)
    gives ``""`` or the text of the pages that did parse, never an exception.
    """
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, not {max_pages}")
    if PDF_HEADER not in data[:PDF_HEADER_WINDOW]:
        raise ValueError("not a PDF: no %PDF- header in the first 1024 bytes")
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            # Many agencies' PDFs carry only an owner password (no user password),
            # which the empty string opens; a real user password we cannot guess.
            return ""
        pages = reader.pages
        texts: list[str] = []
        for index in range(min(len(pages), max_pages)):
            try:
                texts.append((pages[index].extract_text() or "").strip())
            except Exception as exc:  # one bad page must not lose the others
                logger.info("page %d unreadable: %s: %s", index + 1, type(exc).__name__, exc)
        return "\n".join(texts).strip()
    except Exception as exc:  # pypdf raises many types on hostile input
        logger.info("PDF text unreadable: %s: %s", type(exc).__name__, exc)
        return ""


def _normalize(text: str) -> str:
    # NFKC folds full-width brackets, ligatures and non-breaking spaces that PDF
    # text layers are full of, so full-width "[PROPOSED]" and "Case No.\u00a0___" match.
    return unicodedata.normalize("NFKC", text)


def not_issued_signs(text: str) -> list[str]:
    """Human-readable reasons the text shows a document that was never issued.

    In a fixed order: "[PROPOSED]", a blank docket number, a blank date of issue,
    no signature line. Empty for an empty text (a scan without a text layer):
    absence of text is not evidence of anything.
    """
    text = _normalize(text)
    if not text.strip():
        return []
    reasons: list[str] = []
    proposed = _PROPOSED.search(text)
    if proposed:
        reasons.append(PROPOSED_REASON.format(marker=proposed.group(0)))
    heading = _SERVICE_PART_HEADING.search(text)
    issuing_part = text[: heading.start()] if heading else text
    if _DOCKET_BLANK.search(issuing_part):
        reasons.append(BLANK_DOCKET_REASON)
    if any(pattern.search(issuing_part) for pattern in _DATE_BLANK):
        reasons.append(BLANK_DATE_REASON)
    if not _SIGNATURE_MARKERS.search(text):
        reasons.append(NO_SIGNATURE_REASON)
    return reasons
