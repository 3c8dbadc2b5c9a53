"""The request pages: detail, review through the form (narrowing reaches the service,
refusals in words), the package panel the progress bar polls, and release."""

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest, RequestApproval
from legalops.disclosures.models import Package, PackageStatus
from legalops.disclosures.services import package_generate
from legalops.web.refusals import REFUSALS
from tests.cases.requests import emergency
from tests.cases.review_helpers import filing
from tests.conftest import Cast
from tests.disclosures.flow import seed_logs
from tests.disclosures.worker import celery_worker
from tests.web.pages import filed_order, page_text, parse, post_form, signed_in

pytestmark = pytest.mark.django_db


def _review(client: Client, request_id: str, **data: Any) -> Any:
    return post_form(client, f"/requests/{request_id}/review/", data)


def _form_values(client: Client, request_id: str) -> dict[str, Any]:
    """The review form's fields as the page fills them in (what a browser would send)."""
    page = parse(client.get(f"/requests/{request_id}/"))
    values: dict[str, Any] = {"identifiers": []}
    for tag, attrs in page.elements:
        name = attrs.get("name")
        if tag != "input" or not name or name == "csrfmiddlewaretoken":
            continue
        if attrs.get("type") == "checkbox":
            if "checked" in attrs:
                values.setdefault(name, []).append(attrs["value"])
        elif name in {"date_from", "date_to"}:
            values[name] = attrs.get("value", "")
    values["direction"] = LegalRequest.objects.get(pk=request_id).direction
    return values


