"""Review as a state machine (API.md "Review and the transitions"; DESIGN.md
invariants 3 scope only narrows, 4 four eyes, 8 tenancy, 9 the audit chain).

``ReviewMachine`` files requests and drives them through the API with random
actors (the officers of agencies A and B, two reviewers, the custodian) and random
actions, replays and out-of-order calls included. It keeps a plain model of every
request and, for every call, the set of answers API.md allows; after every step
it checks the database against the model and the invariants. Each Hypothesis
example runs in its own savepoint, rolled back at its end, so examples never see
each other's requests (pytest-django only rolls back once per test).

The plain tests below cover the tenancy matrix, the request_info round trip and
emergency verification, and the bugs the machine found (each kept fixed by a test).
"""

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import timezone as tz
from typing import Any

import django.utils.timezone as dj_timezone
import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from legalops.audit.models import AuditEvent
from legalops.audit.verify import audit_verify
from legalops.cases.models import (
    EmergencyVerification,
    GoodFaithDetermination,
    LegalRequest,
    RequestApproval,
    RequestFinding,
)
from legalops.cases.scope import LOG_FIELDS
from lookups.normalize import HandleError, normalize_handle
from tests.cases.pdfs import PROPOSED_ORDER, SIGNED_ORDER
from tests.cases.review_helpers import (
    COMPULSORY,
    CONTACT_PHONE,
    COVERS,
    DIRECTORY_PHONE,
    OTHER_PHONE,
    REVIEWABLE,
    STRANGER,
    TRANSITION_ACTIONS,
    WITHDRAWABLE,
    AuditTail,
    Sc,
    api,
    filing,
    moment,
    outcome,
    pdf_upload,
    respell,
)
from tests.conftest import Cast

EXAMPLES = int(os.environ.get("LEGALOPS_STATEFUL_EXAMPLES", "40"))
STEPS = int(os.environ.get("LEGALOPS_STATEFUL_STEPS", "25"))

OFFICER_OF = {"a": "officer_a", "b": "officer_b"}
AGENCY_OF = {"officer_a": "a", "officer_b": "b"}
STAFF = ("reviewer_1", "reviewer_2", "custodian")
# Who tries a staff action / an agency action: mostly the right side, sometimes not.
STAFF_SIDE = st.sampled_from((*STAFF, *STAFF, "own", "other"))
AGENCY_SIDE = st.sampled_from(("own", "own", "own", "other", *STAFF))
KINDS = st.sampled_from(
    (
        "court_order",
        "court_order",
        "court_order_nodoc",
        "subpoena",
        "subpoena_nodoc",
        "emergency",
        "emergency",
        "preservation",
    )
)
FILERS = st.sampled_from(("officer_a", "officer_a", "officer_b", *STAFF))
EXTRAS = st.sampled_from(("plain", "plain", "plain", "three_ids", "two_categories", "prospective"))
BASES = st.sampled_from(("", "", "not_in_signed_process", "agreed_with_agency"))
REASONS = st.sampled_from(
    ("Which account does the order name?", "Not a valid order.", "Which dates?", "", "  ")
)
GFF = "The officer reports a kidnapping in progress; disclosure may locate the victim."
RANDOM_ID = str(uuid.UUID(int=7))
PICK = st.integers(min_value=0, max_value=5)
# A proposed scope changes at most two parts of the scope it narrows, each one way:
# narrower, the same said differently, or wider (which must be a 400).
SCOPE_CHANGES = (
    *(("ids", v) for v in ("narrow", "respell", "reorder", "wide", "requested", "empty")),
    *(("span", v) for v in ("narrow", "same_offset", "wide_from", "wide_to", "inverted", "naive")),
    *(("direction", v) for v in ("outgoing", "incoming", "both")),
    *(("fields", v) for v in ("narrow", "reorder", "wide")),
    *(("categories", v) for v in ("one", "wide", "requested")),
)
PROPOSAL = {
    "changes": st.lists(st.sampled_from(SCOPE_CHANGES), max_size=2, unique_by=lambda c: c[0]),
    "basis": BASES,
    "good_faith": st.booleans(),
}
AS_IS: dict[str, Any] = {"changes": []}
CHANGES_ON_ANSWER = st.sampled_from(
    ("none", "none", "narrow_ids", "add_id", "narrow_range", "widen_range", "contact")
)

# Outcomes reached across all examples of a run (for the coverage check at the end).
REACHED: Counter[str] = Counter()


@dataclass(frozen=True)
class Approval:
    by: str
    scope: Sc
    basis: str


@dataclass
class Req:
    """What the machine believes about one request."""

    key: str
    id: str
    process_type: str
    agency: str  # "a" | "b"
    submitter: str
    reference: str
    status: str
    identifiers: tuple[str, ...]  # normalized, by position
    date_from: datetime
    date_to: datetime
    received_at: datetime
    direction: str
    categories: tuple[str, ...]
    contact_phone: str  # normalized
    documents: int = 0
    document_since_question: bool = False
    approvals: list[Approval] = field(default_factory=list)  # the current round
    verifications: list[tuple[str, str, bool]] = field(default_factory=list)
    findings: tuple[tuple[str, str, str | None], ...] = ()  # (code, severity, category)
    scope: Sc | None = None
    messages: int = 0

    # --- what the findings allow (an error blocks its category, or all when None)
    def errors(self) -> set[tuple[str, str | None]]:
        return {(code, cat) for code, severity, cat in self.findings if severity == "error"}

    def allowed_categories(self) -> tuple[str, ...]:
        errors = self.errors()
        if any(cat is None for _, cat in errors):
            return ()
        blocked = {cat for _, cat in errors}
        return tuple(c for c in self.categories if c not in blocked)

    def requested(self) -> Sc:
        return Sc(
            identifiers=self.identifiers,
            date_from=self.date_from,
            date_to=min(self.date_to, self.received_at),
            direction=self.direction,
            categories=self.categories,
        )

    def base(self) -> Sc:
        """What the next approval may narrow (the first approval's scope, or the
        lawful part of what was asked)."""
        allowed = self.allowed_categories()
        if self.approvals:
            first = self.approvals[-1].scope
            return first.with_categories(tuple(c for c in first.categories if c in allowed))
        return self.requested().with_categories(allowed)

    def verified(self) -> bool:
        return any(
            confirmed and source == "agency_directory" and number != self.contact_phone
            for number, source, confirmed in self.verifications
        )


def _normalized(raw: str) -> str | None:
    try:
        return normalize_handle(raw, region="US").normalized
    except HandleError:
        return None


def _utc(text: str) -> datetime:
    return moment(text).astimezone(UTC)


