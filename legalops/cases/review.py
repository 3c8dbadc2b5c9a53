"""Review: claim, four-eyes approval with narrowing, rejection, questions to the
agency and their answers, withdrawal, emergency verification, deadline extensions.

Every status change is a ``workflow.transition`` (compare-and-set + audit event in
one transaction); every refusal is a ``Conflict`` with a code from API.md.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from legalops.api_errors import Conflict
from legalops.audit.services import audit_record
from legalops.cases.findings import findings_refresh
from legalops.cases.models import (
    DeadlineExtension,
    EmergencyVerification,
    GoodFaithDetermination,
    LegalRequest,
    MessageFrom,
    NarrowingBasis,
    NumberSource,
    Outcome,
    RequestApproval,
    RequestDocument,
    RequestIdentifier,
    RequestMessage,
    Status,
)
from legalops.cases.rules import COMPULSORY, ProcessType, Severity
from legalops.cases.scope import Scope, ScopeError, scope_propose, scope_requested
from legalops.cases.services import (
    IntakeError,
    hold_on_arrival,
    normalized_identifiers,
    request_hold_release,
)
from legalops.cases.workflow import transition
from lookups.normalize import HandleError, normalize_handle


def _notify_agency(*, request: LegalRequest, subject: str, body: str) -> None:
    """Mail the agency contact once the change has committed (never for a rollback)."""

    def send() -> None:
        send_mail(
            subject=f"[{request.number}] {subject}",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[request.contact_email],
            fail_silently=False,
        )

    transaction.on_commit(send)


def request_claim(*, request: LegalRequest, actor: AbstractUser) -> LegalRequest:
    return transition(request=request, action="claim", actor=actor)


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str = ""
    scope: dict[str, Any] | None = None
    narrowing_basis: str = ""
    good_faith_facts: str = ""


def request_review(
    *, request: LegalRequest, actor: AbstractUser, decision: Decision
) -> LegalRequest:
    if decision.decision == "approve":
        return request_approve(request=request, actor=actor, decision=decision)
    if not decision.reason.strip():
        raise IntakeError({"reason": [f"A reason is required to {decision.decision}."]})
    if decision.decision == "reject":
        return request_reject(request=request, actor=actor, reason=decision.reason)
    return request_info_ask(request=request, actor=actor, question=decision.reason)


def _active_approvals(request: LegalRequest) -> list[RequestApproval]:
    return list(
        RequestApproval.objects.filter(request=request, cleared_at__isnull=True).select_related(
            "by"
        )
    )


def request_approve(
    *, request: LegalRequest, actor: AbstractUser, decision: Decision
) -> LegalRequest:
    """Four eyes: two different staff members, never the submitter. The first
    approval proposes a scope, the second confirms or narrows it and fixes it."""
    with transaction.atomic():
        request = LegalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status not in {
            Status.RECEIVED,
            Status.IN_REVIEW,
            Status.AWAITING_SECOND_APPROVAL,
        }:
            raise Conflict(
                f"{request.number} is {request.status.replace('_', ' ')}; only a request in "
                "review can be approved.",
                code="not_allowed_in_status",
            )
        if request.submitted_by_id == actor.pk:
            raise Conflict(
                "You submitted this request, so someone else must approve it.",
                code="submitter_cannot_approve",
            )
        approvals = _active_approvals(request)
        if any(a.by_id == actor.pk for a in approvals):
            raise Conflict(
                "You already approved this request; a second staff member must approve it.",
                code="already_approved_by_you",
            )
        if request.process_type == ProcessType.PRESERVATION:
            raise Conflict(
                "A preservation discloses nothing and is not approved.",
                code="not_allowed_in_status",
            )
        lawful, base = _approvable_base(request=request, approvals=approvals)
        try:
            scope = scope_propose(proposal=decision.scope, base=base, region=request.agency.country)
        except ScopeError as exc:
            raise IntakeError(exc.errors) from exc
        # Dropping what the law does not reach is not a reviewer's narrowing.
        narrowed = not scope.same_as(lawful)
        has_basis = decision.narrowing_basis in NarrowingBasis.values or bool(
            request.narrowing_basis or any(a.narrowing_basis for a in approvals)
        )
        if narrowed and request.process_type in COMPULSORY and not has_basis:
            bases = ", ".join(NarrowingBasis.values)
            raise IntakeError(
                {"narrowing_basis": [f"Narrowing compulsory process needs a basis: {bases}."]}
            )
        if request.process_type == ProcessType.EMERGENCY:
            _check_emergency(request=request, actor=actor, decision=decision)

        RequestApproval.objects.create(
            request=request,
            by=actor,
            scope=scope.as_json(),
            reason=decision.reason,
            narrowing_basis=decision.narrowing_basis,
        )
        details = {
            "scope": scope.as_json(),
            "narrowing_basis": decision.narrowing_basis,
            "reason": decision.reason,
        }
        if approvals:
            updates: dict[str, Any] = {"scope": scope.as_json()}
            if narrowed:
                updates["narrowing_basis"] = decision.narrowing_basis or (
                    request.narrowing_basis
                    or next((a.narrowing_basis for a in approvals if a.narrowing_basis), "")
                )
                updates["narrowing_reason"] = decision.reason or next(
                    (a.reason for a in approvals if a.reason), ""
                )
            approved = transition(
                request=request,
                action="approve_second",
                actor=actor,
                details=details,
                updates=updates,
            )
            # Imported here: the package job depends on cases, not the other way.
            from legalops.disclosures.services import package_enqueue

            package_enqueue(request=approved)
            return approved
        return transition(request=request, action="approve_first", actor=actor, details=details)


def _approvable_base(
    *, request: LegalRequest, approvals: list[RequestApproval]
) -> tuple[Scope, Scope]:
    """The request's lawful part (an error finding blocks its category), and what
    this approval may narrow: the first approval's scope, or that lawful part."""
    errors = list(request.findings.filter(severity=Severity.ERROR))
    if any(f.code == "missing_document" for f in errors):
        raise Conflict(
            "The signed legal process has not been uploaded; approve it once it is.",
            code="missing_document",
        )
    blocked_all = any(f.category is None for f in errors)
    blocked = {f.category for f in errors if f.category}
    allowed = set() if blocked_all else set(request.data_categories) - blocked
    if not allowed:
        codes = ", ".join(sorted({f.code for f in errors}))
        raise Conflict(
            f"Legal-sufficiency errors ({codes}) block every category this request asks "
            "for; reject it or ask the agency for proper process.",
            code="blocking_findings",
        )
    lawful = scope_requested(request=request, allowed_categories=allowed)
    if approvals:
        first = Scope.from_json(approvals[-1].scope)
        # The first approval may have been given before a finding changed.
        return lawful, Scope(
            first.identifiers,
            first.date_from,
            first.date_to,
            first.direction,
            tuple(c for c in first.categories if c in allowed),
            first.fields,
        )
    return lawful, lawful