def test_the_detail_page_shows_the_request(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    response = client.get(f"/requests/{request_id}/")
    assert response.status_code == 200
    text = page_text(response)
    legal_request = LegalRequest.objects.get(pk=request_id)
    assert legal_request.number in text
    assert "+1 (415) 555-0100" in text and "+14155550100" in text  # raw -> normalized
    assert "target@example.com" in text
    assert "rows of query logs fall in the scope under review" in text  # dry run
    # The order asks for an NDO, but none is confirmed: notice applies.
    assert "The account holder is told before anything is disclosed" in text
    assert "No order confirmed" in text
    assert "request.submitted" in text  # the timeline, from the audit log
    assert "Open order.pdf" in text
    for button in ("Approve", "Reject", "Request information"):
        assert button in text
    for finding in legal_request.findings.all():
        assert finding.message in text


def test_opening_the_uploaded_process_is_audited(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    document = LegalRequest.objects.get(pk=request_id).documents.get()
    response = client.get(f"/requests/{request_id}/documents/{document.id}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="document.opened", actor_label="rev_one").exists()


def test_another_agencys_request_is_visible_to_staff_but_a_bad_id_is_404(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    assert client.get("/requests/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_narrowing_through_the_form_reaches_the_service(cast: Cast) -> None:
    request_id = filed_order(cast)
    one = signed_in(cast.reviewer_1)
    values = _form_values(one, request_id)
    assert values["identifiers"] == ["+14155550100", "target@example.com"]
    values["identifiers"] = ["+14155550100"]
    response = _review(
        one,
        request_id,
        **values,
        decision="approve",
        narrowing_basis="not_in_signed_process",
        reason="The email address is not in the signed order.",
    )
    assert response.status_code == 302, page_text(response)
    approval = RequestApproval.objects.get(request_id=request_id)
    assert approval.scope["identifiers"] == ["+14155550100"]
    assert approval.narrowing_basis == "not_in_signed_process"
    assert LegalRequest.objects.get(pk=request_id).status == "awaiting_second_approval"
    # The second reviewer sees the narrowed scope as the one under review, and confirms it.
    two = signed_in(cast.reviewer_2)
    second = _form_values(two, request_id)
    assert second["identifiers"] == ["+14155550100"]
    confirmed = _review(two, request_id, **second, decision="approve", reason="Confirmed.")
    assert confirmed.status_code == 302, page_text(confirmed)
    legal_request = LegalRequest.objects.get(pk=request_id)
    assert legal_request.scope["identifiers"] == ["+14155550100"]
    assert legal_request.narrowing_basis == "not_in_signed_process"


def test_narrowing_without_a_basis_is_explained_next_to_the_field(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    values = _form_values(client, request_id)
    values["identifiers"] = ["+14155550100"]
    response = _review(client, request_id, **values, decision="approve")
    assert response.status_code == 400
    assert "Narrowing compulsory process needs a basis" in page_text(response)
    assert not RequestApproval.objects.filter(request_id=request_id).exists()


def test_the_same_reviewer_twice_is_refused_in_words(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    assert (
        _review(
            client, request_id, **_form_values(client, request_id), decision="approve"
        ).status_code
        == 302
    )
    again = _review(client, request_id, **_form_values(client, request_id), decision="approve")
    assert again.status_code == 409
    assert REFUSALS["already_approved_by_you"] in page_text(again)
    assert RequestApproval.objects.filter(request_id=request_id).count() == 1


def test_the_submitter_is_refused_in_words(cast: Cast) -> None:
    # Staff file paper process for an agency: the one who filed it may not approve it.
    api = cast.reviewer_1.client()
    body = emergency(agency=str(cast.agency_a.id))
    body.update(process_type="court_order", legal_authority="18 U.S.C. 2703(d)")
    created = api.post("/api/v1/requests/", body, format="json").json()
    client = signed_in(cast.reviewer_1)
    response = _review(
        client, created["id"], **_form_values(client, created["id"]), decision="approve"
    )
    assert response.status_code == 409
    assert "You submitted this request, so someone else must approve it." in page_text(response)


def test_a_missing_document_is_refused_in_words(cast: Cast) -> None:
    request_id = filed_order(cast, signed=False)
    client = signed_in(cast.reviewer_1)
    response = _review(client, request_id, **_form_values(client, request_id), decision="approve")
    assert response.status_code == 409
    assert REFUSALS["missing_document"] in page_text(response)


def test_an_unverified_emergency_is_refused_in_words_and_the_callback_form_verifies(
    cast: Cast,
) -> None:
    api = cast.officer_a.client()
    created = api.post("/api/v1/requests/", emergency(), format="json").json()
    client = signed_in(cast.reviewer_1)
    values = _form_values(client, created["id"])
    refused = _review(
        client, created["id"], **values, decision="approve", good_faith_facts="Kidnapping."
    )
    assert refused.status_code == 409
    assert REFUSALS["emergency_not_verified"] in page_text(refused)
    call = {
        "called_number": "+14155550188",
        "number_source": "agency_directory",
        "spoke_with": "Lt. A. Webb",
        "called_at": "2026-11-20T10:00:00",
        "confirmed": "on",
    }
    recorded = post_form(client, f"/requests/{created['id']}/verification/", call)
    assert recorded.status_code == 302
    page = client.get(f"/requests/{created['id']}/")
    assert "Verified by a confirmed callback" in page_text(page)
    approved = _review(
        client, created["id"], **values, decision="approve", good_faith_facts="Kidnapping."
    )
    assert approved.status_code == 302, page_text(approved)


def test_reject_and_request_information_need_a_reason(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    values = _form_values(client, request_id)
    blank = _review(client, request_id, **values, decision="reject", reason="")
    assert blank.status_code == 400
    assert "A reason is required to reject." in page_text(blank)
    asked = _review(
        client, request_id, **values, decision="request_info", reason="Please send page 2."
    )
    assert asked.status_code == 302
    assert LegalRequest.objects.get(pk=request_id).status == "info_requested"


def _approved_twice(cast: Cast) -> str:
    request_id = filed_order(cast)
    for actor in (cast.reviewer_1, cast.reviewer_2):
        client = signed_in(actor)
        response = _review(
            client, request_id, **_form_values(client, request_id), decision="approve"
        )
        assert response.status_code == 302, page_text(response)
    return request_id


def test_the_progress_partial_polls_while_the_job_runs_and_stops_when_ready(cast: Cast) -> None:
    request_id = _approved_twice(cast)
    client = signed_in(cast.reviewer_1)
    package = Package.objects.get(request_id=request_id)
    # Tasks run in-process here or on the worker; either way show both states of the panel.
    Package.objects.filter(pk=package.pk).update(status=PackageStatus.PROCESSING, progress=0.4)
    running = client.get(f"/requests/{request_id}/package/")
    assert running.status_code == 200
    assert running["Content-Type"].startswith("text/html")
    panel = next(
        attrs for tag, attrs in parse(running).elements if attrs.get("id") == "package-panel"
    )
    assert panel["hx-get"] == f"/requests/{request_id}/package/"
    assert panel["hx-trigger"] == "every 2s"
    progress = next(attrs for tag, attrs in parse(running).elements if tag == "progress")
    assert progress["value"] == "40"
    assert "<html" not in running.content.decode()  # a partial, not a page
    Package.objects.filter(pk=package.pk).update(
        status=PackageStatus.READY, progress=1.0, rows=3, pages=4, sha256="ab" * 32
    )
    ready = client.get(f"/requests/{request_id}/package/")
    panel = next(
        attrs for tag, attrs in parse(ready).elements if attrs.get("id") == "package-panel"
    )
    assert "hx-get" not in panel and "hx-trigger" not in panel
    text = page_text(ready)
    assert "ab" * 32 in text and "Download PDF" in text
    assert "Release" not in text.replace("releases", "")  # a reviewer gets no Release button


def test_a_reviewer_cannot_release(cast: Cast) -> None:
    request_id = _approved_twice(cast)
    client = signed_in(cast.reviewer_1)
    assert client.get(f"/requests/{request_id}/release/").status_code == 403
    assert post_form(client, f"/requests/{request_id}/release/", {}).status_code == 403
    assert LegalRequest.objects.get(pk=request_id).status != "released"


def test_the_custodian_releases_in_their_name_and_downloads(cast: Cast) -> None:
    seeded = seed_logs(count=5)
    request_id = filed_order(
        cast,
        identifiers=["+1 (415) 555-0100"],
        date_from=seeded["start"][0],
        date_to=seeded["end"][0],
    )
    for actor in (cast.reviewer_1, cast.reviewer_2):
        client = signed_in(actor)
        response = _review(
            client, request_id, **_form_values(client, request_id), decision="approve"
        )
        assert response.status_code == 302, page_text(response)
    # What the worker runs (the task is this service and nothing else).
    package_generate(request_id=request_id)
    custodian = signed_in(cast.custodian)
    cast.custodian.user.first_name, cast.custodian.user.last_name = "Dana", "Reyes"
    cast.custodian.user.save()
    detail = page_text(custodian.get(f"/requests/{request_id}/"))
    assert "Release" in detail and "Download PDF" in detail
    confirm = custodian.get(f"/requests/{request_id}/release/")
    text = page_text(confirm)
    assert "The certificate is signed in your name" in text
    assert "Dana Reyes" in text
    released = post_form(custodian, f"/requests/{request_id}/release/", {})
    assert released.status_code == 302
    package = Package.objects.get(request_id=request_id)
    assert package.status == PackageStatus.RELEASED
    assert package.released_by == cast.custodian.user
    assert package.rows == 5
    assert "The certificate is signed in your name" in page_text(
        custodian.get(f"/requests/{request_id}/")
    )
    download = custodian.get(f"/requests/{request_id}/package.pdf")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() == package.sha256
    assert AuditEvent.objects.filter(action="package.downloaded", actor_label="custodian").exists()
    # Released once: a second release is refused in words, not an error page.
    again = post_form(custodian, f"/requests/{request_id}/release/", {})
    assert again.status_code == 302
    assert "This request is not at a stage where that can be done." in page_text(
        custodian.get(f"/requests/{request_id}/")
    )


def test_start_review_claims_the_request(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    assert "Start review" in page_text(client.get(f"/requests/{request_id}/"))
    assert post_form(client, f"/requests/{request_id}/claim/", {}).status_code == 302
    assert LegalRequest.objects.get(pk=request_id).status == "in_review"
    assert "Start review" not in page_text(client.get(f"/requests/{request_id}/"))
    # Claimed already: said in words, not an error page.
    post_form(client, f"/requests/{request_id}/claim/", {})
    assert "This request is not at a stage where that can be done." in page_text(
        client.get(f"/requests/{request_id}/")
    )


def test_a_failed_package_can_be_regenerated(cast: Cast) -> None:
    request_id = _approved_twice(cast)
    LegalRequest.objects.filter(pk=request_id).update(status="failed")
    Package.objects.filter(request_id=request_id).update(
        status=PackageStatus.FAILED, error="the worker died three times"
    )
    client = signed_in(cast.reviewer_1)
    panel = page_text(client.get(f"/requests/{request_id}/package/"))
    assert "the worker died three times" in panel and "Regenerate the package" in panel
    assert post_form(client, f"/requests/{request_id}/package/regenerate/", {}).status_code == 302
    assert Package.objects.get(request_id=request_id).status in {
        PackageStatus.QUEUED,
        PackageStatus.PROCESSING,
        PackageStatus.READY,
    }


def test_shrinking_the_range_through_the_form_reaches_the_service(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    values = _form_values(client, request_id)
    base_from = datetime.fromisoformat(values["date_from"]).replace(tzinfo=UTC)
    shrunk = base_from + timedelta(days=3)
    values["date_from"] = shrunk.strftime("%Y-%m-%dT%H:%M:%S")
    response = _review(
        client,
        request_id,
        **values,
        decision="approve",
        narrowing_basis="agreed_with_agency",
        reason="The agency agreed to three days fewer.",
    )
    assert response.status_code == 302, page_text(response)
    scope = RequestApproval.objects.get(request_id=request_id).scope
    assert datetime.fromisoformat(scope["date_from"]) == shrunk
    legal_request = LegalRequest.objects.get(pk=request_id)
    # The end was left as shown: it keeps the request's exact moment, not a rounded one.
    assert datetime.fromisoformat(scope["date_to"]) == min(
        legal_request.date_to, legal_request.received_at
    )


def test_widening_the_range_is_refused_next_to_the_field(cast: Cast) -> None:
    request_id = filed_order(cast)
    client = signed_in(cast.reviewer_1)
    values = _form_values(client, request_id)
    wider = datetime.fromisoformat(values["date_from"]) - timedelta(days=1)
    values["date_from"] = wider.strftime("%Y-%m-%dT%H:%M:%S")
    response = _review(
        client, request_id, **values, decision="approve", narrowing_basis="agreed_with_agency"
    )
    assert response.status_code == 400
    assert "(widening)" in page_text(response)
    assert not RequestApproval.objects.filter(request_id=request_id).exists()


@pytest.mark.parametrize(
    ("process_type", "refusal"),
    [
        ("subpoena", "missing_document"),
        ("search_warrant", "missing_document"),
        ("emergency", "emergency_not_verified"),
        ("preservation", "not_allowed_in_status"),
    ],
)
def test_every_kind_of_request_has_a_page_and_its_refusal(
    cast: Cast, process_type: str, refusal: str
) -> None:
    body = filing(process_type=process_type, reference=f"KIND-{process_type}")
    created = cast.officer_a.client().post("/api/v1/requests/", body, format="json").json()
    client = signed_in(cast.reviewer_1)
    page = client.get(f"/requests/{created['id']}/")
    assert page.status_code == 200
    text = page_text(page)
    assert created["number"] in text
    if process_type == "preservation":
        assert "Not open for review" in text
        assert "No notice: a preservation discloses nothing." in text
    values = _form_values(client, created["id"])
    refused = _review(client, created["id"], **values, decision="approve", good_faith_facts="x")
    assert refused.status_code == 409
    assert REFUSALS[refusal] in page_text(refused)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_progress_partial_follows_a_real_worker_to_ready(
    cast: Cast,
    settings,  # type: ignore[no-untyped-def]
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    settings.MEDIA_ROOT = tmp_path
    seeded = seed_logs(count=60)
    request_id = filed_order(
        cast,
        identifiers=["+1 (415) 555-0100"],
        date_from=seeded["start"][0],
        date_to=seeded["end"][0],
    )
    with celery_worker(media_root=tmp_path):
        for actor in (cast.reviewer_1, cast.reviewer_2):
            client = signed_in(actor)
            response = _review(
                client, request_id, **_form_values(client, request_id), decision="approve"
            )
            assert response.status_code == 302, page_text(response)
        # Poll the partial as htmx does, until an answer no longer asks to be polled.
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            panel = client.get(f"/requests/{request_id}/package/")
            assert panel.status_code == 200
            parsed = parse(panel)
            attrs = next(a for _tag, a in parsed.elements if a.get("id") == "package-panel")
            status = next(
                (a for _tag, a in parsed.elements if a.get("id") == "package-status"), None
            )
            seen.append("polling" if "hx-trigger" in attrs else "final")
            if "hx-trigger" not in attrs:
                break
            if status is not None:  # queued or processing: a progress bar from 0 to 100
                progress = next(a for tag, a in parsed.elements if tag == "progress")
                assert 0 <= int(progress["value"]) <= 100
            time.sleep(0.5)
    assert seen[-1] == "final", seen
    package = Package.objects.get(request_id=request_id)
    assert package.status == PackageStatus.READY, package.error
    text = page_text(panel)
    assert package.sha256 in text
    assert "60" in text and "Download PDF" in text
