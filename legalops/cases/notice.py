"""Whether and when the account holder is told: derived, never stored.

The default policy notifies before disclosure. Only a non-disclosure order under
18 U.S.C. 2705(b) delays that: to its end date, or "until further order"
(flagged for challenge). A cover letter asking for silence is not an order.
"""

from dataclasses import dataclass
from datetime import date

from legalops.cases.models import LegalRequest
from legalops.cases.rules import ProcessType


@dataclass(frozen=True)
class Notice:
    state: str
    until: date | None = None


def notice_for(*, request: LegalRequest) -> Notice:
    if request.process_type == ProcessType.PRESERVATION:
        return Notice("not_required")  # nothing is disclosed
    if request.process_type == ProcessType.EMERGENCY:
        return Notice("after_emergency")
    if request.nondisclosure_indefinite:
        return Notice("delayed_indefinitely")
    if request.nondisclosure_until is not None:
        return Notice("delayed_until", request.nondisclosure_until)
    return Notice("notify_before_disclosure")