def _check_emergency(*, request: LegalRequest, actor: AbstractUser, decision: Decision) -> None:
    if not emergency_is_verified(request=request):
        raise Conflict(
            "This emergency has not been verified: call the agency back on a number from "
            "the agency directory (not the number in the request) and record the call.",
            code="emergency_not_verified",
        )
    if not decision.good_faith_facts.strip():
        raise IntakeError(
            {
                "good_faith_facts": [
                    "Record the facts on which you believe in good faith that an emergency "
                    "involving danger of death or serious physical injury requires disclosure "
                    "without delay."
                ]
            }
        )
    GoodFaithDetermination.objects.update_or_create(
        request=request,
        defaults={"by": actor, "facts": decision.good_faith_facts, "at": timezone.now()},
    )


def emergency_is_verified(*, request: LegalRequest) -> bool:
    """A confirmed callback to a directory number that is not a number the request
    itself gave, neither now nor when the call was made."""
    own = _normalized_phone(request.contact_phone, region=request.agency.country)
    calls = request.verifications.filter(
        confirmed=True, number_source=NumberSource.AGENCY_DIRECTORY, called_request_number=False
    )
    for call in calls:
        called = _normalized_phone(call.called_number, region=request.agency.country)
        if called and called != own:
            return True
    return False


def _normalized_phone(raw: str, *, region: str) -> str | None:
    """The E.164 form of a phone number, or None (an email is not a number to call)."""
    try:
        handle = normalize_handle(raw, region=region) if raw else None
    except HandleError:
        return None
    return handle.normalized if handle and handle.kind == "phone" else None


