"""Confirming a 2705(b) order from the request page: only then is notice delayed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest, NondisclosureOrder
from tests.cases.requests import preservation
from tests.conftest import Cast
from tests.web.pages import filed_order, page_text, post_form, signed_in

pytestmark = pytest.mark.django_db


def test_a_reviewer_confirms_the_order_and_notice_is_delayed(cast: Cast) -> None:
    request_id = filed_order(cast)
    document = str(LegalRequest.objects.get(pk=request_id).documents.get().id)
    client = signed_in(cast.reviewer_1)
    until = timezone.localdate() + timedelta(days=90)
    response = post_form(
        client,
        f"/requests/{request_id}/nondisclosure/",
        {"document": document, "until": until.isoformat()},
    )
    assert response.status_code == 302, page_text(response)
    text = page_text(client.get(f"/requests/{request_id}/"))
    assert f"Notice is delayed by a non-disclosure order until {until.isoformat()}" in text
    assert f"Confirmed by {cast.reviewer_1.user.username}" in text
    assert AuditEvent.objects.filter(action="request.nondisclosure_confirmed").count() == 1


def test_a_confirmation_without_a_term_is_refused_next_to_its_field(cast: Cast) -> None:
    request_id = filed_order(cast)
    document = str(LegalRequest.objects.get(pk=request_id).documents.get().id)
    client = signed_in(cast.reviewer_1)
    response = post_form(client, f"/requests/{request_id}/nondisclosure/", {"document": document})
    assert response.status_code == 400
    assert "Give the date the order ends" in page_text(response)
    assert not NondisclosureOrder.objects.exists()


def test_a_preservation_has_no_order_panel_and_refuses_one_in_words(cast: Cast) -> None:
    created = cast.officer_a.client().post("/api/v1/requests/", preservation(), format="json")
    request_id = created.json()["id"]
    client = signed_in(cast.reviewer_1)
    assert "Non-disclosure order (18 U.S.C. 2705(b))" not in page_text(
        client.get(f"/requests/{request_id}/")
    )
    refused = post_form(client, f"/requests/{request_id}/nondisclosure/", {"document": "x"})
    assert refused.status_code == 400  # no document of its own to choose
    assert not NondisclosureOrder.objects.exists()
