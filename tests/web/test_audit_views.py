"""The audit viewer: custodians and admins only; filters; Verify runs the verifier,
says what it found (a tampered entry included) and is itself recorded."""

import pytest
from django.test import Client

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest
from tests.audit.helpers import audit_triggers_disabled
from tests.conftest import Cast
from tests.web.pages import filed_order, page_text, parse, post_form, signed_in

pytestmark = pytest.mark.django_db


def test_custodians_and_admins_read_the_chain_newest_first(cast: Cast) -> None:
    request_id = filed_order(cast, reference="AU-1", identifiers=["+14155550181"])
    for actor in (cast.custodian, cast.admin):
        page = signed_in(actor).get("/audit/")
        assert page.status_code == 200
        text = page_text(page)
        assert "request.submitted" in text and request_id in text
        seqs = [
            int(data)
            for data in parse(page).text
            if data.strip().isdigit() and int(data) <= AuditEvent.objects.count()
        ]
        assert seqs and seqs[0] == AuditEvent.objects.order_by("-seq").first().seq
        assert not parse(page).inline_scripts and not parse(page).styled


def test_filters_narrow_by_action_actor_and_request_number(cast: Cast) -> None:
    first = filed_order(cast, reference="AU-2", identifiers=["+14155550182"])
    second = filed_order(cast, reference="AU-3", identifiers=["+14155550183"])
    number = LegalRequest.objects.get(pk=first).number
    client = signed_in(cast.custodian)
    by_request = page_text(client.get(f"/audit/?subject={number}"))
    assert first in by_request and second not in by_request
    assert "hold.placed" in by_request  # its hold's entries come with it
    hold_id = str(LegalRequest.objects.get(pk=first).hold_id)
    assert hold_id in page_text(client.get(f"/audit/?subject={hold_id}"))
    by_action = client.get("/audit/?action=document.")
    assert by_action.status_code == 200
    assert "request.submitted" not in page_text(by_action)
    expected = AuditEvent.objects.filter(action__startswith="document.").count()
    assert expected and f"{expected} entr" in page_text(by_action)
    by_actor = page_text(client.get("/audit/?actor=custodian&action=staff."))
    assert "staff.signed_in" in by_actor
    inverted = client.get("/audit/?date_from=2026-12-02&date_to=2026-12-01")
    assert inverted.status_code == 400
    assert "The last day is before the first." in page_text(inverted)


def test_verify_reports_an_intact_chain_and_is_recorded(cast: Cast) -> None:
    filed_order(cast, reference="AU-4", identifiers=["+14155550184"])
    client = signed_in(cast.custodian)
    client.get("/audit/")
    before = AuditEvent.objects.count()
    response = post_form(client, "/audit/verify/", {})
    assert response.status_code == 200
    text = page_text(response)
    assert "The chain is intact" in text
    assert f"All {before} entries verified" in text
    recorded = AuditEvent.objects.order_by("-seq").first()
    assert recorded.action == "audit.verified" and recorded.actor_label == "custodian"
    assert recorded.details["ok"] is True and recorded.details["checked"] == before


def test_verify_names_an_edited_entry(cast: Cast) -> None:
    filed_order(cast, reference="AU-5", identifiers=["+14155550185"])
    victim = AuditEvent.objects.get(action="request.submitted")
    with audit_triggers_disabled():
        AuditEvent.objects.filter(pk=victim.pk).update(details={"number": "forged"})
    client = signed_in(cast.admin)
    client.get("/audit/")
    text = page_text(post_form(client, "/audit/verify/", {}))
    assert "The chain is broken" in text
    assert f"entry {victim.seq}" in text and "does not match its content (edited?)" in text
    assert AuditEvent.objects.order_by("-seq").first().details["ok"] is False


def test_reviewers_and_officers_cannot_open_the_audit_viewer(cast: Cast) -> None:
    reviewer = signed_in(cast.reviewer_1)
    assert reviewer.get("/audit/").status_code == 403
    reviewer.get("/")
    assert post_form(reviewer, "/audit/verify/", {}).status_code == 403
    assert "Audit" not in [
        text.strip() for text in parse(reviewer.get("/")).text if text.strip() == "Audit"
    ]
    officer = Client()
    officer.force_login(cast.officer_a.user)
    assert officer.get("/audit/").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.verified").exists()