def emergency_verify(
    *,
    request: LegalRequest,
    actor: AbstractUser,
    called_number: str,
    number_source: str,
    spoke_with: str,
    called_at: datetime,
    confirmed: bool,
) -> EmergencyVerification:
    if request.process_type != ProcessType.EMERGENCY:
        raise Conflict(
            "Only emergency requests are verified by callback.", code="not_allowed_in_status"
        )
    if _normalized_phone(called_number, region=request.agency.country) is None:
        raise IntakeError(
            {"called_number": [f"{called_number!r} is not a valid phone number to call."]}
        )
    with transaction.atomic():
        called = _normalized_phone(called_number, region=request.agency.country)
        given = _normalized_phone(request.contact_phone, region=request.agency.country)
        verification = EmergencyVerification.objects.create(
            called_request_number=called == given,
            request=request,
            called_number=called_number,
            number_source=number_source,
            spoke_with=spoke_with,
            called_at=called_at,
            confirmed=confirmed,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action="request.emergency_verification",
            target=request,
            details={
                "called_number": called_number,
                "number_source": number_source,
                "spoke_with": spoke_with,
                "called_at": called_at,
                "confirmed": confirmed,
                "counts": emergency_is_verified(request=request),
            },
        )
    return verification


def request_reject(*, request: LegalRequest, actor: AbstractUser, reason: str) -> LegalRequest:
    with transaction.atomic():
        request = transition(
            request=request,
            action="reject",
            actor=actor,
            details={"reason": reason},
            updates={"outcome": Outcome.REJECTED, "clock_paused_at": None},
        )
        RequestApproval.objects.filter(request=request, cleared_at__isnull=True).update(
            cleared_at=timezone.now()
        )
        _notify_agency(
            request=request,
            subject="Request rejected",
            body=f"{request.number} ({request.reference}) was rejected.\n\n{reason}",
        )
    return request


def request_info_ask(*, request: LegalRequest, actor: AbstractUser, question: str) -> LegalRequest:
    """Ask the agency a question: approvals are cleared and the clock pauses."""
    now = timezone.now()
    with transaction.atomic():
        request = transition(
            request=request,
            action="request_info",
            actor=actor,
            details={"question": question},
            updates={"clock_paused_at": now},
        )
        cleared = RequestApproval.objects.filter(request=request, cleared_at__isnull=True).update(
            cleared_at=now
        )
        RequestMessage.objects.create(
            request=request, sender=MessageFrom.STAFF, author=actor, text=question, at=now
        )
        if cleared:
            audit_record(
                actor=actor,
                action="request.approvals_cleared",
                target=request,
                details={"cleared": cleared},
            )
        _notify_agency(
            request=request,
            subject="Question about your request",
            body=f"Legal staff asked about {request.number} ({request.reference}):\n\n"
            f"{question}\n\nAnswer through the API (PATCH the request).",
        )
    return request


ANSWERABLE_FIELDS = frozenset(
    {
        "legal_authority",
        "issuing_authority",
        "issued_on",
        "expires_on",
        "date_from",
        "date_to",
        "identifiers",
        "nondisclosure_until",
        "nondisclosure_indefinite",
        "emergency_justification",
        "contact_name",
        "contact_email",
        "contact_phone",
    }
)


