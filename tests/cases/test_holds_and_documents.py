from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest, Status
from legalops.cases.services import preservations_expire
from lookups.ingest import logs_ingest
from lookups.models import Hold, QueryLogEntry
from lookups.readers import array_entries
from lookups.retention import logs_purge
from tests.cases.pdfs import PROPOSED_ORDER, SIGNED_ORDER
from tests.cases.requests import court_order, preservation
from tests.conftest import Cast
from tests.lookups.helpers import log_entry

pytestmark = pytest.mark.django_db


def _upload(client, request_id: str, data: bytes, name: str = "order.pdf"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/requests/{request_id}/documents/",
        {"file": SimpleUploadedFile(name, data, content_type="application/pdf")},
        format="multipart",
    )


def _rows_at(moment, handle: str = "+14155550100") -> None:  # type: ignore[no-untyped-def]
    logs_ingest(entries=array_entries([log_entry(source=handle, occurred_at=moment.isoformat())]))


def test_a_requests_hold_keeps_its_rows_through_a_purge_and_release_ends_it(cast: Cast) -> None:
    old = timezone.now() - timedelta(days=25)
    _rows_at(old)
    _rows_at(old, handle="+14155550111")  # not asked for: purged
    body = court_order(
        date_from=(old - timedelta(days=1)).isoformat(),
        date_to=(old + timedelta(days=1)).isoformat(),
    )
    created = cast.officer_a.client().post("/api/v1/requests/", body, format="json").json()
    later = timezone.now() + timedelta(days=10)
    run = logs_purge(now=later)
    assert (run.deleted, run.kept_held) == (1, 1)
    assert QueryLogEntry.objects.get().source == "+14155550100"

    listing = cast.reviewer_1.client().get("/api/v1/holds/").json()
    assert [h["request"]["number"] for h in listing] == [created["number"]]
    assert listing[0]["identifiers"] == ["+14155550100", "target@example.com"]
    hold_id = created["hold"]["id"]
    no_reason = cast.reviewer_1.client().post(
        f"/api/v1/holds/{hold_id}/release/", {}, format="json"
    )
    assert no_reason.status_code == 400
    released = cast.reviewer_1.client().post(
        f"/api/v1/holds/{hold_id}/release/", {"reason": "Order withdrawn by AUSA."}, format="json"
    )
    assert released.status_code == 200
    assert released.json()["released_at"] is not None
    again = cast.reviewer_1.client().post(
        f"/api/v1/holds/{hold_id}/release/", {"reason": "again"}, format="json"
    )
    assert again.status_code == 409
    assert cast.reviewer_1.client().get("/api/v1/holds/").json() == []
    run = logs_purge(now=later)
    assert run.deleted == 1
    assert QueryLogEntry.objects.count() == 0


def test_hold_is_clipped_at_receipt(cast: Cast) -> None:
    future = timezone.now() + timedelta(days=5)
    body = court_order(date_to=future.replace(microsecond=0).isoformat())
    created = cast.officer_a.client().post("/api/v1/requests/", body, format="json").json()
    request = LegalRequest.objects.get(pk=created["id"])
    assert request.hold.date_to == request.received_at
    assert "prospective_scope" in {f["code"] for f in created["findings"]}


def test_preservation_renewal_extends_from_the_current_end(cast: Cast) -> None:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", preservation(), format="json").json()
    hold = Hold.objects.get(pk=created["hold"]["id"])
    first_end = hold.expires_at
    renewed = client.post(f"/api/v1/requests/{created['id']}/renew/")
    assert renewed.status_code == 200, renewed.json()
    hold.refresh_from_db()
    assert hold.expires_at == first_end + timedelta(days=90)
    second = client.post(f"/api/v1/requests/{created['id']}/renew/")
    assert second.status_code == 200
    staff = cast.reviewer_1.client().get(f"/api/v1/requests/{created['id']}/").json()
    assert "preservation_renewed_twice" in {f["code"] for f in staff["findings"]}
    assert "preservation_renewed_twice" not in {f["code"] for f in second.json()["findings"]}


