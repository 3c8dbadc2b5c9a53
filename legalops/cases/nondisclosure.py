"""Confirming a non-disclosure order (18 U.S.C. 2705(b)) on file.

An agency may ask for silence in its request; only a court's order delays notice.
A reviewer reads the uploaded order and confirms its term here; from then on the
request's notice follows the order, not the ask (``notice.notice_for``).
"""

from datetime import date
from uuid import UUID

from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone

from legalops.api_errors import Conflict
from legalops.audit.services import audit_record
from legalops.cases.findings import findings_refresh
from legalops.cases.models import LegalRequest, NondisclosureOrder, RequestDocument, Status
from legalops.cases.rules import COMPULSORY
from legalops.cases.services import IntakeError

# Rejected or withdrawn (closed): nothing will be disclosed, so no notice is left to delay.
_SETTLED_WITHOUT_DISCLOSURE = (Status.REJECTED, Status.CLOSED)


def nondisclosure_confirm(
    *,
    request: LegalRequest,
    actor: AbstractUser,
    document: UUID,
    until: date | None,
    indefinite: bool,
) -> NondisclosureOrder:
    """Record that ``document`` is a 2705(b) order delaying notice ``until`` a date
    or ``indefinite``-ly ("until further order"); findings are recomputed."""
    if request.process_type not in COMPULSORY:
        raise Conflict(
            f"A {request.get_process_type_display().lower()} is not answered under "
            "compulsory process, so a 2705(b) order does not attach to it: its notice "
            "rule stands.",
            code="not_allowed_in_status",
        )
    if indefinite == (until is not None):
        raise IntakeError(
            {"until": ["Give the date the order ends, or indefinite: true, not both."]}
        )
    if until is not None and until < timezone.localdate():
        raise IntakeError(
            {"until": [f"The order ended on {until.isoformat()}: it delays nothing now."]}
        )
    with transaction.atomic():
        request = LegalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status in _SETTLED_WITHOUT_DISCLOSURE:
            raise Conflict(
                f"This request is {request.status}: nothing will be disclosed, so there "
                "is no notice to delay.",
                code="not_allowed_in_status",
            )
        order_document = RequestDocument.objects.filter(pk=document, request=request).first()
        if order_document is None:
            raise IntakeError(
                {"document": ["Name one of this request's uploaded documents: the signed order."]}
            )
        if order_document.superseded_by_id is not None:
            raise IntakeError(
                {"document": ["That document was replaced: confirm the one that replaced it."]}
            )
        order = NondisclosureOrder.objects.create(
            request=request,
            document=order_document,
            until=until,
            indefinite=indefinite,
            confirmed_by=actor,
        )
        audit_record(
            actor=actor,
            action="request.nondisclosure_confirmed",
            target=request,
            details={
                "document": str(order_document.id),
                "sha256": order_document.sha256,
                "until": until,
                "indefinite": indefinite,
            },
        )
        findings_refresh(request=request, actor=actor)
    return order