class ReviewMachine(RuleBasedStateMachine):
    cast: Cast  # set by the test before the run
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        # One savepoint per example: its requests, audit entries and files' rows go
        # away at teardown, so the next example starts from the cast alone.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._busy = False
        cast = self.cast
        actors = {
            "officer_a": cast.officer_a,
            "officer_b": cast.officer_b,
            "reviewer_1": cast.reviewer_1,
            "reviewer_2": cast.reviewer_2,
            "custodian": cast.custodian,
        }
        self.clients = {name: actor.client() for name, actor in actors.items()}
        self.users = {name: actor.user for name, actor in actors.items()}
        self.agency_ids = {"a": str(cast.agency_a.id), "b": str(cast.agency_b.id)}
        self.reqs: dict[str, Req] = {}
        self.by_reference: dict[tuple[str, str], Req] = {}
        self.serial = 0
        self.last_call: tuple[str, dict[str, Any]] | None = None
        self.replayed = False  # one replay of a call is enough
        self.tail = AuditTail()
        # (request id, action, from, to, actor username) the next audit read must show
        self.pending: list[tuple[str, str, str, str, str]] = []

    def teardown(self) -> None:
        try:
            if not self._busy:  # a step that raised may have left the DB unusable
                verification = audit_verify()
                assert verification.ok, verification.problem
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    # --- plumbing -----------------------------------------------------------------

    def _do(self, name: str, **kwargs: Any) -> Any:
        self.last_call = (name, kwargs)
        self.replayed = False
        self._busy = True
        result = getattr(self, f"_{name}")(**kwargs)
        self._busy = False
        return result

    def _who(self, who: str, req: Req) -> str:
        if who == "own":
            return OFFICER_OF[req.agency]
        if who == "other":
            return OFFICER_OF["b" if req.agency == "a" else "a"]
        return who

    def _call(self, actor: str, method: str, path: str, data: Any = None) -> Any:
        return api(self.clients[actor], method, path, data)

    def _expect(self, response: Any, allowed: set[str], what: str, req: Req | None) -> bool:
        got = outcome(response)
        state = (
            f"status={req.status} submitter={req.submitter} "
            f"approvals={[a.by for a in req.approvals]} findings={req.findings} "
            f"verifications={req.verifications}"
            if req
            else ""
        )
        assert got & allowed, (
            f"{what}: got {response.status_code} {response.json()}, "
            f"API.md allows {sorted(allowed)}; {state}"
        )
        for item in got & allowed:
            REACHED[f"{what.split(' ')[0]} -> {item}"] += 1
            if req is not None:
                REACHED[f"  {what.split(' ')[0]} on {req.status} -> {item}"] += 1
            event(f"{what.split(' ')[0]} -> {item}")
        return response.status_code < 300

    def _move(self, req: Req, action: str, to: str, actor: str) -> None:
        self.pending.append((req.id, f"request.{action}", req.status, to, self._username(actor)))
        req.status = to
        REACHED[f"{req.process_type}:{to}"] += 1

    def _username(self, actor: str) -> str:
        return self.users[actor].get_username()

    def _path(self, req: Req, suffix: str = "") -> str:
        return f"/api/v1/requests/{req.id}/{suffix}"

    # --- rules ---------------------------------------------------------------------

    @initialize(
        target=requests,
        kind=st.sampled_from(("court_order", "subpoena", "emergency")),
        filer=FILERS,
        paper_for=st.sampled_from("ab"),
    )
    def first_request(self, kind: str, filer: str, paper_for: str) -> str:
        """One request that can be approved, so every run has something to review."""
        return self._new_request(kind, filer, paper_for, "outgoing", "plain")

    @precondition(lambda self: len(self.reqs) < 5)
    @rule(
        target=requests,
        kind=KINDS,
        filer=FILERS,
        paper_for=st.sampled_from("ab"),
        direction=st.sampled_from(("outgoing", "outgoing", "incoming", "both")),
        extra=EXTRAS,
    )
    def file_request(
        self, kind: str, filer: str, paper_for: str, direction: str, extra: str
    ) -> str:
        return self._new_request(kind, filer, paper_for, direction, extra)

    def _new_request(
        self, kind: str, filer: str, paper_for: str, direction: str, extra: str
    ) -> str:
        self.serial += 1
        return self._do(
            "file",
            kind=kind,
            filer=filer,
            paper_for=paper_for,
            direction=direction,
            extra=extra,
            reference=f"REF-{self.serial}",
        )

    def _file(
        self, kind: str, filer: str, paper_for: str, direction: str, extra: str, reference: str
    ) -> str | None:
        process_type = kind.removesuffix("_nodoc")
        agency = AGENCY_OF.get(filer, paper_for)
        categories = ("query_logs",)
        if process_type == "subpoena" or extra == "two_categories":
            categories = ("query_logs", "subscriber_info")
        body = filing(
            process_type=process_type,
            reference=reference,
            direction=direction,
            categories=categories,
            three_identifiers=extra == "three_ids",
            prospective=extra == "prospective" and process_type != "preservation",
            agency_id=None if filer in AGENCY_OF else self.agency_ids[agency],
        )
        response = self._call(filer, "post", "/api/v1/requests/", body)
        existing = self.by_reference.get((agency, reference))
        if existing is not None:  # a replay: the same reference again
            self._expect(response, {"409:duplicate_reference"}, "file (again)", existing)
            assert response.json()["id"] == existing.id
            return None
        self._expect(response, {"ok"}, "file", None)
        data = response.json()
        assert response.status_code == 201
        assert data["agency"]["id"] == self.agency_ids[agency]
        expected_ids = ["+14155550100", "target@example.com"]
        if extra == "three_ids":
            expected_ids.append("+14155550199")
        assert [i["normalized"] for i in data["identifiers"]] == expected_ids
        req = Req(
            key=f"r{len(self.reqs)}",
            id=data["id"],
            process_type=process_type,
            agency=agency,
            submitter=filer,
            reference=reference,
            status="received",
            identifiers=tuple(expected_ids),
            date_from=_utc(data["date_from"]),
            date_to=_utc(data["date_to"]),
            received_at=_utc(data["received_at"]),
            direction=direction if process_type != "preservation" else "both",
            categories=tuple(data["data_categories"]),
            contact_phone=CONTACT_PHONE,
        )
        if process_type == "preservation":
            self._move(req, "preserve", "preserved", filer)
        assert data["status"] == req.status
        self.reqs[req.key] = req
        self.by_reference[(agency, reference)] = req
        if process_type in COMPULSORY and not kind.endswith("_nodoc"):
            uploaded = self._call(
                filer, "post", self._path(req, "documents/"), pdf_upload(SIGNED_ORDER)
            )
            assert uploaded.status_code == 201, uploaded.json()
            req.documents += 1
        return req.key

    @rule(key=requests, who=AGENCY_SIDE, proposed=st.sampled_from((False, False, False, True)))
    def upload(self, key: str, who: str, proposed: bool) -> None:
        self._do("upload", key=key, who=who, proposed=proposed)

    @precondition(lambda self: bool(self._unsigned()))
    @rule(pick=PICK)
    def upload_missing_document(self, pick: int) -> None:
        req = self._unsigned()[pick % len(self._unsigned())]
        self._do("upload", key=req.key, who="own", proposed=False)

    def _unsigned(self) -> list[Req]:
        return [
            req
            for req in self.reqs.values()
            if req.process_type in COMPULSORY and req.documents == 0
        ]

    def _upload(self, key: str, who: str, proposed: bool) -> None:
        req = self.reqs[key]
        actor = self._who(who, req)
        data = pdf_upload(PROPOSED_ORDER if proposed else SIGNED_ORDER)
        response = self._call(actor, "post", self._path(req, "documents/"), data)
        allowed = {"404"} if who == "other" else {"ok"}
        if self._expect(response, allowed, "upload", req):
            assert response.status_code == 201
            req.documents += 1
            req.document_since_question = True
            assert len(response.json()["documents"]) == req.documents

    @rule(key=requests, who=STAFF_SIDE)
    def claim(self, key: str, who: str) -> None:
        self._do("claim", key=key, who=who)

    def _claim(self, key: str, who: str) -> None:
        req = self.reqs[key]
        actor = self._who(who, req)
        response = self._call(actor, "post", self._path(req, "claim/"))
        if actor not in STAFF:
            allowed = {"403"}
        elif req.status != "received":
            allowed = {"409:not_allowed_in_status"}
        else:
            allowed = {"ok"}
        if self._expect(response, allowed, "claim", req):
            self._move(req, "claim", "in_review", actor)
            assert response.json()["status"] == "in_review"

    @rule(key=requests, who=STAFF_SIDE, **PROPOSAL)
    def approve(self, key: str, who: str, **proposal: Any) -> None:
        self._do("approve", key=key, who=who, **proposal)

    # Random picks from the bundle mostly hit requests that are long settled; these
    # two aim at one still in review, so runs get through both approvals often.
    @precondition(lambda self: bool(self._in_review()))
    @rule(pick=PICK, who=st.sampled_from(STAFF), **PROPOSAL)
    def approve_one_in_review(self, pick: int, who: str, **proposal: Any) -> None:
        req = self._in_review()[pick % len(self._in_review())]
        self._do("approve", key=req.key, who=who, **proposal)

    @precondition(lambda self: bool(self._in_review()))
    @rule(pick=PICK, who=st.sampled_from(STAFF), basis=BASES)
    def approve_one_as_is(self, pick: int, who: str, basis: str) -> None:
        req = self._in_review()[pick % len(self._in_review())]
        self._do("approve", key=req.key, who=who, **AS_IS, basis=basis, good_faith=True)

    @precondition(lambda self: bool(self._in_review()))
    @rule(pick=PICK, first=st.sampled_from(STAFF), second=st.sampled_from(STAFF), basis=BASES)
    def approve_twice(self, pick: int, first: str, second: str, basis: str) -> None:
        """Two staff members approve one after the other (the four-eyes path)."""
        req = self._in_review()[pick % len(self._in_review())]
        for who in (first, second):
            self._do("approve", key=req.key, who=who, **AS_IS, basis=basis, good_faith=True)

    @precondition(lambda self: bool(self._settled()))
    @rule(
        pick=PICK,
        action=st.sampled_from(
            ("withdraw", "answer", "approve", "reject", "request_info", "claim", "upload")
        ),
        staff=st.sampled_from(STAFF),
    )
    def act_on_a_settled_request(self, pick: int, action: str, staff: str) -> None:
        """Out of order: every action on a request whose review is over is refused
        (an upload is the exception: documents may always be added)."""
        req = self._settled()[pick % len(self._settled())]
        if action == "withdraw":
            self._do("withdraw", key=req.key, who="own")
        elif action == "answer":
            self._do("answer", key=req.key, who="own", change="none")
        elif action == "approve":
            self._do("approve", key=req.key, who=staff, **AS_IS, basis="", good_faith=True)
        elif action in ("reject", "request_info"):
            reason = "Not a valid order."
            self._do("decide", key=req.key, who=staff, decision=action, reason=reason)
        elif action == "claim":
            self._do("claim", key=req.key, who=staff)
        else:
            self._do("upload", key=req.key, who="own", proposed=False)

    def _settled(self) -> list[Req]:
        return [req for req in self.reqs.values() if req.status not in WITHDRAWABLE]

    def _in_review(self) -> list[Req]:
        return [
            req
            for req in self.reqs.values()
            if req.status in REVIEWABLE and req.process_type != "preservation"
        ]

    def _proposal(
        self, req: Req, base: Sc, ids: str, span: str, direction: str, fields: str, categories: str
    ) -> tuple[dict[str, Any], Sc | None]:
        """The scope to send and what it would fix (None when it is invalid or wider
        than ``base``)."""
        proposal: dict[str, Any] = {}
        valid = True
        final = base
        if ids != "absent":
            pairs = {
                "narrow": [(respell(h), h) for h in base.identifiers[:1]],
                "respell": [(respell(h), h) for h in base.identifiers],
                "reorder": [(h, h) for h in reversed(base.identifiers)],
                "wide": [(h, h) for h in (*base.identifiers, STRANGER)],
                "requested": [(h, h) for h in req.identifiers],
                "empty": [],
            }[ids]
            proposal["identifiers"] = [raw for raw, _ in pairs]
            chosen = tuple(dict.fromkeys(norm for _, norm in pairs))
            valid &= bool(chosen) and set(chosen) <= set(base.identifiers)
            final = replace(final, identifiers=chosen)
        if span != "absent":
            quarter = timedelta(seconds=int((base.date_to - base.date_from).total_seconds() // 4))
            west = tz(timedelta(hours=-8))
            start, end = {
                "narrow": (base.date_from + quarter, base.date_to - quarter),
                "same_offset": (base.date_from.astimezone(west), base.date_to.astimezone(west)),
                "wide_from": (base.date_from - timedelta(days=1), None),
                "wide_to": (None, base.date_to + timedelta(seconds=1)),
                "inverted": (base.date_to, base.date_from),
                "naive": (base.date_from, None),
            }[span]
            if start is not None:
                text = start.isoformat()
                proposal["date_from"] = text[:19] if span == "naive" else text
                final = replace(final, date_from=start)
            if end is not None:
                proposal["date_to"] = end.isoformat()
                final = replace(final, date_to=end)
            valid &= span != "naive" and (
                base.date_from <= final.date_from <= final.date_to <= base.date_to
            )
        if direction != "absent":
            proposal["direction"] = direction
            valid &= direction in COVERS[base.direction]
            final = replace(final, direction=direction)
        if fields != "absent":
            chosen_fields = {
                "narrow": tuple(f for f in base.fields if f in {"occurred_at", "source", "target"}),
                "reorder": tuple(reversed(base.fields)),
                "wide": (*base.fields, "message_body"),
            }[fields]
            proposal["fields"] = list(chosen_fields)
            valid &= bool(chosen_fields) and set(chosen_fields) <= set(base.fields)
            final = replace(final, fields=chosen_fields)
        if categories != "absent":
            chosen_categories = {
                "one": base.categories[:1],
                "wide": (*base.categories, "content"),
                "requested": req.categories,
            }[categories]
            proposal["categories"] = list(chosen_categories)
            valid &= bool(chosen_categories) and set(chosen_categories) <= set(base.categories)
            final = replace(final, categories=chosen_categories)
        return proposal, final if valid else None

    def _approve(
        self,
        key: str,
        who: str,
        changes: list[tuple[str, str]],
        basis: str,
        good_faith: bool,
    ) -> None:
        req = self.reqs[key]
        actor = self._who(who, req)
        base = req.base()
        parts = {"ids": "absent", "span": "absent", "direction": "absent"}
        parts |= {"fields": "absent", "categories": "absent", **dict(changes)}
        proposal, final = self._proposal(req, base, **parts)
        body: dict[str, Any] = {"decision": "approve", "reason": "Facially valid."}
        if proposal:
            body["scope"] = proposal
        if basis:
            body["narrowing_basis"] = basis
        if good_faith:
            body["good_faith_facts"] = GFF

        allowed: set[str] = set()
        if actor not in STAFF:
            allowed = {"403"}
        else:
            if req.status not in REVIEWABLE or req.process_type == "preservation":
                allowed.add("409:not_allowed_in_status")
            if actor == req.submitter:
                allowed.add("409:submitter_cannot_approve")
            if actor in {a.by for a in req.approvals}:
                allowed.add("409:already_approved_by_you")
            if any(code == "missing_document" for code, _ in req.errors()):
                allowed.add("409:missing_document")
            if not req.allowed_categories():
                allowed.add("409:blocking_findings")
            if final is None:
                allowed.add("400:scope")
            else:
                # Dropping what the law does not reach is not narrowing; anything
                # else less than the lawful part is.
                lawful = req.requested().with_categories(req.allowed_categories())
                has_basis = bool(basis) or any(a.basis for a in req.approvals)
                narrowed = not final.same_as(lawful)
                # Restating the scope in another order is not narrowing.
                if req.process_type in COMPULSORY and not has_basis and narrowed:
                    allowed.add("400:narrowing_basis")
            if req.process_type == "emergency":
                if not req.verified():
                    allowed.add("409:emergency_not_verified")
                if not good_faith:
                    allowed.add("400:good_faith_facts")
            allowed = allowed or {"ok"}

        response = self._call(actor, "post", self._path(req, "review/"), body)
        if not self._expect(response, allowed, f"approve by {actor} {body}", req):
            return
        assert final is not None
        data = response.json()
        req.approvals.append(Approval(by=actor, scope=final, basis=basis))
        assert [a["by"] for a in data["approvals"]] == [self._username(a.by) for a in req.approvals]
        if len(req.approvals) == 1:
            self._move(req, "approve_first", "awaiting_second_approval", actor)
            assert data["status"] == "awaiting_second_approval" and data["scope"] is None
            return
        self._move(req, "approve_second", "approved", actor)
        assert data["status"] == "approved"
        fixed = Sc.from_json(data["scope"])
        assert fixed.same_as(final), (fixed, final)
        # At the moment of approval: nothing blocks it and nothing blocked is in it.
        assert "missing_document" not in {code for code, _ in req.errors()}
        assert set(fixed.categories) <= set(req.allowed_categories())
        req.scope = fixed

    @rule(key=requests, who=STAFF_SIDE, reason=REASONS)
    def reject(self, key: str, who: str, reason: str) -> None:
        self._do("decide", key=key, who=who, decision="reject", reason=reason)

    @rule(key=requests, who=STAFF_SIDE, reason=REASONS)
    def request_info(self, key: str, who: str, reason: str) -> None:
        self._do("decide", key=key, who=who, decision="request_info", reason=reason)

    def _decide(self, key: str, who: str, decision: str, reason: str) -> None:
        req = self.reqs[key]
        actor = self._who(who, req)
        body = {"decision": decision, "reason": reason}
        before = LegalRequest.objects.get(pk=req.id)
        response = self._call(actor, "post", self._path(req, "review/"), body)
        allowed: set[str] = set()
        if actor not in STAFF:
            allowed = {"403"}
        else:
            if not reason.strip():
                allowed.add("400:reason")
            if req.status not in REVIEWABLE:
                allowed.add("409:not_allowed_in_status")
            allowed = allowed or {"ok"}
        if not self._expect(response, allowed, decision, req):
            return
        data = response.json()
        req.approvals.clear()
        assert data["approvals"] == []
        if decision == "reject":
            self._move(req, "reject", "rejected", actor)
            assert data["outcome"] == "rejected"
            return
        self._move(req, "request_info", "info_requested", actor)
        req.messages += 1
        req.document_since_question = False
        assert data["messages"][-1]["from"] == "staff"
        assert data["messages"][-1]["text"] == reason
        after = LegalRequest.objects.get(pk=req.id)
        assert after.clock_paused_at is not None and after.due_at == before.due_at
        # The question is the agency's to see.
        seen = self._call(OFFICER_OF[req.agency], "get", self._path(req)).json()
        assert seen["messages"][-1] == data["messages"][-1]
        assert seen["overdue"] is False

    @rule(
        key=requests,
        who=AGENCY_SIDE,
        change=CHANGES_ON_ANSWER,
    )
    def answer(self, key: str, who: str, change: str) -> None:
        self._do("answer", key=key, who=who, change=change)

    @precondition(lambda self: bool(self._asked()))
    @rule(pick=PICK, change=CHANGES_ON_ANSWER)
    def answer_a_question(self, pick: int, change: str) -> None:
        req = self._asked()[pick % len(self._asked())]
        self._do("answer", key=req.key, who="own", change=change)

    def _asked(self) -> list[Req]:
        return [req for req in self.reqs.values() if req.status == "info_requested"]

    def _answer(self, key: str, who: str, change: str) -> None:
        req = self.reqs[key]
        actor = self._who(who, req)
        body: dict[str, Any] = {"answer": "The order names both identifiers."}
        identifiers, date_from, phone = req.identifiers, req.date_from, req.contact_phone
        widening = False
        if change == "narrow_ids":
            identifiers = req.identifiers[:-1] or req.identifiers
        elif change == "add_id":
            identifiers = tuple(dict.fromkeys((*req.identifiers, STRANGER)))
            widening = identifiers != req.identifiers
        elif change == "narrow_range":
            if req.date_from + timedelta(days=1) <= req.date_to:
                date_from = req.date_from + timedelta(days=1)
        elif change == "widen_range":
            date_from = req.date_from - timedelta(days=1)
            widening = True
        elif change == "contact":
            phone = DIRECTORY_PHONE
            body["contact"] = {"name": "SA Jordan Blake", "email": "j.blake@fbi.example.gov"}
            body["contact"]["phone"] = phone
        if identifiers != req.identifiers or change == "narrow_ids":
            body["identifiers"] = list(identifiers)
        if date_from != req.date_from:
            body["date_from"] = date_from.isoformat()
        before = LegalRequest.objects.get(pk=req.id)
        started = timezone.now()
        response = self._call(actor, "patch", self._path(req), body)
        finished = timezone.now()
        if who == "other":
            allowed = {"404"}
        elif actor in STAFF:
            allowed = {"403"}
        elif req.status != "info_requested":
            allowed = {"409:not_allowed_in_status"}
        elif widening and not req.document_since_question:
            allowed = {"400:identifiers", "400:date_from"}
        else:
            allowed = {"ok"}
        if not self._expect(response, allowed, f"answer {change}", req):
            return
        data = response.json()
        self._move(req, "answer", "in_review", actor)
        req.identifiers, req.date_from, req.contact_phone = identifiers, date_from, phone
        req.messages += 1
        assert data["status"] == "in_review" and data["approvals"] == []
        assert data["messages"][-1]["from"] == "agency"
        assert [i["normalized"] for i in data["identifiers"]] == list(identifiers)
        # The clock resumes: the deadline moves on by exactly the pause.
        after = LegalRequest.objects.get(pk=req.id)
        paused_at = before.clock_paused_at
        assert paused_at is not None and after.clock_paused_at is None
        assert (
            before.due_at + (started - paused_at)
            <= after.due_at
            <= before.due_at + (finished - paused_at)
        )

    @rule(key=requests, who=AGENCY_SIDE)
    def withdraw(self, key: str, who: str) -> None:
        self._do("withdraw", key=key, who=who)

    def _withdraw(self, key: str, who: str) -> None:
        req = self.reqs[key]
        actor = self._who(who, req)
        response = self._call(actor, "post", self._path(req, "withdraw/"))
        if who == "other":
            allowed = {"404"}
        elif actor in STAFF:
            allowed = {"403"}
        elif req.status not in WITHDRAWABLE:
            allowed = {"409:not_allowed_in_status"}
        else:
            allowed = {"ok"}
        if self._expect(response, allowed, "withdraw", req):
            self._move(req, "withdraw", "closed", actor)
            assert response.json()["outcome"] == "withdrawn"

    @rule(
        key=requests,
        who=STAFF_SIDE,
        number=st.sampled_from(("own", "own_respelled", "directory", "directory", "other", "bad")),
        source=st.sampled_from(("agency_directory", "agency_directory", "request", "other")),
        confirmed=st.sampled_from((True, True, False)),
    )
    def verify(self, key: str, who: str, number: str, source: str, confirmed: bool) -> None:
        self._do("verify", key=key, who=who, number=number, source=source, confirmed=confirmed)

    @precondition(lambda self: bool(self._unverified()))
    @rule(
        pick=PICK,
        who=st.sampled_from(STAFF),
        number=st.sampled_from(("directory", "directory", "directory", "own", "own_respelled")),
        source=st.sampled_from(("agency_directory", "agency_directory", "request")),
        confirmed=st.sampled_from((True, True, True, False)),
    )
    def verify_an_unverified_emergency(
        self, pick: int, who: str, number: str, source: str, confirmed: bool
    ) -> None:
        """Mostly the proper callback; sometimes one that must not count."""
        req = self._unverified()[pick % len(self._unverified())]
        self._do("verify", key=req.key, who=who, number=number, source=source, confirmed=confirmed)

    def _unverified(self) -> list[Req]:
        return [
            req
            for req in self.reqs.values()
            if req.process_type == "emergency" and not req.verified()
        ]

    def _verify(self, key: str, who: str, number: str, source: str, confirmed: bool) -> None:
        req = self.reqs[key]
        actor = self._who(who, req)
        called = {
            "own": req.contact_phone,
            "own_respelled": respell(req.contact_phone),
            "directory": DIRECTORY_PHONE,
            "other": OTHER_PHONE,
            "bad": "555-01",
        }[number]
        body = {
            "called_number": called,
            "number_source": source,
            "spoke_with": "Lt. A. Webb",
            "called_at": timezone.now().isoformat(),
            "confirmed": confirmed,
        }
        response = self._call(actor, "post", self._path(req, "verification/"), body)
        allowed: set[str] = set()
        if actor not in STAFF:
            allowed = {"403"}
        else:
            if req.process_type != "emergency":
                allowed.add("409:not_allowed_in_status")
            if number == "bad":
                allowed.add("400:called_number")
            allowed = allowed or {"ok"}
        if self._expect(response, allowed, "verify", req):
            normalized = _normalized(called)
            assert normalized is not None
            req.verifications.append((normalized, source, confirmed))

    @precondition(lambda self: self.last_call is not None and not self.replayed)
    @rule()
    def replay(self) -> None:
        """The same call again, as a client retrying would send it."""
        assert self.last_call is not None
        name, kwargs = self.last_call
        self._do(name, **kwargs)
        self.replayed = True

    @rule(
        key=requests,
        endpoint=st.sampled_from(
            (
                "get",
                "patch",
                "withdraw",
                "renew",
                "documents",
                "review",
                "claim",
                "verification",
                "extension",
                "nondisclosure",
            )
        ),
    )
    def other_agency_probes(self, key: str, endpoint: str) -> None:
        self._do("probe", key=key, endpoint=endpoint)

    def _probe(self, key: str, endpoint: str) -> None:
        req = self.reqs[key]
        outsider = self._who("other", req)
        method, suffix, body = PROBES[endpoint]
        mine = self._call(outsider, method, f"/api/v1/requests/{req.id}/{suffix}", body())
        unknown = self._call(outsider, method, f"/api/v1/requests/{RANDOM_ID}/{suffix}", body())
        if endpoint in STAFF_ONLY:
            # Refused for the role before the request is looked up: the same answer as
            # for an id that does not exist, so nothing about the request leaks.
            assert mine.status_code == 403, mine.json()
        else:
            assert mine.status_code == 404, (endpoint, mine.json())
        assert (mine.status_code, mine.json()) == (unknown.status_code, unknown.json())
        assert not AuditEvent.objects.filter(seq__gt=self.tail.seq, object_id=req.id).exists()
        REACHED[f"probe {endpoint} -> {mine.status_code}"] += 1

    # --- invariants ----------------------------------------------------------------

    @invariant()
    def model_matches_and_invariants_hold(self) -> None:
        if not self.reqs:
            return
        by_id = {req.id: req for req in self.reqs.values()}
        rows = LegalRequest.objects.in_bulk(list(by_id))
        findings: dict[str, list[tuple[str, str, str | None]]] = {rid: [] for rid in by_id}
        for rid, code, severity, category in RequestFinding.objects.filter(
            request_id__in=list(by_id)
        ).values_list("request_id", "code", "severity", "category"):
            findings[str(rid)].append((code, severity, category))
        for rid, req in by_id.items():
            row = rows[uuid.UUID(rid)]
            assert row.status == req.status, (req.key, row.status, req.status)
            req.findings = tuple(sorted(findings[rid], key=str))
            self._check_findings(req)
            if req.status == "info_requested":
                assert row.clock_paused_at is not None and not row.is_overdue()
            if row.scope is not None:
                self._check_scope(req, row)
            if req.status == "approved":
                self._check_approved(req, row)
        self._check_audit()

    def _check_findings(self, req: Req) -> None:
        codes = {(code, cat) for code, _, cat in req.findings}
        if req.process_type in COMPULSORY:
            assert (("missing_document", None) in codes) == (req.documents == 0), req.findings
        if req.process_type == "subpoena":
            assert ("insufficient_process", "query_logs") in codes, req.findings
        if req.date_to > req.received_at:
            assert ("prospective_scope", None) in codes, req.findings

    def _check_scope(self, req: Req, row: LegalRequest) -> None:
        """DESIGN.md invariant 3: the fixed scope is never wider than the request."""
        fixed = Sc.from_json(row.scope)
        current = set(row.identifiers.values_list("normalized", flat=True))
        asked = Sc(
            identifiers=tuple(current),
            date_from=row.date_from,
            date_to=min(row.date_to, row.received_at),
            direction=row.direction,
            categories=tuple(row.data_categories),
            fields=LOG_FIELDS,
        )
        assert fixed.inside(asked), (fixed, asked)
        if req.process_type == "subpoena":
            assert "query_logs" not in fixed.categories, fixed

    def _check_approved(self, req: Req, row: LegalRequest) -> None:
        """DESIGN.md invariant 4 and the emergency rule, read from the database."""
        active = list(
            RequestApproval.objects.filter(request_id=req.id, cleared_at__isnull=True).values_list(
                "by_id", flat=True
            )
        )
        assert len(active) >= 2 and len(set(active)) == len(active), active
        assert row.submitted_by_id not in active, (row.submitted_by_id, active)
        assert [self.users[a.by].pk for a in req.approvals] == active
        if req.process_type == "emergency":
            own = _normalized(row.contact_phone)
            calls = EmergencyVerification.objects.filter(
                request_id=req.id, confirmed=True, number_source="agency_directory"
            ).values_list("called_number", flat=True)
            assert any(_normalized(c) not in (None, own) for c in calls), list(calls)
            assert GoodFaithDetermination.objects.filter(request_id=req.id).exists()

    def _check_audit(self) -> None:
        """Every status change has exactly one ``request.<action>`` entry naming
        from and to, by the actor; nothing else moves; the chain links up."""
        ours = {req.id for req in self.reqs.values()}
        seen = [
            (e.object_id, e.action, e.details.get("from"), e.details.get("to"), e.actor_label)
            for e in self.tail.new_events()
            if e.action in TRANSITION_ACTIONS and e.object_id in ours
        ]
        assert sorted(seen) == sorted(self.pending), (seen, self.pending)
        self.pending.clear()


def _no_body() -> None:
    return None


def _review_body() -> dict[str, Any]:
    return {"decision": "request_info", "reason": "Which account?"}


def _verification_body() -> dict[str, Any]:
    return {
        "called_number": DIRECTORY_PHONE,
        "number_source": "agency_directory",
        "spoke_with": "Lt. A. Webb",
        "called_at": timezone.now().isoformat(),
        "confirmed": True,
    }


def _extension_body() -> dict[str, Any]:
    return {
        "due_at": (timezone.now() + timedelta(days=60)).isoformat(),
        "agreed_by": "AUSA Kim",
        "reason": "The agency agreed to more time.",
    }


def _nondisclosure_body() -> dict[str, Any]:
    # The matrix puts the request's own document in; elsewhere an unknown one is fine.
    return {"document": RANDOM_ID, "until": "2099-01-01"}


def _answer_body() -> dict[str, Any]:
    return {"answer": "The order names both identifiers."}


def _document_body() -> dict[str, Any]:
    return pdf_upload(SIGNED_ORDER)


# endpoint -> (method, path suffix, body factory)
PROBES = {
    "get": ("get", "", _no_body),
    "patch": ("patch", "", _answer_body),
    "withdraw": ("post", "withdraw/", _no_body),
    "renew": ("post", "renew/", _no_body),
    "documents": ("post", "documents/", _document_body),
    "review": ("post", "review/", _review_body),
    "claim": ("post", "claim/", _no_body),
    "verification": ("post", "verification/", _verification_body),
    "extension": ("post", "extension/", _extension_body),
    "nondisclosure": ("post", "nondisclosure/", _nondisclosure_body),
}
STAFF_ONLY = frozenset({"review", "claim", "verification", "extension", "nondisclosure"})


@pytest.fixture
def quiet_intake(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> None:
    """No intake throttle (a run files hundreds of requests); uploads in a tmp dir."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"intake": "100000/min"})
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.mark.django_db
def test_review_state_machine(cast: Cast, quiet_intake: None) -> None:
    REACHED.clear()
    ReviewMachine.cast = cast
    run_state_machine_as_test(
        ReviewMachine,
        settings=hsettings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print("\n".join(f"{n:5d} {k}" for k, n in sorted(REACHED.items())))
    if EXAMPLES >= 20:
        # The run must reach the end of review, not just refuse things.
        assert REACHED["approve -> ok"] > 0, REACHED
        assert sum(n for k, n in REACHED.items() if k.endswith(":approved")) > 0, REACHED


# --- plain tests -----------------------------------------------------------------


def _client(cast: Cast, who: str) -> APIClient:
    if who == "anonymous":
        return APIClient()
    return {
        "own": cast.officer_a,
        "other": cast.officer_b,
        "staff": cast.reviewer_1,
    }[who].client()


def _file(cast: Cast, kind: str = "court_order", **overrides: Any) -> dict[str, Any]:
    body = filing(process_type=kind, reference=f"{kind}-{uuid.uuid4().hex[:8]}", **overrides)
    response = api(cast.officer_a.client(), "post", "/api/v1/requests/", body)
    assert response.status_code == 201, response.json()
    created = response.json()
    if kind in COMPULSORY:
        uploaded = api(
            cast.officer_a.client(),
            "post",
            f"/api/v1/requests/{created['id']}/documents/",
            pdf_upload(SIGNED_ORDER),
        )
        assert uploaded.status_code == 201
    return created


# endpoint -> (process type to file, what staff do first, {who: expected status})
MATRIX = {
    "review": ("court_order", None, {"own": 403, "other": 403, "anonymous": 401, "staff": 200}),
    "claim": ("court_order", None, {"own": 403, "other": 403, "anonymous": 401, "staff": 200}),
    "verification": (
        "emergency",
        None,
        {"own": 403, "other": 403, "anonymous": 401, "staff": 200},
    ),
    "extension": ("court_order", None, {"own": 403, "other": 403, "anonymous": 401, "staff": 200}),
    "nondisclosure": (
        "court_order",
        None,
        {"own": 403, "other": 403, "anonymous": 401, "staff": 200},
    ),
    "withdraw": ("court_order", None, {"own": 200, "other": 404, "anonymous": 401, "staff": 403}),
    "patch": ("court_order", "ask", {"own": 200, "other": 404, "anonymous": 401, "staff": 403}),
    "renew": ("preservation", None, {"own": 200, "other": 404, "anonymous": 401, "staff": 403}),
    "documents": ("court_order", None, {"own": 201, "other": 404, "anonymous": 401, "staff": 201}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["own", "other", "anonymous", "staff"])
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_tenancy_matrix(cast: Cast, quiet_intake: None, endpoint: str, who: str) -> None:
    kind, first, expected = MATRIX[endpoint]
    created = _file(cast, kind)
    path = f"/api/v1/requests/{created['id']}/"
    if first == "ask":
        asked = api(cast.reviewer_2.client(), "post", path + "review/", _review_body())
        assert asked.status_code == 200
    before = LegalRequest.objects.get(pk=created["id"])
    documents = before.documents.count()
    head = AuditTail()

    method, suffix, make_body = PROBES[endpoint]
    body = make_body
    if endpoint == "nondisclosure":
        document = str(before.documents.get().id)

        def body() -> dict[str, Any]:
            return {**make_body(), "document": document}

    response = api(_client(cast, who), method, path + suffix, body())
    assert response.status_code == expected[who], response.json()

    if who == "other":
        # Another agency learns nothing: the same answer as for an id that does not exist.
        unknown = api(_client(cast, who), method, f"/api/v1/requests/{RANDOM_ID}/{suffix}", body())
        assert (response.status_code, response.json()) == (unknown.status_code, unknown.json())
    if response.status_code >= 400:
        after = LegalRequest.objects.get(pk=created["id"])
        assert (after.status, after.due_at, after.documents.count()) == (
            before.status,
            before.due_at,
            documents,
        )
        assert not [e for e in head.new_events() if e.object_id == created["id"]]
    elif who == "own" and endpoint in ("withdraw", "patch"):
        assert response.json()["status"] == {"withdraw": "closed", "patch": "in_review"}[endpoint]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[timedelta]:
    """``clock[0] = timedelta(hours=6)`` moves the app's clock six hours ahead."""
    offset = [timedelta(0)]
    real_now = dj_timezone.now
    monkeypatch.setattr(dj_timezone, "now", lambda: real_now() + offset[0])
    return offset


def _verify_properly(cast: Cast, request_id: str) -> None:
    response = api(
        cast.reviewer_1.client(),
        "post",
        f"/api/v1/requests/{request_id}/verification/",
        _verification_body(),
    )
    assert response.status_code == 200, response.json()


def _approve(actor: Any, request_id: str, **extra: Any) -> Any:
    body = {"decision": "approve", "reason": "Facially valid.", **extra}
    return api(actor.client(), "post", f"/api/v1/requests/{request_id}/review/", body)


@pytest.mark.django_db
def test_request_info_round_trip(cast: Cast, quiet_intake: None, clock: list[timedelta]) -> None:
    asked = _file(cast, "emergency")
    idle = _file(cast, "emergency")  # the same deadline, never paused
    path = f"/api/v1/requests/{asked['id']}/"
    _verify_properly(cast, asked["id"])
    first = _approve(cast.reviewer_1, asked["id"], good_faith_facts=GFF)
    assert first.json()["status"] == "awaiting_second_approval"
    assert [a["by"] for a in first.json()["approvals"]] == ["rev_one"]

    question = "Which phone did the victim carry?"
    sent = api(
        cast.reviewer_2.client(),
        "post",
        path + "review/",
        {"decision": "request_info", "reason": question},
    )
    assert sent.status_code == 200
    assert sent.json()["status"] == "info_requested"
    assert sent.json()["approvals"] == []
    assert not RequestApproval.objects.filter(request_id=asked["id"], cleared_at=None).exists()
    agency_view = api(cast.officer_a.client(), "get", path).json()
    assert agency_view["status"] == "info_requested"
    assert agency_view["messages"][-1]["from"] == "staff"
    assert agency_view["messages"][-1]["text"] == question
    due_before = moment(agency_view["due_at"])
    paused_at = LegalRequest.objects.get(pk=asked["id"]).clock_paused_at
    assert paused_at is not None

    clock[0] = timedelta(hours=6)  # past the 4-hour emergency deadline
    for viewer in (cast.officer_a, cast.reviewer_1):
        while_paused = api(viewer.client(), "get", path).json()
        assert while_paused["overdue"] is False
        assert moment(while_paused["due_at"]) == due_before
    assert api(cast.officer_a.client(), "get", f"/api/v1/requests/{idle['id']}/").json()["overdue"]

    started = dj_timezone.now()
    answered = api(cast.officer_a.client(), "patch", path, {"answer": "Her own, +14155550100."})
    finished = dj_timezone.now()
    assert answered.status_code == 200, answered.json()
    data = answered.json()
    assert data["status"] == "in_review"
    assert data["approvals"] == []
    assert data["messages"][-1]["from"] == "agency"
    assert data["overdue"] is False
    due_after = moment(data["due_at"])
    assert due_before + (started - paused_at) <= due_after <= due_before + (finished - paused_at)
    assert due_after - due_before >= timedelta(hours=6)
    resumed = AuditEvent.objects.filter(object_id=asked["id"], action="request.answer").get()
    assert resumed.details["from"] == "info_requested" and resumed.details["to"] == "in_review"
    assert resumed.details["paused_seconds"] >= 6 * 3600

    # A new round: the first approver may approve again, and a second one completes it.
    again = _approve(cast.reviewer_1, asked["id"], good_faith_facts=GFF)
    assert again.json()["status"] == "awaiting_second_approval", again.json()
    done = _approve(cast.reviewer_2, asked["id"], good_faith_facts=GFF)
    assert done.json()["status"] == "approved", done.json()
    assert audit_verify().ok


def _callback(cast: Cast, request_id: str, number: str, source: str, confirmed: bool) -> Any:
    body = {**_verification_body(), "called_number": number, "number_source": source}
    body["confirmed"] = confirmed
    return api(
        cast.reviewer_1.client(), "post", f"/api/v1/requests/{request_id}/verification/", body
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "source", "confirmed"),
    [
        pytest.param(None, None, None, id="no-callback"),
        pytest.param(CONTACT_PHONE, "agency_directory", True, id="the-requests-own-number"),
        pytest.param("(415) 555-0123", "agency_directory", True, id="own-number-respelled"),
        pytest.param(DIRECTORY_PHONE, "request", True, id="number-source-request"),
        pytest.param(DIRECTORY_PHONE, "other", True, id="number-source-other"),
        pytest.param(DIRECTORY_PHONE, "agency_directory", False, id="not-confirmed"),
    ],
)
def test_emergency_approval_refused_without_a_proper_callback(
    cast: Cast, quiet_intake: None, number: str | None, source: str | None, confirmed: bool | None
) -> None:
    created = _file(cast, "emergency")
    if number is not None:
        recorded = _callback(cast, created["id"], number, source or "", bool(confirmed))
        assert recorded.status_code == 200, recorded.json()
    refused = _approve(cast.reviewer_1, created["id"], good_faith_facts=GFF)
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] == "emergency_not_verified"
    assert LegalRequest.objects.get(pk=created["id"]).status == "received"


@pytest.mark.django_db
def test_emergency_approval_after_a_proper_callback_needs_good_faith_facts(
    cast: Cast, quiet_intake: None
) -> None:
    created = _file(cast, "emergency")
    _callback(cast, created["id"], CONTACT_PHONE, "agency_directory", True)  # does not count
    _verify_properly(cast, created["id"])
    missing = _approve(cast.reviewer_1, created["id"])
    assert missing.status_code == 400 and "good_faith_facts" in missing.json()
    first = _approve(cast.reviewer_1, created["id"], good_faith_facts=GFF)
    assert first.status_code == 200 and first.json()["status"] == "awaiting_second_approval"
    second = _approve(cast.reviewer_2, created["id"])
    assert second.status_code == 400 and "good_faith_facts" in second.json()
    done = _approve(cast.reviewer_2, created["id"], good_faith_facts=GFF)
    assert done.status_code == 200 and done.json()["status"] == "approved"
    determination = GoodFaithDetermination.objects.get(request_id=created["id"])
    assert determination.facts == GFF and determination.by == cast.reviewer_2.user


@pytest.mark.django_db
def test_verification_is_for_emergencies_and_staff(cast: Cast, quiet_intake: None) -> None:
    order = _file(cast, "court_order")
    refused = _callback(cast, order["id"], DIRECTORY_PHONE, "agency_directory", True)
    assert refused.status_code == 409 and refused.json()["code"] == "not_allowed_in_status"
    created = _file(cast, "emergency")
    by_officer = api(
        cast.officer_a.client(),
        "post",
        f"/api/v1/requests/{created['id']}/verification/",
        _verification_body(),
    )
    assert by_officer.status_code == 403
    bad = _callback(cast, created["id"], "555-01", "agency_directory", True)
    assert bad.status_code == 400 and "called_number" in bad.json()


@pytest.mark.django_db
def test_staff_who_filed_paper_process_cannot_approve_it(cast: Cast, quiet_intake: None) -> None:
    body = filing(process_type="court_order", reference="PAPER-1", agency_id=str(cast.agency_b.id))
    created = api(cast.reviewer_1.client(), "post", "/api/v1/requests/", body).json()
    api(
        cast.reviewer_1.client(),
        "post",
        f"/api/v1/requests/{created['id']}/documents/",
        pdf_upload(SIGNED_ORDER),
    )
    own = _approve(cast.reviewer_1, created["id"])
    assert own.status_code == 409 and own.json()["code"] == "submitter_cannot_approve"
    assert _approve(cast.reviewer_2, created["id"]).status_code == 200
    assert _approve(cast.custodian, created["id"]).json()["status"] == "approved"
    seen_by_b = api(cast.officer_b.client(), "get", f"/api/v1/requests/{created['id']}/")
    assert seen_by_b.status_code == 200
    hidden = api(cast.officer_a.client(), "get", f"/api/v1/requests/{created['id']}/")
    assert hidden.status_code == 404


def _widened(created: dict[str, Any], part: str) -> dict[str, Any]:
    date_from, date_to = moment(created["date_from"]), moment(created["date_to"])
    return {
        "identifiers": {"identifiers": ["+14155550100", STRANGER]},
        "date_from": {"date_from": (date_from - timedelta(seconds=1)).isoformat()},
        "date_to": {"date_to": (date_to + timedelta(seconds=1)).isoformat()},
        "direction": {"direction": "both"},
        "fields": {"fields": ["occurred_at", "source", "message_body"]},
        "categories": {"categories": ["query_logs", "content"]},
    }[part]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "part", ["identifiers", "date_from", "date_to", "direction", "fields", "categories"]
)
def test_widening_any_part_of_the_scope_is_a_400(cast: Cast, quiet_intake: None, part: str) -> None:
    created = _file(cast, "court_order")
    basis = {"narrowing_basis": "not_in_signed_process"}
    refused = _approve(cast.reviewer_1, created["id"], scope=_widened(created, part), **basis)
    assert refused.status_code == 400 and "scope" in refused.json(), refused.json()
    # The second approval may not widen the first one's narrower scope either.
    narrower = {
        "identifiers": ["+14155550100"],
        "date_from": (moment(created["date_from"]) + timedelta(days=1)).isoformat(),
        "date_to": (moment(created["date_to"]) - timedelta(days=1)).isoformat(),
        "fields": ["occurred_at", "source"],
    }
    first = _approve(cast.reviewer_1, created["id"], scope=narrower, **basis)
    assert first.status_code == 200, first.json()
    back = {
        "identifiers": {"identifiers": ["+14155550100", "target@example.com"]},
        "date_from": {"date_from": created["date_from"]},
        "date_to": {"date_to": created["date_to"]},
        "direction": {"direction": "both"},
        "fields": {"fields": ["occurred_at", "source", "target"]},
        "categories": {"categories": ["query_logs", "content"]},
    }[part]
    second = _approve(cast.reviewer_2, created["id"], scope=back)
    assert second.status_code == 400 and "scope" in second.json(), second.json()
    assert LegalRequest.objects.get(pk=created["id"]).status == "awaiting_second_approval"
    done = _approve(cast.reviewer_2, created["id"])
    assert done.status_code == 200 and Sc.from_json(done.json()["scope"]).same_as(
        Sc(
            identifiers=("+14155550100",),
            date_from=moment(narrower["date_from"]),
            date_to=moment(narrower["date_to"]),
            direction="outgoing",
            categories=("query_logs",),
            fields=("occurred_at", "source"),
        )
    )


