"""The print context of a package: everything the templates show, as plain strings.

Built from the request and its fixed scope only; the templates autoescape every
value, so nothing an agency typed can become markup.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from django.conf import settings
from django.utils import timezone as dj_timezone

from legalops.cases.models import LegalRequest
from legalops.cases.rules import Category
from legalops.cases.scope import Scope
from legalops.disclosures.records import local_text, utc_text

DIRECTION_TEXT = {
    "outgoing": "lookups made by the identifiers below (they are the source)",
    "incoming": "lookups of the identifiers below made by other accounts (third-party records)",
    "both": "lookups made by the identifiers below, and lookups of them made by other accounts "
    "(third-party records)",
}
NARROWING_TEXT = {
    "agreed_with_agency": "narrowed as agreed with the requesting agency",
    "invalid_identifier": "an identifier was not a valid handle",
    "not_in_signed_process": "not named in the body of the signed legal process",
    "objection_filed": "narrowed pending an objection filed with the court",
    "emergency_scope": "limited to what the emergency requires",
}
CATEGORY_NOTES = {
    "content": "none stored: this provider keeps no message content",
    "subscriber_info": "not held by this system; answered separately by the subscriber team",
}


def _offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _date(value: Any) -> str | None:
    return value.isoformat() if value else None


def package_context_request(request: LegalRequest) -> dict[str, Any]:
    """The request's own facts as the letters print them."""
    return {
        "number": request.number,
        "reference": request.reference,
        "agency_name": request.agency.name,
        "contact_name": request.contact_name,
        "contact_email": request.contact_email,
        "contact_phone": request.contact_phone,
        "issuing_authority": request.issuing_authority,
        "legal_authority": request.legal_authority,
        "process_type": request.process_type,
        "process_type_label": request.get_process_type_display(),
        "jurisdiction": request.jurisdiction,
        "issued_on": _date(request.issued_on),
        "received_at": utc_text(request.received_at),
        "expires_on": _date(request.expires_on),
    }


def package_context(
    *,
    request: LegalRequest,
    scope: Scope,
    bates_prefix: str,
    per_identifier: Counter[str],
    row_count: int,
    csv_sha256: str,
    custodian: tuple[str, str] | None,
) -> dict[str, Any]:
    """``custodian`` (name, title) signs the certificate; None renders the draft."""
    offset = request.utc_offset_minutes
    raw_by_normalized = {i.normalized: i.raw for i in request.identifiers.all()}
    categories = []
    for category in request.data_categories:
        produced = category in scope.categories
        note = (
            "produced below"
            if produced
            else CATEGORY_NOTES.get(category, "not produced: the legal process does not reach it")
        )
        if category == Category.QUERY_LOGS and produced and row_count == 0:
            note = "no responsive records"
        categories.append(
            {
                "name": category,
                "label": Category(category).label,
                "produced": produced,
                "note": note,
            }
        )
    now = dj_timezone.now()
    return {
        "request": package_context_request(request),
        "identifiers": [
            {
                "raw": raw_by_normalized.get(handle, handle),
                "normalized": handle,
                "kind": "email" if "@" in handle else "phone",
                "rows": per_identifier[handle],
            }
            for handle in scope.identifiers
        ],
        "categories": categories,
        "direction": scope.direction,
        "direction_text": DIRECTION_TEXT[scope.direction],
        "range": {
            "from_local": local_text(scope.date_from, offset),
            "to_local": local_text(scope.date_to, offset),
            "tz_label": _offset_label(offset),
            "from_utc": utc_text(scope.date_from),
            "to_utc": utc_text(scope.date_to + timedelta(seconds=1) - timedelta(microseconds=1)),
        },
        "narrowing": (
            {
                "basis": request.narrowing_basis,
                "basis_label": NARROWING_TEXT.get(request.narrowing_basis, request.narrowing_basis),
                "reason": request.narrowing_reason,
            }
            if request.narrowing_basis
            else None
        ),
        "fields": list(scope.fields),
        "bates_prefix": bates_prefix,
        "row_count": row_count,
        "generated_at": utc_text(now),
        "authentication_contact": {
            "name": settings.LEGALOPS_CUSTODIAN_CONTACT_NAME,
            "email": settings.LEGALOPS_CUSTODIAN_CONTACT_EMAIL,
            "phone": settings.LEGALOPS_CUSTODIAN_CONTACT_PHONE,
        },
        "certificate": {
            "signed": custodian is not None,
            "custodian_name": custodian[0] if custodian else "",
            "custodian_title": custodian[1] if custodian else "Custodian of Records",
            "executed_on": now.astimezone(UTC).date().isoformat(),
            "csv_sha256": csv_sha256,
            "row_count": row_count,
            "california": request.jurisdiction == "US-CA",
        },
        "retention_days": settings.LOOKUPS_RETENTION_DAYS,
    }


def display_row(
    values: dict[str, str], *, offset_minutes: int, identifiers: set[str]
) -> dict[str, Any]:
    """A CSV row as the records table prints it, with the order's local time and
    the third-party mark for lookups *of* an identifier by someone else."""
    moment = datetime.strptime(values["occurred_at_utc"], "%Y-%m-%d %H:%M:%S.%fZ").replace(
        tzinfo=UTC
    )
    zone = timezone(timedelta(minutes=offset_minutes))
    return {
        "n": int(values["row"]),
        "utc": values["occurred_at_utc"],
        "local": moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f %z"),
        "service": values.get("service", ""),
        "source": values.get("source", ""),
        "target": values.get("target", ""),
        "source_ip": values.get("source_ip", ""),
        "client": values.get("client", ""),
        "target_reachable": values.get("target_reachable") == "true",
        "third_party": values.get("source") not in identifiers,
    }


def no_records_context(
    *, request: LegalRequest, scope: Scope, context: dict[str, Any]
) -> dict[str, Any]:
    """The letter for a scope that matched nothing: per identifier, whether nothing
    was logged or the range is (partly) past retention."""
    now = dj_timezone.now()
    cutoff = now - timedelta(days=settings.LOOKUPS_RETENTION_DAYS)
    if scope.date_to < cutoff:
        status = "not_retained"
    elif scope.date_from < cutoff:
        status = "partly_retained"
    else:
        status = "none_logged"
    return {
        **context,
        "identifiers": [{**item, "status": status} for item in context["identifiers"]],
        "searched_at": utc_text(now),
        "retention_cutoff": utc_text(cutoff),
    }


def acknowledgement_context(*, request: LegalRequest) -> dict[str, Any]:
    hold = request.hold
    renew_by = hold.expires_at if hold and hold.expires_at else None
    return {
        "request": package_context_request(request),
        "identifiers": [
            {"raw": i.raw, "normalized": i.normalized, "kind": i.kind, "rows": 0}
            for i in request.identifiers.all()
        ],
        "held_from": utc_text(hold.date_from) if hold else "",
        "held_to": utc_text(hold.date_to) if hold else "",
        "expires_at": utc_text(hold.expires_at) if hold and hold.expires_at else "",
        "renew_by": utc_text(renew_by) if renew_by else "",
        "authentication_contact": {
            "name": settings.LEGALOPS_CUSTODIAN_CONTACT_NAME,
            "email": settings.LEGALOPS_CUSTODIAN_CONTACT_EMAIL,
            "phone": settings.LEGALOPS_CUSTODIAN_CONTACT_PHONE,
        },
        "generated_at": utc_text(dj_timezone.now()),
    }
