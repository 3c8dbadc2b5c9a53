"""Helpers for the review tests: an API call that enforces the error contract of
API.md, a plain model of a scope, filing payloads, and an incremental check of the
audit chain. Nothing here asserts a workflow rule; the tests do."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from legalops.audit.models import ANCHOR_PK, AuditAnchor, AuditEvent
from legalops.cases.scope import LOG_FIELDS
from legalops.cases.workflow import TRANSITIONS
from tests.cases.requests import court_order, emergency, preservation

# API.md, "Review and the transitions": the only refusal codes a 409 may carry.
REFUSAL_CODES = frozenset(
    {
        "not_allowed_in_status",
        "submitter_cannot_approve",
        "already_approved_by_you",
        "blocking_findings",
        "emergency_not_verified",
        "missing_document",
        "hold_expired",
        "duplicate_reference",
    }
)
TRANSITION_ACTIONS = frozenset(f"request.{name}" for name in TRANSITIONS)
REVIEWABLE = frozenset({"received", "in_review", "awaiting_second_approval"})
WITHDRAWABLE = REVIEWABLE | {"info_requested"}
COMPULSORY = frozenset({"subpoena", "court_order", "search_warrant"})
COVERS = {
    "both": {"both", "outgoing", "incoming"},
    "outgoing": {"outgoing"},
    "incoming": {"incoming"},
}

CONTACT_PHONE = "+14155550123"  # the number the request itself gives (tests/cases/requests.py)
DIRECTORY_PHONE = "+14155550188"  # the agency's number as our directory has it
OTHER_PHONE = "+14155550177"  # some other valid number
STRANGER = "+14155550166"  # a valid identifier no request names
THIRD_IDENTIFIER = "+1 415 555 0199"


def api(client: APIClient, method: str, path: str, data: Any = None) -> Any:
    """One call, checked against the error contract: never a 5xx or an HTML page;
    a 409 carries a refusal code from API.md; a 400 names fields; 401/403/404 say
    only ``detail``. ``data`` with a ``file`` goes multipart, anything else JSON."""
    multipart = isinstance(data, dict) and "file" in data
    try:
        if multipart:
            response = client.post(path, data, format="multipart")
        elif method == "get":
            response = client.get(path)
        else:
            response = getattr(client, method)(path, data, format="json")
    except Exception as exc:  # the test client re-raises what would be a 500
        raise AssertionError(
            f"{method.upper()} {path} {data!r}: the server failed: {exc!r}"
        ) from exc
    where = f"{method.upper()} {path} {data!r} -> {response.status_code}"
    assert response.status_code < 500, where
    assert response["Content-Type"].startswith("application/json"), where
    body = response.json()
    if response.status_code == 409:
        assert {"detail", "code"} <= set(body), (where, body)
        assert body["code"] in REFUSAL_CODES, (where, body)
        assert isinstance(body["detail"], str) and body["detail"].strip(), (where, body)
    elif response.status_code == 400:
        assert isinstance(body, dict) and body, (where, body)
        assert all(isinstance(v, list | dict) for v in body.values()), (where, body)
    elif response.status_code in (401, 403, 404):
        assert set(body) == {"detail"}, (where, body)
    else:
        assert response.status_code in (200, 201), (where, body)
    return response


def outcome(response: Any) -> set[str]:
    """``ok``, ``409:<code>``, ``400:<field>`` (one per field named) or the status."""
    if response.status_code < 300:
        return {"ok"}
    body = response.json()
    if response.status_code == 409:
        return {f"409:{body['code']}"}
    if response.status_code == 400:
        return {f"400:{name}" for name in body}
    return {str(response.status_code)}


def pdf_upload(data: bytes, name: str = "order.pdf") -> dict[str, Any]:
    return {"file": SimpleUploadedFile(name, data, content_type="application/pdf")}


def filing(
    *,
    process_type: str,
    reference: str,
    direction: str = "outgoing",
    categories: tuple[str, ...] = ("query_logs",),
    three_identifiers: bool = False,
    prospective: bool = False,
    agency_id: str | None = None,
) -> dict[str, Any]:
    """A request body: a court order, a subpoena, an emergency or a preservation."""
    overrides: dict[str, Any] = {"reference": reference}
    if process_type != "preservation":  # a preservation holds both directions, one category
        overrides.update(direction=direction, data_categories=list(categories))
    if three_identifiers:
        overrides["identifiers"] = ["+1 (415) 555-0100", "Target@Example.com", THIRD_IDENTIFIER]
    if prospective:
        overrides["date_to"] = (
            (timezone.now() + timedelta(days=1)).replace(microsecond=0).isoformat()
        )
    if agency_id is not None:
        overrides["agency"] = agency_id
    if process_type == "emergency":
        return emergency(**overrides)
    if process_type == "preservation":
        return preservation(**overrides)
    if process_type == "subpoena":
        overrides.setdefault("legal_authority", "Grand jury subpoena, 18 U.S.C. 2703(c)(2)")
        return court_order(process_type="subpoena", **overrides)
    return court_order(**overrides)


def respell(handle: str) -> str:
    """Another spelling of a normalized handle that normalizes back to it."""
    if handle.startswith("+1") and len(handle) == 12:
        return f"({handle[2:5]}) {handle[5:8]}-{handle[8:]}"
    return handle.upper()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def iso(value: datetime) -> str:
    return value.isoformat()


@dataclass(frozen=True)
class Sc:
    """A scope as the tests reason about it (compare with ``same_as``, not ``==``:
    the order of identifiers, categories and fields means nothing)."""

    identifiers: tuple[str, ...]
    date_from: datetime
    date_to: datetime
    direction: str
    categories: tuple[str, ...]
    fields: tuple[str, ...] = LOG_FIELDS

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Sc":
        return cls(
            identifiers=tuple(data["identifiers"]),
            date_from=moment(data["date_from"]),
            date_to=moment(data["date_to"]),
            direction=data["direction"],
            categories=tuple(data["categories"]),
            fields=tuple(data["fields"]),
        )

    def same_as(self, other: "Sc") -> bool:
        return (
            set(self.identifiers) == set(other.identifiers)
            and self.date_from == other.date_from
            and self.date_to == other.date_to
            and self.direction == other.direction
            and set(self.categories) == set(other.categories)
            and set(self.fields) == set(other.fields)
        )

    def inside(self, other: "Sc") -> bool:
        """Not wider than ``other`` in any part (DESIGN.md invariant 3)."""
        return (
            set(self.identifiers) <= set(other.identifiers)
            and other.date_from <= self.date_from <= self.date_to <= other.date_to
            and self.direction in COVERS[other.direction]
            and set(self.categories) <= set(other.categories)
            and set(self.fields) <= set(other.fields)
        )

    def with_categories(self, categories: tuple[str, ...]) -> "Sc":
        return replace(self, categories=categories)


class AuditTail:
    """Follows the chain from its head: each new entry must link to the one before,
    hash to its content, and the anchor must name the newest. Together with a full
    ``audit_verify()`` at the end of a run, that is the whole chain checked, without
    re-reading it after every step."""

    def __init__(self) -> None:
        anchor = AuditAnchor.objects.get(pk=ANCHOR_PK)
        self.seq, self.hash = anchor.seq, anchor.hash

    def new_events(self) -> list[AuditEvent]:
        events = list(AuditEvent.objects.filter(seq__gt=self.seq).order_by("seq"))
        seq, head = self.seq, self.hash
        for event in events:
            assert event.seq == seq + 1, f"audit gap before {event.describe()}"
            assert event.prev_hash == head, f"{event.describe()} does not link to its predecessor"
            assert event.computed_hash() == event.hash, f"{event.describe()} hash mismatch"
            seq, head = event.seq, event.hash
        anchor = AuditAnchor.objects.get(pk=ANCHOR_PK)
        assert (anchor.seq, anchor.hash) == (seq, head), "the anchor does not name the head"
        self.seq, self.hash = seq, head
        return events
