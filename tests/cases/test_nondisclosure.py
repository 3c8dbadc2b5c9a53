"""Only an uploaded 2705(b) order that a reviewer confirmed delays notice."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from legalops.audit.models import AuditEvent
from legalops.cases.models import NondisclosureOrder
from tests.cases.pdfs import SIGNED_ORDER, pdf_of
from tests.cases.requests import court_order, preservation
from tests.cases.review_helpers import pdf_upload
from tests.conftest import Actor, Cast

pytestmark = pytest.mark.django_db

NDO = pdf_of(
    "UNITED STATES DISTRICT COURT\nCase No. 3:26-mj-01422\n"
    "ORDER COMMANDING PROVIDER NOT TO NOTIFY ANY PERSON, 18 U.S.C. 2705(b)\n"
    "IT IS SO ORDERED this 20th day of November, 2026.\n/s/ Hon. Maria Chen"
)
COVER_LETTER = pdf_of(
    "Dear Custodian of Records,\nYou are requested not to disclose the existence of this "
    "order to the account holder.\nSA Jordan Blake"
)


def _filed(cast: Cast, body: dict[str, Any]) -> str:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", body, format="json")
    assert created.status_code == 201, created.json()
    return created.json()["id"]


def _upload(cast: Cast, request_id: str, data: bytes, name: str) -> str:
    response = cast.officer_a.client().post(
        f"/api/v1/requests/{request_id}/documents/", pdf_upload(data, name), format="multipart"
    )
    assert response.status_code == 201, response.json()
    (document,) = [d for d in response.json()["documents"] if d["name"] == name]
    return document["id"]


def _confirm(actor: Actor, request_id: str, **body: Any):  # type: ignore[no-untyped-def]
    return actor.client().post(f"/api/v1/requests/{request_id}/nondisclosure/", body, format="json")


def _codes(body: dict[str, Any]) -> set[str]:
    return {finding["code"] for finding in body["findings"]}


def test_an_ask_for_silence_is_not_an_order_until_a_reviewer_confirms_one(cast: Cast) -> None:
    until = (timezone.localdate() + timedelta(days=180)).isoformat()
    request_id = _filed(cast, court_order(nondisclosure_until=until))
    _upload(cast, request_id, SIGNED_ORDER, "order.pdf")
    _upload(cast, request_id, COVER_LETTER, "cover-letter.pdf")
    ndo_id = _upload(cast, request_id, NDO, "2705b-order.pdf")

    seen = cast.officer_a.client().get(f"/api/v1/requests/{request_id}/").json()
    assert seen["notice"] == {
        "state": "notify_before_disclosure",
        "until": None,
        "order_document": None,
    }
    assert "nondisclosure_order_missing" in _codes(seen)  # the agency is told why

    confirmed = _confirm(cast.reviewer_1, request_id, document=ndo_id, until=until)
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["notice"] == {
        "state": "delayed_until",
        "until": until,
        "order_document": ndo_id,
    }
    assert "nondisclosure_order_missing" not in _codes(confirmed.json())
    event = AuditEvent.objects.filter(action="request.nondisclosure_confirmed").get()
    assert event.actor_id == cast.reviewer_1.user.pk and event.object_id == request_id
    assert event.details["document"] == ndo_id and event.details["until"] == until
    agency_view = cast.officer_a.client().get(f"/api/v1/requests/{request_id}/").json()
    assert agency_view["notice"]["state"] == "delayed_until"


def test_the_latest_confirmation_governs_and_an_indefinite_order_is_flagged(cast: Cast) -> None:
    request_id = _filed(cast, court_order(nondisclosure_until=None))
    ndo_id = _upload(cast, request_id, NDO, "2705b-order.pdf")
    soon = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert _confirm(cast.reviewer_1, request_id, document=ndo_id, until=soon).status_code == 200
    extended = _confirm(cast.reviewer_2, request_id, document=ndo_id, indefinite=True)
    assert extended.status_code == 200, extended.json()
    assert extended.json()["notice"]["state"] == "delayed_indefinitely"
    assert "nondisclosure_indefinite" in _codes(extended.json())  # staff see the flag
    agency_view = cast.officer_a.client().get(f"/api/v1/requests/{request_id}/").json()
    assert "nondisclosure_indefinite" not in _codes(agency_view)  # internal


def test_an_order_that_has_ended_delays_nothing(cast: Cast) -> None:
    request_id = _filed(cast, court_order(nondisclosure_until=None))
    ndo_id = _upload(cast, request_id, NDO, "2705b-order.pdf")
    today = timezone.localdate().isoformat()
    assert _confirm(cast.reviewer_1, request_id, document=ndo_id, until=today).status_code == 200
    # The order's last day passes: its term is in the past.
    NondisclosureOrder.objects.filter(request_id=request_id).update(
        until=timezone.localdate() - timedelta(days=1)
    )
    notice = cast.reviewer_1.client().get(f"/api/v1/requests/{request_id}/").json()["notice"]
    assert notice["state"] == "notify_before_disclosure"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "2099-01-01", "indefinite": True}, "until"),
        ({}, "until"),
        ({"until": "2020-01-01"}, "until"),
        ({"until": "2099-01-01", "document": "0" * 8 + "-0000-0000-0000-" + "0" * 12}, "document"),
        ({"until": "not a date"}, "until"),
    ],
)
def test_a_bad_confirmation_is_a_400_naming_the_field_and_stores_nothing(
    cast: Cast, body: dict[str, Any], field: str
) -> None:
    request_id = _filed(cast, court_order())
    ndo_id = _upload(cast, request_id, NDO, "2705b-order.pdf")
    response = _confirm(cast.reviewer_1, request_id, **{"document": ndo_id, **body})
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not NondisclosureOrder.objects.exists()
    assert not AuditEvent.objects.filter(action="request.nondisclosure_confirmed").exists()


def test_another_requests_document_is_not_this_requests_order(cast: Cast) -> None:
    first = _filed(cast, court_order())
    other_document = _upload(cast, first, NDO, "2705b-order.pdf")
    second = _filed(cast, court_order())
    response = _confirm(cast.reviewer_1, second, document=other_document, until="2099-01-01")
    assert response.status_code == 400 and "document" in response.json()


def test_only_reviewing_staff_confirm_and_other_agencies_see_nothing(cast: Cast) -> None:
    request_id = _filed(cast, court_order())
    ndo_id = _upload(cast, request_id, NDO, "2705b-order.pdf")
    body = {"document": ndo_id, "until": "2099-01-01"}
    assert _confirm(cast.officer_a, request_id, **body).status_code == 403
    assert _confirm(cast.officer_b, request_id, **body).status_code in (403, 404)
    assert _confirm(cast.ingest, request_id, **body).status_code == 403
    assert _confirm(cast.custodian, request_id, **body).status_code == 200


def test_process_without_notice_to_delay_refuses_an_order(cast: Cast) -> None:
    preserved = _filed(cast, preservation())
    document = _upload(cast, preserved, NDO, "2705b-order.pdf")
    refused = _confirm(cast.reviewer_1, preserved, document=document, until="2099-01-01")
    assert refused.status_code == 409 and refused.json()["code"] == "not_allowed_in_status"

    withdrawn = _filed(cast, court_order())
    document = _upload(cast, withdrawn, NDO, "2705b-order.pdf")
    cast.officer_a.client().post(f"/api/v1/requests/{withdrawn}/withdraw/")
    refused = _confirm(cast.reviewer_1, withdrawn, document=document, until="2099-01-01")
    assert refused.status_code == 409 and "nothing will be disclosed" in refused.json()["detail"]


def test_an_order_whose_document_is_replaced_delays_nothing(cast: Cast) -> None:
    request_id = _filed(cast, court_order(nondisclosure_until=None))
    ndo_id = _upload(cast, request_id, NDO, "2705b-order.pdf")
    until = (timezone.localdate() + timedelta(days=60)).isoformat()
    assert _confirm(cast.reviewer_1, request_id, document=ndo_id, until=until).status_code == 200
    replaced = cast.officer_a.client().post(
        f"/api/v1/requests/{request_id}/documents/",
        {**pdf_upload(COVER_LETTER, "letter.pdf"), "supersedes": ndo_id},
        format="multipart",
    )
    assert replaced.status_code == 201, replaced.json()
    assert replaced.json()["notice"]["state"] == "notify_before_disclosure"
    again = _confirm(cast.reviewer_1, request_id, document=ndo_id, until=until)
    assert again.status_code == 400 and "replaced" in str(again.json()["document"])
