"""Invariant 8: an agency sees only its own requests; another agency's is a 404."""

import pytest
from rest_framework.test import APIClient

from tests.cases.pdfs import SIGNED_ORDER
from tests.cases.requests import court_order, preservation
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _file(cast: Cast) -> dict[str, str]:
    client = cast.officer_a.client()
    order = client.post("/api/v1/requests/", court_order(), format="json").json()
    kept = client.post("/api/v1/requests/", preservation(reference="PRES-1"), format="json").json()
    upload = client.post(
        f"/api/v1/requests/{order['id']}/documents/",
        {"file": _upload()},
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    return {
        "order": order["id"],
        "preservation": kept["id"],
        "document": upload.json()["documents"][0]["id"],
        "hold": order["hold"]["id"],
    }


def _upload():  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("order.pdf", SIGNED_ORDER, content_type="application/pdf")


# (method, path template, body) for every request-scoped endpoint
ENDPOINTS = [
    ("get", "/api/v1/requests/{order}/", None),
    ("post", "/api/v1/requests/{order}/documents/", "file"),
    ("get", "/api/v1/requests/{order}/documents/{document}/", None),
    ("post", "/api/v1/requests/{preservation}/renew/", None),
]


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_other_agency_gets_404_on_every_request_endpoint(
    cast: Cast, method: str, template: str, body: str | None
) -> None:
    ids = _file(cast)
    path = template.format(**ids)
    client = cast.officer_b.client()
    data = {"file": _upload()} if body == "file" else None
    response = getattr(client, method)(path, data, format="multipart" if data else None)
    # The document file is staff-only, so an officer is refused before tenancy
    # applies; every other endpoint hides the request's existence.
    expected = 403 if "documents/{document}" in template else 404
    assert response.status_code == expected, (path, response.json())


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_anonymous_gets_401_everywhere(
    cast: Cast, method: str, template: str, body: str | None
) -> None:
    ids = _file(cast)
    response = getattr(APIClient(), method)(template.format(**ids))
    assert response.status_code == 401


def test_own_agency_and_staff_see_the_request(cast: Cast) -> None:
    ids = _file(cast)
    own = cast.officer_a.client().get(f"/api/v1/requests/{ids['order']}/")
    staff = cast.reviewer_1.client().get(f"/api/v1/requests/{ids['order']}/")
    assert own.status_code == 200 and staff.status_code == 200
    opened = cast.custodian.client().get(
        f"/api/v1/requests/{ids['order']}/documents/{ids['document']}/"
    )
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content).startswith(b"%PDF-")


def test_other_agency_sees_nothing_in_lists_or_counts(cast: Cast) -> None:
    _file(cast)
    listing = cast.officer_b.client().get("/api/v1/requests/").json()
    assert listing["count"] == 0 and listing["results"] == []
    filtered = cast.officer_b.client().get("/api/v1/requests/", {"status": "preserved"}).json()
    assert filtered["count"] == 0
    assert cast.officer_a.client().get("/api/v1/requests/").json()["count"] == 2
    assert cast.reviewer_2.client().get("/api/v1/requests/").json()["count"] == 2


def test_holds_are_staff_only(cast: Cast) -> None:
    ids = _file(cast)
    for officer in (cast.officer_a, cast.officer_b):
        assert officer.client().get("/api/v1/holds/").status_code == 403
        release = officer.client().post(
            f"/api/v1/holds/{ids['hold']}/release/", {"reason": "x"}, format="json"
        )
        assert release.status_code == 403
    assert APIClient().get("/api/v1/holds/").status_code == 401


def test_agency_never_sees_internal_findings(cast: Cast) -> None:
    body = court_order(
        process_type="emergency",
        emergency_justification="Imminent threat to life.",
        contact={"name": "Det. Roe", "email": "roe.detective@gmail.com", "phone": "+14155550199"},
    )
    created = cast.officer_a.client().post("/api/v1/requests/", body, format="json").json()
    staff_view = cast.reviewer_1.client().get(f"/api/v1/requests/{created['id']}/").json()
    staff_codes = {f["code"] for f in staff_view["findings"]}
    assert "free_mail_sender" in staff_codes
    for view in (
        created,
        cast.officer_a.client().get(f"/api/v1/requests/{created['id']}/").json(),
        cast.officer_a.client().get("/api/v1/requests/").json()["results"][0],
    ):
        assert all(f["audience"] == "agency" for f in view["findings"])
        assert "free_mail_sender" not in {f["code"] for f in view["findings"]}