def request_answer(
    *, request: LegalRequest, actor: AbstractUser, changes: dict[str, Any], answer: str
) -> LegalRequest:
    """The agency answers a question (PATCH): fields may change, but identifiers
    may not be added nor the range widened unless a new document came with it."""
    if unknown := set(changes) - ANSWERABLE_FIELDS:
        raise IntakeError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    with transaction.atomic():
        request = LegalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != Status.INFO_REQUESTED:
            raise Conflict(
                f"{request.number} is {request.status.replace('_', ' ')}: it can be amended "
                "only while staff wait for an answer.",
                code="not_allowed_in_status",
            )
        asked_at = request.clock_paused_at
        new_document = RequestDocument.objects.filter(
            request=request, uploaded_at__gte=asked_at
        ).exists()
        identifiers = None
        if "identifiers" in changes:
            identifiers = normalized_identifiers(
                raw=changes.pop("identifiers"), region=request.agency.country
            )
        date_from = changes.get("date_from", request.date_from)
        date_to = changes.get("date_to", request.date_to)
        if date_from is not None and date_to is not None and date_from > date_to:
            raise IntakeError({"date_from": ["date_from is after date_to."]})
        widened = _widening(request=request, changes=changes, identifiers=identifiers)
        if widened and not new_document:
            raise IntakeError(
                {
                    name: [
                        "Adding identifiers or widening the range needs new signed process: upload "
                        "it first."
                    ]
                    for name in widened
                }
            )
        now = timezone.now()
        updates = dict(changes)
        paused = now - asked_at if asked_at else None
        if paused is not None:
            updates["due_at"] = request.due_at + paused
        updates["clock_paused_at"] = None
        if answer.strip():
            RequestMessage.objects.create(
                request=request, sender=MessageFrom.AGENCY, author=actor, text=answer, at=now
            )
        if identifiers is not None:
            request.identifiers.all().delete()
            RequestIdentifier.objects.bulk_create(
                RequestIdentifier(request=request, position=i, raw=raw, normalized=norm, kind=kind)
                for i, (raw, norm, kind) in enumerate(identifiers)
            )
        request = transition(
            request=request,
            action="answer",
            actor=actor,
            details={
                "changed": sorted(set(changes) | ({"identifiers"} if identifiers else set())),
                "paused_seconds": int(paused.total_seconds()) if paused else 0,
            },
            updates=updates,
        )
        if widened:
            _rehold(request=request, actor=actor)
        findings_refresh(request=request, actor=actor)
    return request


def _widening(
    *,
    request: LegalRequest,
    changes: dict[str, Any],
    identifiers: list[tuple[str, str, str]] | None,
) -> list[str]:
    widened = []
    if identifiers is not None:
        current = set(request.identifiers.values_list("normalized", flat=True))
        if {norm for _, norm, _ in identifiers} - current:
            widened.append("identifiers")
    if "date_from" in changes and (
        request.date_from is None
        or changes["date_from"] is None
        or changes["date_from"] < request.date_from
    ):
        widened.append("date_from")
    if "date_to" in changes and (
        request.date_to is None
        or changes["date_to"] is None
        or changes["date_to"] > request.date_to
    ):
        widened.append("date_to")
    return widened


def _rehold(*, request: LegalRequest, actor: AbstractUser) -> None:
    """A widened request gets a hold for what it asks now, placed before the old one
    is released, so no row is ever unprotected in between."""
    old = request.hold
    hold_on_arrival(request=request, actor=actor)
    if old is not None and old.pk != request.hold_id:
        request_hold_release(
            hold=old, actor=actor, reason=f"superseded by the amended {request.number}"
        )


def request_withdraw(*, request: LegalRequest, actor: AbstractUser) -> LegalRequest:
    with transaction.atomic():
        request = transition(
            request=request,
            action="withdraw",
            actor=actor,
            updates={"outcome": Outcome.WITHDRAWN, "clock_paused_at": None},
        )
        # A withdrawn request has nothing left to approve.
        RequestApproval.objects.filter(request=request, cleared_at__isnull=True).update(
            cleared_at=timezone.now()
        )
    return request


def deadline_extend(
    *, request: LegalRequest, actor: AbstractUser, due_at: datetime, agreed_by: str, reason: str
) -> LegalRequest:
    if not agreed_by.strip() or not reason.strip():
        raise IntakeError({"agreed_by": ["Say who at the agency agreed, and why."]})
    with transaction.atomic():
        request = LegalRequest.objects.select_for_update().get(pk=request.pk)
        if due_at <= request.due_at:
            raise IntakeError({"due_at": ["An extension moves the deadline later."]})
        DeadlineExtension.objects.create(
            request=request,
            previous_due_at=request.due_at,
            due_at=due_at,
            agreed_by=agreed_by,
            reason=reason,
            recorded_by=actor,
        )
        LegalRequest.objects.filter(pk=request.pk).update(due_at=due_at)
        audit_record(
            actor=actor,
            action="request.deadline_extended",
            target=request,
            details={
                "from": request.due_at,
                "to": due_at,
                "agreed_by": agreed_by,
                "reason": reason,
            },
        )
        request.refresh_from_db()
    return request
