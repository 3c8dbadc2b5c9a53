import pytest

from legalops.cases.models import LegalRequest
from lookups.models import Hold
from tests.cases.requests import court_order, emergency, preservation
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
URL = "/api/v1/requests/"


def test_officer_files_a_court_order_and_gets_it_back_normalized(cast: Cast) -> None:
    response = cast.officer_a.client().post(URL, court_order(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "received"
    assert body["number"].startswith("LR-")
    assert len(body["number"]) == len("LR-2026-000001")
    assert body["agency"] == {"id": str(cast.agency_a.id), "name": cast.agency_a.name}
    assert body["identifiers"] == [
        {"raw": "+1 (415) 555-0100", "normalized": "+14155550100", "kind": "phone"},
        {"raw": "Target@Example.com", "normalized": "target@example.com", "kind": "email"},
    ]
    # It asks for an NDO; only a confirmed 2705(b) order delays notice (test_nondisclosure).
    assert body["notice"]["state"] == "notify_before_disclosure"
    assert body["due_at"].endswith("Z")
    assert body["overdue"] is False
    assert body["hold"] is not None
    assert body["approvals"] == [] and body["scope"] is None and body["package"] is None
    assert {f["audience"] for f in body["findings"]} <= {"agency"}


def test_national_numbers_are_read_in_the_agencys_country(cast: Cast) -> None:
    from legalops.accounts.services import agency_create

    _, issued = agency_create(name="Metropolitan Police", email="dc@met.example.uk", country="GB")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    body = court_order(jurisdiction="GB", identifiers=["07911 123456"])
    response = client.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["identifiers"][0]["normalized"] == "+447911123456"


def test_numbers_are_sequential(cast: Cast) -> None:
    first = cast.officer_a.client().post(URL, court_order(reference="A-1"), format="json")
    second = cast.officer_b.client().post(URL, court_order(reference="A-1"), format="json")
    n1 = int(first.json()["number"].rsplit("-", 1)[1])
    n2 = int(second.json()["number"].rsplit("-", 1)[1])
    assert n2 == n1 + 1


def test_duplicate_reference_is_409_with_the_existing_id(cast: Cast) -> None:
    first = cast.officer_a.client().post(URL, court_order(reference="DUP-1"), format="json")
    again = cast.officer_a.client().post(URL, court_order(reference="DUP-1"), format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_reference"
    assert again.json()["id"] == first.json()["id"]
    assert LegalRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date_from": "2026-11-20T00:00:00Z", "date_to": "2026-11-01T00:00:00Z"}, "date_from"),
        ({"identifiers": []}, "identifiers"),
        ({"identifiers": ["+1 415 555 0100", "not-a-handle", "x@y"]}, "identifiers"),
        ({"process_type": "letter"}, "process_type"),
        ({"direction": "sideways"}, "direction"),
        ({"data_categories": ["location"]}, "data_categories"),
        ({"jurisdiction": "California"}, "jurisdiction"),
        ({"date_from": "2026-11-01T00:00:00"}, "date_from"),
        ({"contact": {"name": "x"}}, "contact"),
    ],
)
def test_bad_input_is_400_and_stores_nothing(cast: Cast, change: dict, field: str) -> None:
    response = cast.officer_a.client().post(URL, court_order(**change), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert LegalRequest.objects.count() == 0
    assert Hold.objects.count() == 0


def test_bad_identifiers_are_named_by_index(cast: Cast) -> None:
    body = court_order(identifiers=["+1 415 555 0100", "not-a-handle", "аlice@example.com"])
    response = cast.officer_a.client().post(URL, body, format="json")
    assert response.status_code == 400
    errors = response.json()["identifiers"]
    assert set(errors) == {"1", "2"}
    assert "mixes" in errors["2"][0]


def test_emergency_without_justification_is_400(cast: Cast) -> None:
    response = cast.officer_a.client().post(
        URL, emergency(emergency_justification="  "), format="json"
    )
    assert response.status_code == 400
    assert "emergency_justification" in response.json()


def test_emergency_is_due_in_hours(cast: Cast) -> None:
    response = cast.officer_a.client().post(URL, emergency(), format="json")
    assert response.status_code == 201
    request = LegalRequest.objects.get()
    assert (request.due_at - request.received_at).total_seconds() == 4 * 3600
    assert response.json()["notice"]["state"] == "after_emergency"


def test_preservation_is_preserved_at_once_with_a_90_day_hold(cast: Cast) -> None:
    response = cast.officer_a.client().post(URL, preservation(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "preserved"
    assert body["outcome"] == "preserved"
    request = LegalRequest.objects.get()
    hold = request.hold
    assert hold is not None
    assert (hold.expires_at - request.received_at).days == 90
    assert hold.date_to == request.received_at
    assert body["notice"]["state"] == "not_required"


def test_staff_file_paper_process_for_an_agency(cast: Cast) -> None:
    body = court_order(agency=str(cast.agency_b.id))
    response = cast.reviewer_1.client().post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["agency"]["id"] == str(cast.agency_b.id)
    missing = cast.reviewer_1.client().post(URL, court_order(reference="P-2"), format="json")
    assert missing.status_code == 400
    assert "agency" in missing.json()


def test_officer_cannot_file_for_another_agency(cast: Cast) -> None:
    body = court_order(agency=str(cast.agency_b.id))
    response = cast.officer_a.client().post(URL, body, format="json")
    assert response.status_code == 400


def test_ingest_and_admin_accounts_cannot_file(cast: Cast) -> None:
    assert cast.ingest.client().post(URL, court_order(), format="json").status_code == 403
    assert cast.admin.client().post(URL, court_order(), format="json").status_code == 403
    assert cast.anonymous().post(URL, court_order(), format="json").status_code == 401


def test_list_filters_and_pagination(cast: Cast) -> None:
    client = cast.officer_a.client()
    for index in range(3):
        client.post(URL, court_order(reference=f"L-{index}"), format="json")
    client.post(URL, preservation(reference="L-P"), format="json")
    listing = client.get(URL, {"page_size": 2}).json()
    assert listing["count"] == 4
    assert len(listing["results"]) == 2
    assert listing["next"] is not None
    preserved = client.get(URL, {"status": "preserved,received"}).json()
    assert preserved["count"] == 4
    only = client.get(URL, {"process_type": "preservation"}).json()
    assert only["count"] == 1
    today = only["results"][0]["received_at"][:10]
    assert client.get(URL, {"received_after": today, "received_before": today}).json()["count"] == 4
    assert client.get(URL, {"received_before": "2000-01-01"}).json()["count"] == 0
    assert client.get(URL, {"page_size": 500}).json()["count"] == 4


def test_agencies_list_is_for_staff(cast: Cast) -> None:
    staff = cast.reviewer_1.client().get("/api/v1/agencies/")
    assert staff.status_code == 200
    assert {a["name"] for a in staff.json()} == {cast.agency_a.name, cast.agency_b.name}
    assert cast.officer_a.client().get("/api/v1/agencies/").status_code == 403


def test_api_errors_are_json_and_routes_exact(cast: Cast) -> None:
    response = cast.officer_a.client().get("/api/v1/requests")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    bad = cast.officer_a.client().get("/api/v1/requests/not-a-uuid/")
    assert bad.status_code == 404
    assert bad.json() == {"detail": "Not found."}


def test_the_orders_time_zone_is_kept_for_its_letters(cast: Cast) -> None:
    body = court_order(date_from="2026-11-01T00:00:00-08:00", date_to="2026-11-19T23:59:59-08:00")
    response = cast.officer_a.client().post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["date_from"] == "2026-11-01T08:00:00Z"
    assert LegalRequest.objects.get().utc_offset_minutes == -480