@pytest.mark.django_db
def test_nothing_moves_an_approved_request_back(cast: Cast, quiet_intake: None) -> None:
    created = _file(cast, "court_order")
    path = f"/api/v1/requests/{created['id']}/"
    _approve(cast.reviewer_1, created["id"])
    assert _approve(cast.reviewer_2, created["id"]).json()["status"] == "approved"
    head = AuditTail()
    attempts = [
        (cast.officer_a, "post", path + "withdraw/", None),
        (cast.officer_a, "patch", path, {"answer": "Late answer."}),
        (cast.custodian, "post", path + "review/", {"decision": "approve"}),
        (cast.custodian, "post", path + "review/", {"decision": "reject", "reason": "No."}),
        (cast.custodian, "post", path + "review/", _review_body()),
        (cast.custodian, "post", path + "claim/", None),
    ]
    for actor, method, url, body in attempts:
        refused = api(actor.client(), method, url, body)
        assert refused.status_code == 409, (url, body, refused.json())
        assert refused.json()["code"] == "not_allowed_in_status", (url, body, refused.json())
    assert LegalRequest.objects.get(pk=created["id"]).status == "approved"
    assert not [e for e in head.new_events() if e.action in TRANSITION_ACTIONS]


# --- bugs the machine found, fixed; these keep them fixed -----------------------------