def test_renewal_after_expiry_is_409_hold_expired(cast: Cast) -> None:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", preservation(), format="json").json()
    Hold.objects.filter(pk=created["hold"]["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert preservations_expire() == 1
    assert LegalRequest.objects.get(pk=created["id"]).status == Status.EXPIRED
    response = client.post(f"/api/v1/requests/{created['id']}/renew/")
    assert response.status_code == 409
    assert response.json()["code"] == "hold_expired"


def test_only_preservations_renew(cast: Cast) -> None:
    created = cast.officer_a.client().post("/api/v1/requests/", court_order(), format="json").json()
    response = cast.officer_a.client().post(f"/api/v1/requests/{created['id']}/renew/")
    assert response.status_code == 409


def test_document_upload_records_sha256_and_clears_missing_document(cast: Cast) -> None:
    import hashlib

    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", court_order(), format="json").json()
    assert "missing_document" in {f["code"] for f in created["findings"]}
    response = _upload(client, created["id"], SIGNED_ORDER)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["documents"][0]["sha256"] == hashlib.sha256(SIGNED_ORDER).hexdigest()
    assert body["documents"][0]["name"] == "order.pdf"
    assert "missing_document" not in {f["code"] for f in body["findings"]}


def test_proposed_order_is_flagged(cast: Cast) -> None:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", court_order(), format="json").json()
    body = _upload(client, created["id"], PROPOSED_ORDER).json()
    flagged = [f for f in body["findings"] if f["code"] == "document_not_issued"]
    assert flagged and flagged[0]["severity"] == "error"


def test_a_proposed_order_sent_by_mistake_is_superseded_by_the_signed_one(cast: Cast) -> None:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", court_order(), format="json").json()
    proposed = _upload(client, created["id"], PROPOSED_ORDER, "proposed.pdf").json()
    proposed_id = proposed["documents"][0]["id"]
    # Adding the signed order beside it leaves the error: the proposed one still counts.
    beside = _upload(client, created["id"], SIGNED_ORDER).json()
    assert "document_not_issued" in {f["code"] for f in beside["findings"]}
    replaced = client.post(
        f"/api/v1/requests/{created['id']}/documents/",
        {
            "file": SimpleUploadedFile("signed.pdf", SIGNED_ORDER, content_type="application/pdf"),
            "supersedes": proposed_id,
        },
        format="multipart",
    )
    assert replaced.status_code == 201, replaced.json()
    body = replaced.json()
    assert "document_not_issued" not in {f["code"] for f in body["findings"]}
    by_id = {d["id"]: d for d in body["documents"]}
    (signed_id,) = [i for i, d in by_id.items() if d["name"] == "signed.pdf"]
    assert by_id[proposed_id]["superseded_by"] == signed_id  # kept on file, marked
    assert by_id[signed_id]["superseded_by"] is None
    event = AuditEvent.objects.filter(action="document.added").order_by("seq").last()
    assert event is not None and event.details["supersedes"] == proposed_id


def test_a_document_is_superseded_once_and_only_by_its_own_request(cast: Cast) -> None:
    client = cast.officer_a.client()
    first = client.post("/api/v1/requests/", court_order(), format="json").json()
    other = client.post("/api/v1/requests/", court_order(), format="json").json()
    old_id = _upload(client, first["id"], PROPOSED_ORDER).json()["documents"][0]["id"]

    def replace(request_id: str, supersedes: str):  # type: ignore[no-untyped-def]
        return client.post(
            f"/api/v1/requests/{request_id}/documents/",
            {
                "file": SimpleUploadedFile("new.pdf", SIGNED_ORDER, content_type="application/pdf"),
                "supersedes": supersedes,
            },
            format="multipart",
        )

    elsewhere = replace(other["id"], old_id)
    assert elsewhere.status_code == 400 and "supersedes" in elsewhere.json()
    assert replace(first["id"], "not-a-uuid").status_code == 400
    assert replace(first["id"], old_id).status_code == 201
    again = replace(first["id"], old_id)
    assert again.status_code == 400 and "already replaced" in str(again.json())
    # Nothing half-stored: the refused uploads added no document.
    assert len(client.get(f"/api/v1/requests/{first['id']}/").json()["documents"]) == 2
    assert len(client.get(f"/api/v1/requests/{other['id']}/").json()["documents"]) == 0


def test_documents_cannot_be_replaced_after_approval_or_by_the_agency_over_staff(
    cast: Cast,
) -> None:
    officer = cast.officer_a.client()
    created = officer.post("/api/v1/requests/", court_order(), format="json").json()
    staff_upload = cast.reviewer_1.client().post(
        f"/api/v1/requests/{created['id']}/documents/",
        {"file": SimpleUploadedFile("paper.pdf", SIGNED_ORDER, content_type="application/pdf")},
        format="multipart",
    )
    staff_document = staff_upload.json()["documents"][0]["id"]

    def replace(client, supersedes: str):  # type: ignore[no-untyped-def]
        return client.post(
            f"/api/v1/requests/{created['id']}/documents/",
            {
                "file": SimpleUploadedFile("new.pdf", SIGNED_ORDER, content_type="application/pdf"),
                "supersedes": supersedes,
            },
            format="multipart",
        )

    refused = replace(officer, staff_document)
    assert refused.status_code == 400 and "uploaded itself" in str(refused.json())
    for reviewer in (cast.reviewer_1, cast.reviewer_2):
        approved = reviewer.client().post(
            f"/api/v1/requests/{created['id']}/review/",
            {"decision": "approve", "reason": "Signed order on file."},
            format="json",
        )
        assert approved.status_code == 200, approved.json()
    late = replace(cast.reviewer_1.client(), staff_document)
    assert late.status_code == 400 and "record of what was approved" in str(late.json())
    assert len(officer.get(f"/api/v1/requests/{created['id']}/").json()["documents"]) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"GIF89a not a pdf", "not a PDF"), (b"", "empty"), (b"%PDF-1.7 garbage", "not a PDF")],
)
def test_non_pdf_uploads_are_400(cast: Cast, data: bytes, message: str) -> None:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", court_order(), format="json").json()
    response = _upload(client, created["id"], data, name="x.pdf")
    assert response.status_code == 400
    assert message in response.json()["file"][0]


def test_oversized_upload_is_413(cast: Cast, settings) -> None:  # type: ignore[no-untyped-def]
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", court_order(), format="json").json()
    big = SIGNED_ORDER + b"\n%" + b"0" * (20 * 1024 * 1024)
    response = _upload(client, created["id"], big)
    assert response.status_code == 413


def test_documents_are_not_under_a_public_url(cast: Cast, settings) -> None:  # type: ignore[no-untyped-def]
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", court_order(), format="json").json()
    _upload(client, created["id"], SIGNED_ORDER)
    assert not settings.MEDIA_URL or settings.MEDIA_URL in {"", "/"}
    from django.test import Client

    for path in ("/media/", "/documents/"):
        assert Client().get(path).status_code == 404
