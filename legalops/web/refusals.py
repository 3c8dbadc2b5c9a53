"""Every refusal code of API.md in words a person can act on: the one place the UI
turns a 409 into a sentence."""

from legalops.api_errors import Conflict

REFUSALS: dict[str, str] = {
    "not_allowed_in_status": "This request is not at a stage where that can be done.",
    "submitter_cannot_approve": "You submitted this request, so someone else must approve it.",
    "already_approved_by_you": (
        "You already approved this request. A second staff member must give the second approval."
    ),
    "blocking_findings": (
        "Legal-sufficiency errors block every category this request asks for. Reject it, or "
        "request information so the agency can send proper process."
    ),
    "emergency_not_verified": (
        "This emergency is not verified yet. Call the agency back on a number from the agency "
        "directory (not the number in the request), record the call below, then approve."
    ),
    "missing_document": (
        "The signed legal process has not been uploaded. Upload it, then approve."
    ),
    "hold_expired": "The hold has already ended: records purged since cannot be preserved again.",
    "duplicate_reference": (
        "This agency already filed this reference. Open that request and amend it instead."
    ),
}


# Codes whose service message names specifics (the status, the findings, the number).
_WITH_SPECIFICS = frozenset({"not_allowed_in_status", "blocking_findings", "duplicate_reference"})


def refusal_words(exc: Conflict) -> str:
    """The sentence for a refusal; the service's specifics follow where they add some."""
    headline = REFUSALS.get(exc.refusal_code, "That action was refused.")
    if exc.refusal_code in _WITH_SPECIFICS or exc.refusal_code not in REFUSALS:
        return f"{headline} {exc.detail}"
    return headline