@pytest.mark.django_db
def test_a_callback_number_must_be_a_phone_number(cast: Cast, quiet_intake: None) -> None:
    created = _file(cast, "emergency")
    recorded = _callback(cast, created["id"], "lt.webb@example.com", "agency_directory", True)
    # API.md: a confirmed call to a number; an email address is no number to call.
    assert recorded.status_code == 400, recorded.json()


@pytest.mark.django_db
def test_an_email_callback_does_not_verify_an_emergency(cast: Cast, quiet_intake: None) -> None:
    created = _file(cast, "emergency")
    _callback(cast, created["id"], "lt.webb@example.com", "agency_directory", True)
    approved = _approve(cast.reviewer_1, created["id"], good_faith_facts=GFF)
    assert approved.status_code == 409, approved.json()
    assert approved.json()["code"] == "emergency_not_verified"


@pytest.mark.django_db
def test_an_answer_cannot_invert_the_range(cast: Cast, quiet_intake: None) -> None:
    created = _file(cast, "court_order")
    path = f"/api/v1/requests/{created['id']}/"
    api(cast.reviewer_1.client(), "post", path + "review/", _review_body())
    later = (moment(created["date_to"]) + timedelta(days=1)).isoformat()
    answered = api(
        cast.officer_a.client(), "patch", path, {"answer": "New dates.", "date_from": later}
    )
    # API.md: date_from after date_to is a 400, with nothing stored.
    assert answered.status_code == 400, answered.json()


