"""Four eyes and narrowing, through the API."""

from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.cases.pdfs import SIGNED_ORDER
from tests.cases.requests import court_order
from tests.conftest import Actor, Cast

pytestmark = pytest.mark.django_db


def _filed(cast: Cast, body: dict[str, Any] | None = None, *, signed: bool = True) -> str:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", body or court_order(), format="json").json()
    if signed:
        upload = SimpleUploadedFile("order.pdf", SIGNED_ORDER, content_type="application/pdf")
        client.post(
            f"/api/v1/requests/{created['id']}/documents/", {"file": upload}, format="multipart"
        )
    return created["id"]


def _review(actor: Actor, request_id: str, **body: Any):  # type: ignore[no-untyped-def]
    return actor.client().post(
        f"/api/v1/requests/{request_id}/review/", {"decision": "approve", **body}, format="json"
    )


def test_two_different_staff_approve_and_the_scope_is_fixed(cast: Cast) -> None:
    request_id = _filed(cast)
    first = _review(cast.reviewer_1, request_id, reason="Facially valid.")
    assert first.status_code == 200, first.json()
    assert first.json()["status"] == "awaiting_second_approval"
    assert first.json()["scope"] is None
    again = _review(cast.reviewer_1, request_id)
    assert again.status_code == 409 and again.json()["code"] == "already_approved_by_you"
    second = _review(cast.custodian, request_id)
    assert second.status_code == 200, second.json()
    body = second.json()
    assert body["status"] == "approved"
    assert [a["by"] for a in body["approvals"]] == ["rev_one", "custodian"]
    assert body["scope"]["identifiers"] == ["+14155550100", "target@example.com"]
    assert body["scope"]["direction"] == "outgoing"
    assert body["scope"]["categories"] == ["query_logs"]
    replay = _review(cast.reviewer_2, request_id)
    assert replay.status_code == 409 and replay.json()["code"] == "not_allowed_in_status"


def test_the_submitter_never_approves(cast: Cast) -> None:
    body = court_order(agency=str(cast.agency_a.id))
    created = cast.reviewer_1.client().post("/api/v1/requests/", body, format="json").json()
    upload = SimpleUploadedFile("order.pdf", SIGNED_ORDER, content_type="application/pdf")
    cast.reviewer_1.client().post(
        f"/api/v1/requests/{created['id']}/documents/", {"file": upload}, format="multipart"
    )
    refused = _review(cast.reviewer_1, created["id"])
    assert refused.status_code == 409
    assert refused.json()["code"] == "submitter_cannot_approve"
    assert "someone else must approve" in refused.json()["detail"]


def test_missing_document_blocks_approval(cast: Cast) -> None:
    request_id = _filed(cast, signed=False)
    refused = _review(cast.reviewer_1, request_id)
    assert refused.status_code == 409 and refused.json()["code"] == "missing_document"


def test_narrowing_needs_a_basis_and_widening_is_400(cast: Cast) -> None:
    request_id = _filed(cast)
    narrowed = {"identifiers": ["(415) 555-0100"]}
    no_basis = _review(cast.reviewer_1, request_id, scope=narrowed)
    assert no_basis.status_code == 400 and "narrowing_basis" in no_basis.json()
    wider = _review(
        cast.reviewer_1,
        request_id,
        scope={"identifiers": ["+14155550199"]},
        narrowing_basis="not_in_signed_process",
    )
    assert wider.status_code == 400
    assert "widening" in str(wider.json())
    both = _review(
        cast.reviewer_1,
        request_id,
        scope={"direction": "both"},
        narrowing_basis="agreed_with_agency",
    )
    assert both.status_code == 400
    ok = _review(
        cast.reviewer_1,
        request_id,
        scope=narrowed,
        narrowing_basis="not_in_signed_process",
        reason="One number is not in the order.",
    )
    assert ok.status_code == 200, ok.json()
    # The second approval may narrow further but never re-add what the first dropped.
    readd = _review(
        cast.reviewer_2, request_id, scope={"identifiers": ["+14155550100", "target@example.com"]}
    )
    assert readd.status_code == 400
    final = _review(cast.reviewer_2, request_id)
    assert final.status_code == 200
    scope = final.json()["scope"]
    assert scope["identifiers"] == ["+14155550100"]


def test_a_subpoena_is_approved_for_what_it_lawfully_reaches(cast: Cast) -> None:
    body = court_order(
        process_type="subpoena",
        legal_authority="18 U.S.C. 2703(c)(2)",
        data_categories=["query_logs", "subscriber_info"],
    )
    request_id = _filed(cast, body)
    first = _review(cast.reviewer_1, request_id)
    assert first.status_code == 200, first.json()
    final = _review(cast.reviewer_2, request_id)
    assert final.json()["scope"]["categories"] == ["subscriber_info"]
    forced = _filed(
        cast, court_order(process_type="subpoena", reference="S-2", data_categories=["query_logs"])
    )
    refused = _review(cast.reviewer_1, forced)
    assert refused.status_code == 409 and refused.json()["code"] == "blocking_findings"


def test_reject_and_request_info_need_a_reason_and_mail_the_agency(
    cast: Cast,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    request_id = _filed(cast)
    no_reason = cast.reviewer_1.client().post(
        f"/api/v1/requests/{request_id}/review/", {"decision": "reject"}, format="json"
    )
    assert no_reason.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        asked = cast.reviewer_1.client().post(
            f"/api/v1/requests/{request_id}/review/",
            {"decision": "request_info", "reason": "Please send page 2 of the order."},
            format="json",
        )
    assert asked.status_code == 200
    assert asked.json()["status"] == "info_requested"
    assert len(mail.outbox) == 1 and "page 2" in mail.outbox[0].body
    assert mail.outbox[0].to == ["j.blake@fbi.example.gov"]
    rejected = cast.reviewer_1.client().post(
        f"/api/v1/requests/{request_id}/review/",
        {"decision": "reject", "reason": "Order is not signed."},
        format="json",
    )
    assert rejected.status_code == 409  # info_requested cannot be rejected per the table


def test_officers_cannot_review(cast: Cast) -> None:
    request_id = _filed(cast)
    assert _review(cast.officer_a, request_id).status_code == 403
    assert _review(cast.officer_b, request_id).status_code == 403
