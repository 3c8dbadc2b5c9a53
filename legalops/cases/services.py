"""Writes for legal requests: intake, documents, preservation renewal, holds.

Every function here changes state and writes its audit event in the same
transaction, so the record of what happened can never disagree with what did.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import BinaryIO
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from legalops.accounts.models import Agency
from legalops.accounts.roles import user_is_officer
from legalops.api_errors import Conflict
from legalops.audit.services import audit_record
from legalops.cases.deadlines import due_at_compute
from legalops.cases.document_text import is_pdf, pdf_text
from legalops.cases.findings import findings_refresh
from legalops.cases.models import (
    LegalRequest,
    Outcome,
    RequestCounter,
    RequestDocument,
    RequestIdentifier,
    Status,
)
from legalops.cases.rules import ProcessType
from legalops.cases.workflow import transition
from lookups.holds import hold_place, hold_release
from lookups.models import Hold
from lookups.normalize import HandleError, normalize_handle
from lookups.retention import retention_cutoff

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class IntakeError(Exception):
    """Input that fails validation; ``errors`` is in the API's 400 shape."""

    def __init__(self, errors: dict[str, object]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class RequestInput:
    process_type: str
    jurisdiction: str
    reference: str
    identifiers: list[str]
    direction: str
    data_categories: list[str]
    contact_name: str
    contact_email: str
    contact_phone: str = ""
    legal_authority: str = ""
    issuing_authority: str = ""
    issued_on: date | None = None
    expires_on: date | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    nondisclosure_until: date | None = None
    nondisclosure_indefinite: bool = False
    emergency_justification: str = ""
    # The order's own UTC offset, as written (parsing converts times to UTC).
    utc_offset_minutes: int = 0


def normalized_identifiers(*, raw: list[str], region: str) -> list[tuple[str, str, str]]:
    errors: dict[str, list[str]] = {}
    normalized: list[tuple[str, str, str]] = []
    for index, value in enumerate(raw):
        try:
            handle = normalize_handle(value, region=region)
        except HandleError as exc:
            errors[str(index)] = [f"{value!r} {exc}"]
            continue
        normalized.append((value, handle.normalized, handle.kind))
    if errors:
        raise IntakeError({"identifiers": errors})
    return normalized


def _next_number(*, at: datetime) -> str:
    counter, _ = RequestCounter.objects.select_for_update().get_or_create(year=at.year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"LR-{at.year}-{counter.last:06d}"


def _duplicate_reference(*, agency: Agency, reference: str) -> Conflict | None:
    existing = LegalRequest.objects.filter(agency=agency, reference=reference).first()
    if existing is None:
        return None
    return Conflict(
        f"This agency already filed reference {reference!r} as {existing.number}; "
        "amend that request instead of filing it again.",
        code="duplicate_reference",
        extra={"id": str(existing.id)},
    )


def request_submit(*, submitter: AbstractUser, agency: Agency, data: RequestInput) -> LegalRequest:
    """File a request: normalize identifiers (national numbers in the agency's
    country), number it, set its deadline, hold what it asks for, compute findings.

    Raises ``IntakeError`` (400, nothing stored) or ``Conflict`` (409
    ``duplicate_reference``, carrying the existing request's id).
    """
    identifiers = normalized_identifiers(raw=data.identifiers, region=agency.country)
    if conflict := _duplicate_reference(agency=agency, reference=data.reference):
        raise conflict
    received_at = timezone.now()
    try:
        with transaction.atomic():
            request = LegalRequest.objects.create(
                number=_next_number(at=received_at),
                agency=agency,
                submitted_by=submitter,
                process_type=data.process_type,
                jurisdiction=data.jurisdiction,
                legal_authority=data.legal_authority,
                reference=data.reference,
                issuing_authority=data.issuing_authority,
                issued_on=data.issued_on,
                expires_on=data.expires_on,
                date_from=data.date_from,
                date_to=data.date_to,
                utc_offset_minutes=data.utc_offset_minutes,
                direction=data.direction,
                data_categories=sorted(set(data.data_categories)),
                nondisclosure_until=data.nondisclosure_until,
                nondisclosure_indefinite=data.nondisclosure_indefinite,
                emergency_justification=data.emergency_justification,
                contact_name=data.contact_name,
                contact_email=data.contact_email,
                contact_phone=data.contact_phone,
                received_at=received_at,
                due_at=due_at_compute(
                    process_type=data.process_type,
                    received_at=received_at,
                    expires_on=data.expires_on,  # type: ignore[arg-type]
                ),
            )
            RequestIdentifier.objects.bulk_create(
                RequestIdentifier(request=request, position=i, raw=raw, normalized=norm, kind=kind)
                for i, (raw, norm, kind) in enumerate(identifiers)
            )
            audit_record(
                actor=submitter,
                action="request.submitted",
                target=request,
                details={
                    "number": request.number,
                    "agency": str(agency.id),
                    "process_type": request.process_type,
                    "identifiers": [norm for _, norm, _ in identifiers],
                    "date_from": request.date_from,
                    "date_to": request.date_to,
                    "direction": request.direction,
                    "categories": request.data_categories,
                },
            )
            hold_on_arrival(request=request, actor=submitter)
            if request.process_type == ProcessType.PRESERVATION:
                request = transition(
                    request=request,
                    action="preserve",
                    actor=submitter,
                    updates={"outcome": Outcome.PRESERVED},
                )
                _acknowledge_on_commit(request_id=str(request.pk))
            findings_refresh(request=request, actor=submitter)
    except IntegrityError:
        # A concurrent filing of the same reference won the race.
        if conflict := _duplicate_reference(agency=agency, reference=data.reference):
            raise conflict from None
        raise
    return request


def _acknowledge_on_commit(*, request_id: str) -> None:
    # Imported here: the package app builds on cases, not the other way round.
    from legalops.disclosures.tasks import acknowledgement_issue_task

    transaction.on_commit(lambda: acknowledgement_issue_task.delay(request_id))


def hold_on_arrival(*, request: LegalRequest, actor: AbstractUser) -> Hold | None:
    """Hold the rows the request asks for that still exist, clipped at receipt.

    A preservation holds every retained row of its identifiers, both directions,
    for 90 days; any other request holds its own range until staff release it.
    """
    received_at = request.received_at
    earliest = retention_cutoff(now=received_at)
    if request.process_type == ProcessType.PRESERVATION:
        date_from, date_to = earliest, received_at
        expires_at: datetime | None = received_at + timedelta(
            days=settings.LEGALOPS_PRESERVATION_DAYS
        )
    else:
        date_from = max(request.date_from or earliest, earliest)
        date_to = min(request.date_to or received_at, received_at)
        expires_at = None
    if date_from > date_to:
        return None  # nothing it asks for exists (a range wholly in the future)
    hold = hold_place(
        identifiers=[i.normalized for i in request.identifiers.all()],
        date_from=date_from,
        date_to=date_to,
        reason=f"{request.get_process_type_display()} {request.reference}",
        placed_by=request.number,
        expires_at=expires_at,
    )
    LegalRequest.objects.filter(pk=request.pk).update(hold=hold)
    request.hold = hold
    audit_record(
        actor=actor,
        action="hold.placed",
        target=hold,
        details={
            "request": request.number,
            "date_from": date_from,
            "date_to": date_to,
            "expires_at": expires_at,
        },
    )
    return hold


def document_add(
    *,
    request: LegalRequest,
    uploader: AbstractUser,
    name: str,
    data: bytes,
    supersedes: UUID | None = None,
) -> RequestDocument:
    """Attach a PDF (checked by content, at most 20 MB) and recompute findings.

    ``supersedes`` names an earlier document of the request this one replaces (a
    proposed order sent by mistake, say): it stays on file but no longer counts."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise IntakeError({"file": [f"the file is larger than {MAX_DOCUMENT_BYTES // 2**20} MB"]})
    if not data:
        raise IntakeError({"file": ["the file is empty"]})
    if not is_pdf(data):
        raise IntakeError({"file": ["the file is not a PDF (checked by its content)"]})
    digest = hashlib.sha256(data).hexdigest()
    safe_name = (name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or "document.pdf")[:200]
    with transaction.atomic():
        document = RequestDocument(
            request=request,
            name=safe_name,
            sha256=digest,
            size=len(data),
            text=pdf_text(data),
            uploaded_by=uploader,
        )
        replaced = _document_to_supersede(
            request=request, uploader=uploader, document_id=supersedes
        )
        if replaced is not None:
            # Compare-and-set before anything is written (the new row's id is already
            # known; the foreign key is checked at commit): two replacements of one
            # document cannot both win, and a refused one leaves no file behind.
            won = RequestDocument.objects.filter(pk=replaced.pk, superseded_by__isnull=True).update(
                superseded_by_id=document.id
            )
            if not won:
                raise IntakeError({"supersedes": ["That document was already replaced."]})
        # The stored name is ours, never the uploader's: no path tricks, no collisions.
        document.file.save(f"{document.id}.pdf", ContentFile(data), save=False)
        document.save()
        audit_record(
            actor=uploader,
            action="document.added",
            target=request,
            details={
                "document": str(document.id),
                "name": safe_name,
                "sha256": digest,
                "size": len(data),
                "supersedes": str(replaced.id) if replaced else None,
            },
        )
        findings_refresh(request=request, actor=uploader)
    return document


# Before any approval: an approval, and the package after it, rest on the documents
# as they were (a question to the agency clears approvals, so it may correct them).
SUPERSEDE_STATUSES = (Status.RECEIVED, Status.IN_REVIEW, Status.INFO_REQUESTED)


def _document_to_supersede(
    *, request: LegalRequest, uploader: AbstractUser, document_id: UUID | None
) -> RequestDocument | None:
    if document_id is None:
        return None
    replaced = RequestDocument.objects.filter(pk=document_id, request=request).first()
    if replaced is None:
        raise IntakeError({"supersedes": ["Name one of this request's own documents."]})
    if replaced.superseded_by_id is not None:
        raise IntakeError({"supersedes": ["That document was already replaced."]})
    if request.status not in SUPERSEDE_STATUSES:
        raise IntakeError(
            {
                "supersedes": [
                    f"The request is {request.status.replace('_', ' ')}: its documents are "
                    "the record of what was approved and can no longer be replaced. Upload "
                    "the new document on its own."
                ]
            }
        )
    if user_is_officer(uploader) and not user_is_officer(replaced.uploaded_by):
        raise IntakeError(
            {"supersedes": ["An agency replaces only the documents it uploaded itself."]}
        )
    return replaced


def document_open(*, document: RequestDocument, actor: AbstractUser) -> BinaryIO:
    """Open an uploaded document for a staff member; every opening is audited."""
    audit_record(
        actor=actor,
        action="document.opened",
        target=document.request,
        details={"document": str(document.id), "sha256": document.sha256},
    )
    return document.file.open("rb")


def preservation_renew(*, request: LegalRequest, actor: AbstractUser) -> LegalRequest:
    """Extend a preservation's hold by 90 days from its current end (2703(f)(2)).

    A renewal after the hold ended is refused: purged rows cannot come back.
    """
    if request.process_type != ProcessType.PRESERVATION:
        raise Conflict("Only a preservation request can be renewed.", code="not_allowed_in_status")
    with transaction.atomic():
        locked = LegalRequest.objects.select_for_update().get(pk=request.pk)
        hold = locked.hold
        now = timezone.now()
        if (
            locked.status != Status.PRESERVED
            or hold is None
            or hold.expires_at is None
            or (hold.released_at is not None or hold.expires_at <= now)
        ):
            raise Conflict(
                "The preservation has ended, so the rows it held may be gone; send a new "
                "preservation request.",
                code="hold_expired",
            )
        new_end = hold.expires_at + timedelta(days=settings.LEGALOPS_PRESERVATION_DAYS)
        updated = Hold.objects.filter(pk=hold.pk, expires_at=hold.expires_at).update(
            expires_at=new_end
        )
        if updated != 1:
            raise Conflict("The hold changed meanwhile; try again.", code="not_allowed_in_status")
        LegalRequest.objects.filter(pk=locked.pk).update(renewal_count=locked.renewal_count + 1)
        locked.refresh_from_db()
        audit_record(
            actor=actor,
            action="request.renewed",
            target=locked,
            details={"hold": str(hold.pk), "expires_at": new_end, "renewal": locked.renewal_count},
        )
        findings_refresh(request=locked, actor=actor)
    return locked


def request_hold_release(*, hold: Hold, actor: AbstractUser, reason: str) -> Hold:
    """Staff end a hold with a reason (the only way a compulsory-process hold ends)."""
    if not reason.strip():
        raise IntakeError({"reason": ["A reason is required to release a hold."]})
    with transaction.atomic():
        if not hold_release(hold=hold, reason=reason):
            raise Conflict("This hold was already released.", code="not_allowed_in_status")
        hold.refresh_from_db()
        audit_record(
            actor=actor,
            action="hold.released",
            target=hold,
            details={"reason": reason, "placed_by": hold.placed_by},
        )
    return hold


def preservations_expire(*, now: datetime | None = None) -> int:
    """Mark preserved requests whose hold has ended as expired (beat runs this)."""
    moment = now or timezone.now()
    expired = 0
    candidates = LegalRequest.objects.filter(
        status=Status.PRESERVED, hold__expires_at__lte=moment
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        try:
            transition(request=LegalRequest.objects.get(pk=pk), action="expire", actor=None)
        except Conflict:
            continue  # changed meanwhile: not ours to expire
        expired += 1
    return expired
