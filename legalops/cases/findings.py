"""Compute a request's legal-sufficiency findings from the rules table and store them.

Called at intake and whenever a document or a field changes; the stored set is
replaced whole, and a change in the set is audited.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from legalops.audit.services import audit_record
from legalops.cases.models import (
    LegalRequest,
    NondisclosureOrder,
    RequestDocument,
    RequestFinding,
    RequestIdentifier,
)
from legalops.cases.rules import RequestFacts, findings_evaluate


def request_facts(*, request: LegalRequest) -> RequestFacts:
    # Query afresh: the instance may carry prefetched documents from before a change.
    # A superseded document (replaced by a corrected one) no longer counts.
    documents = list(
        RequestDocument.objects.filter(request=request, superseded_by__isnull=True).only("text")
    )
    order = (
        NondisclosureOrder.objects.filter(request=request, document__superseded_by__isnull=True)
        .order_by("confirmed_at", "id")
        .last()
    )
    # A confirmed order's term replaces what the agency asked for.
    ndo_indefinite = order.indefinite if order else request.nondisclosure_indefinite
    ndo_until = order.until if order else request.nondisclosure_until
    return RequestFacts(
        process_type=request.process_type,
        jurisdiction=request.jurisdiction,
        legal_authority=request.legal_authority,
        issued_on=request.issued_on,
        expires_on=request.expires_on,
        received_at=request.received_at,
        date_from=request.date_from,
        date_to=request.date_to,
        direction=request.direction,
        data_categories=tuple(request.data_categories),
        identifier_count=RequestIdentifier.objects.filter(request=request).count(),
        has_document=bool(documents),
        document_texts=tuple(document.text for document in documents),
        contact_email=request.contact_email,
        renewal_count=request.renewal_count,
        nondisclosure_indefinite=ndo_indefinite,
        retention_days=settings.LOOKUPS_RETENTION_DAYS,
        nondisclosure_until=ndo_until,
        nondisclosure_order_confirmed=order is not None,
    )


def findings_refresh(*, request: LegalRequest, actor: AbstractUser | None) -> list[RequestFinding]:
    findings = findings_evaluate(facts=request_facts(request=request))
    with transaction.atomic():
        stale = RequestFinding.objects.filter(request=request)
        before = sorted(stale.values_list("code", "category"), key=str)
        stale.delete()
        stored = RequestFinding.objects.bulk_create(
            RequestFinding(
                request=request,
                code=finding.code,
                severity=finding.severity,
                audience=finding.audience,
                category=finding.category,
                message=finding.message,
                rules_version=finding.rules_version,
            )
            for finding in findings
        )
        after = sorted(((f.code, f.category) for f in findings), key=str)
        if before != after:
            audit_record(
                actor=actor,
                action="request.findings_computed",
                target=request,
                details={
                    "rules_version": findings[0].rules_version if findings else None,
                    "findings": [f"{code}:{category or '-'}" for code, category in after],
                },
            )
    return stored
