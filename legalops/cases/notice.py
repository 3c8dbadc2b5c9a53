"""Whether and when the account holder is told: derived, never stored.

The default policy notifies before disclosure. Only a non-disclosure order under
18 U.S.C. 2705(b), uploaded and confirmed by a reviewer (``nondisclosure``), delays
that: to its end date, or "until further order" (flagged for challenge). What the
agency asks for in its request, or in a cover letter, is not an order.
"""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.utils import timezone

from legalops.cases.models import LegalRequest, NondisclosureOrder
from legalops.cases.rules import ProcessType


@dataclass(frozen=True)
class Notice:
    state: str
    until: date | None = None
    order_document: UUID | None = None  # the confirmed order that delays notice


def nondisclosure_order_current(*, request: LegalRequest) -> NondisclosureOrder | None:
    """The latest confirmed order: an extension is confirmed after the order it extends.
    Reads ``nondisclosure_orders`` through the prefetch the request selectors set up."""
    # An order whose document was replaced (superseded) no longer counts.
    orders = [o for o in request.nondisclosure_orders.all() if o.document.superseded_by_id is None]
    return max(orders, key=lambda order: (order.confirmed_at, str(order.id)), default=None)


def notice_for(*, request: LegalRequest) -> Notice:
    if request.process_type == ProcessType.PRESERVATION:
        return Notice("not_required")  # nothing is disclosed
    if request.process_type == ProcessType.EMERGENCY:
        return Notice("after_emergency")
    order = nondisclosure_order_current(request=request)
    if order is not None and order.indefinite:
        return Notice("delayed_indefinitely", order_document=order.document_id)
    if order is not None and order.until is not None and order.until >= timezone.localdate():
        return Notice("delayed_until", order.until, order_document=order.document_id)
    return Notice("notify_before_disclosure")  # no order, or it has ended
