"""The state machine of a legal request: API.md's transition table, in one place.

Every status change goes through ``transition``: a compare-and-set on the current
status plus its audit event, in one transaction. Anything the table does not
allow is a 409 ``not_allowed_in_status`` with words a person can act on.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from legalops.api_errors import Conflict
from legalops.audit.services import audit_record
from legalops.cases.models import LegalRequest, Status

S = Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status
    who: str  # for the reader of this table; services check the role


TRANSITIONS: Mapping[str, Transition] = {
    "claim": Transition(frozenset({S.RECEIVED}), S.IN_REVIEW, "staff"),
    "approve_first": Transition(
        frozenset({S.RECEIVED, S.IN_REVIEW}), S.AWAITING_SECOND_APPROVAL, "staff"
    ),
    "approve_second": Transition(
        frozenset({S.AWAITING_SECOND_APPROVAL}), S.APPROVED, "another staff member"
    ),
    "reject": Transition(
        frozenset({S.RECEIVED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL}), S.REJECTED, "staff"
    ),
    "request_info": Transition(
        frozenset({S.RECEIVED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL}),
        S.INFO_REQUESTED,
        "staff",
    ),
    "answer": Transition(frozenset({S.INFO_REQUESTED}), S.IN_REVIEW, "agency"),
    "withdraw": Transition(
        frozenset({S.RECEIVED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL, S.INFO_REQUESTED}),
        S.CLOSED,
        "agency",
    ),
    "start_processing": Transition(frozenset({S.APPROVED}), S.PROCESSING, "the job"),
    "finish": Transition(frozenset({S.PROCESSING}), S.READY, "the job"),
    "fail": Transition(frozenset({S.PROCESSING}), S.FAILED, "the job"),
    "regenerate": Transition(frozenset({S.FAILED}), S.APPROVED, "staff"),
    "release": Transition(frozenset({S.READY}), S.RELEASED, "custodian"),
    "deliver": Transition(frozenset({S.RELEASED}), S.DELIVERED, "first agency download"),
    "preserve": Transition(frozenset({S.RECEIVED}), S.PRESERVED, "intake"),
    "expire": Transition(frozenset({S.PRESERVED}), S.EXPIRED, "the hold's end"),
}

_VERBS = {
    "claim": "opened for review",
    "approve_first": "approved",
    "approve_second": "approved a second time",
    "reject": "rejected",
    "request_info": "sent back with a question",
    "answer": "answered",
    "withdraw": "withdrawn",
    "start_processing": "processed",
    "finish": "finished",
    "fail": "failed",
    "regenerate": "regenerated",
    "release": "released",
    "deliver": "delivered",
    "preserve": "preserved",
    "expire": "expired",
}


def refusal_for_status(*, request: LegalRequest, action: str) -> Conflict:
    allowed = ", ".join(sorted(TRANSITIONS[action].sources))
    return Conflict(
        f"{request.number} is {request.status.replace('_', ' ')}, so it cannot be "
        f"{_VERBS[action]} now (only when it is {allowed}).",
        code="not_allowed_in_status",
    )


def transition(
    *,
    request: LegalRequest,
    action: str,
    actor: AbstractBaseUser | None,
    details: Mapping[str, Any] | None = None,
    updates: Mapping[str, Any] | None = None,
) -> LegalRequest:
    """Move ``request`` along ``action`` by compare-and-set on the status it has now.

    The row is updated only if its status is still the one read (so two racing
    reviewers cannot both act), together with ``updates``, and the audit event is
    written in the same transaction. Returns the refreshed request.
    """
    step = TRANSITIONS[action]
    with transaction.atomic():
        current = (
            LegalRequest.objects.filter(pk=request.pk).values_list("status", flat=True).first()
        )
        if current not in step.sources:
            request.status = current or request.status
            raise refusal_for_status(request=request, action=action)
        changed = LegalRequest.objects.filter(pk=request.pk, status=current).update(
            status=step.target, **(updates or {})
        )
        if changed != 1:
            raise refusal_for_status(request=request, action=action)
        audit_record(
            actor=actor,
            action=f"request.{action}",
            target=request,
            details={"from": current, "to": step.target, **(details or {})},
        )
    request.refresh_from_db()
    return request