@pytest.mark.django_db
def test_restating_the_scope_in_another_order_is_not_narrowing(
    cast: Cast, quiet_intake: None
) -> None:
    created = _file(cast, "court_order")
    same = {"identifiers": ["target@example.com", "+14155550100"]}  # both, other order
    approved = _approve(cast.reviewer_1, created["id"], scope=same)
    assert approved.status_code == 200, approved.json()


@pytest.mark.django_db
def test_approving_the_lawful_part_of_a_subpoena_needs_no_narrowing_basis(
    cast: Cast, quiet_intake: None
) -> None:
    created = _file(cast, "subpoena", categories=("query_logs", "subscriber_info"))
    first = _approve(cast.reviewer_1, created["id"])
    assert first.status_code == 200, first.json()
    done = _approve(cast.reviewer_2, created["id"])
    assert done.json()["status"] == "approved", done.json()
    assert done.json()["scope"]["categories"] == ["subscriber_info"]
    other = _file(cast, "subpoena", categories=("query_logs", "subscriber_info"))
    asking_for_logs = _approve(cast.custodian, other["id"], scope={"categories": ["query_logs"]})
    assert asking_for_logs.status_code == 400 and "scope" in asking_for_logs.json()


@pytest.mark.django_db
def test_a_call_to_the_number_the_request_gave_never_counts(cast: Cast, quiet_intake: None) -> None:
    created = _file(cast, "emergency")
    path = f"/api/v1/requests/{created['id']}/"
    # A call to the number in the request does not verify it (it may be the forger's)...
    _callback(cast, created["id"], CONTACT_PHONE, "agency_directory", True)
    refused = _approve(cast.reviewer_1, created["id"], good_faith_facts=GFF)
    assert refused.json()["code"] == "emergency_not_verified"
    # ...and must not start to once the requester swaps the contact phone for another.
    api(cast.reviewer_2.client(), "post", path + "review/", _review_body())
    contact = {"name": "SA Jordan Blake", "email": "j.blake@fbi.example.gov", "phone": OTHER_PHONE}
    swapped = api(
        cast.officer_a.client(), "patch", path, {"answer": "New desk.", "contact": contact}
    )
    assert swapped.status_code == 200
    after = _approve(cast.reviewer_1, created["id"], good_faith_facts=GFF)
    assert after.status_code == 409, after.json()
    assert after.json()["code"] == "emergency_not_verified"
