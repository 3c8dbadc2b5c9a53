"""The holds page: active holds with what placed them, range, expiry and the purge
countdown; release with a reason through the one hold-release service."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from legalops.audit.models import AuditEvent
from legalops.web.holds import hold_purge_countdown
from lookups.ingest import logs_ingest
from lookups.models import Hold
from lookups.readers import array_entries
from tests.cases.requests import preservation
from tests.conftest import Cast
from tests.lookups.helpers import log_entry
from tests.web.pages import filed_order, page_text, parse, post_form, signed_in

pytestmark = pytest.mark.django_db


def _hold_of(request_id: str) -> Hold:
    return Hold.objects.get(requests__pk=request_id)


def test_staff_see_each_active_hold_with_its_source_range_and_countdown(cast: Cast) -> None:
    order_id = filed_order(cast, reference="H-ORDER-1", identifiers=["+1 (415) 555-0142"])
    kept = cast.officer_a.client().post(
        "/api/v1/requests/",
        preservation(reference="H-PRES-2", identifiers=["kept@example.com"]),
        format="json",
    )
    assert kept.status_code == 201, kept.json()
    page = signed_in(cast.reviewer_1).get("/holds/")
    assert page.status_code == 200
    text = page_text(page)
    order, saved = _hold_of(order_id), _hold_of(kept.json()["id"])
    for hold in (order, saved):
        assert hold.placed_by in text
        assert f"{hold.date_from:%Y-%m-%d %H:%M:%S} to {hold.date_to:%Y-%m-%d %H:%M:%S} UTC" in text
    assert "+14155550142" in text and "kept@example.com" in text
    assert "only when released by staff" in text  # the order's hold has no expiry
    assert f"{saved.expires_at:%Y-%m-%d %H:%M} UTC" in text
    assert "purge in" in text and "unless held" in text
    parsed = parse(page)
    assert not parsed.inline_scripts and not parsed.styled and not parsed.style_blocks


def test_the_countdown_names_the_oldest_retained_day_and_the_hours_left(cast: Cast) -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    hold = Hold(
        date_from=datetime(2026, 10, 1, tzinfo=UTC),
        date_to=datetime(2026, 11, 20, tzinfo=UTC),
        reason="test",
        placed_by="LR-2026-000001",
    )
    # Retention 30 days: the oldest retained rows are of Nov 1, gone by Dec 2 00:00.
    countdown = hold_purge_countdown(hold=hold, now=now)
    assert countdown.text == "rows of Nov 1 purge in 14 h unless held"
    assert countdown.urgent
    later = Hold(
        date_from=datetime(2026, 11, 25, tzinfo=UTC),
        date_to=datetime(2026, 11, 28, tzinfo=UTC),
        reason="test",
        placed_by="LR-2026-000002",
    )
    text = hold_purge_countdown(hold=later, now=now).text
    assert text == "rows of Nov 25 purge in 24 days unless held"
    expiring = Hold(
        date_from=later.date_from,
        date_to=later.date_to,
        reason="t",
        placed_by="x",
        expires_at=datetime(2026, 12, 5, tzinfo=UTC),
    )
    assert (
        "(this hold expires first, on Dec 5)" in hold_purge_countdown(hold=expiring, now=now).text
    )
    past = Hold(
        date_from=datetime(2026, 9, 1, tzinfo=UTC),
        date_to=datetime(2026, 9, 30, tzinfo=UTC),
        reason="t",
        placed_by="x",
    )
    assert "exist only while this hold stands" in hold_purge_countdown(hold=past, now=now).text


def test_release_needs_a_reason_and_is_audited(cast: Cast) -> None:
    order_id = filed_order(cast, reference="H-ORDER-3", identifiers=["+14155550143"])
    hold = _hold_of(order_id)
    client = signed_in(cast.reviewer_2)
    client.get("/holds/")
    refused = post_form(client, f"/holds/{hold.pk}/release/", {f"{hold.pk}-reason": "   "})
    assert refused.status_code == 400
    assert "Give the reason for releasing the hold." in page_text(refused)
    hold.refresh_from_db()
    assert hold.released_at is None

    released = post_form(
        client, f"/holds/{hold.pk}/release/", {f"{hold.pk}-reason": "Order vacated by the court."}
    )
    assert released.status_code == 302 and released["Location"] == "/holds/"
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.release_reason == "Order vacated by the court."
    event = AuditEvent.objects.get(action="hold.released", object_id=str(hold.pk))
    assert event.actor_label == "rev_two"
    assert event.details["reason"] == "Order vacated by the court."
    after = client.get("/holds/")
    assert "Released the hold placed by" in page_text(after)
    assert hold.placed_by not in page_text(after).replace(
        "Released the hold placed by " + hold.placed_by, ""
    )

    again = post_form(client, f"/holds/{hold.pk}/release/", {f"{hold.pk}-reason": "Twice."})
    assert again.status_code == 302
    assert "already released" in page_text(client.get("/holds/"))


def test_a_release_without_the_csrf_token_is_refused(cast: Cast) -> None:
    hold = _hold_of(filed_order(cast, reference="H-ORDER-4", identifiers=["+14155550144"]))
    client = signed_in(cast.custodian)
    response = client.post(f"/holds/{hold.pk}/release/", {f"{hold.pk}-reason": "No token."})
    assert response.status_code == 403
    hold.refresh_from_db()
    assert hold.released_at is None


def test_officers_and_admins_never_reach_the_holds_page(cast: Cast) -> None:
    hold = _hold_of(filed_order(cast, reference="H-ORDER-5", identifiers=["+14155550145"]))
    officer = Client()
    officer.force_login(cast.officer_a.user)  # a session from before: the page checks again
    assert officer.get("/holds/").status_code == 403
    assert officer.post(f"/holds/{hold.pk}/release/", {f"{hold.pk}-reason": "x"}).status_code == 403
    admin = signed_in(cast.admin)
    assert admin.get("/holds/").status_code == 403
    signed_out = Client().get("/holds/")
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/login/")
    hold.refresh_from_db()
    assert hold.released_at is None


def test_the_page_counts_the_rows_each_hold_keeps(cast: Cast) -> None:
    now = timezone.now().replace(microsecond=0)
    handle = "+14155550146"
    moments = [now - timedelta(days=40), now - timedelta(days=35), now - timedelta(days=3)]
    entries = [log_entry(source=handle, occurred_at=moment.isoformat()) for moment in moments] + [
        log_entry(source="someone@example.com", target=handle, occurred_at=now.isoformat()),
        log_entry(source="+14155550147", occurred_at=(now - timedelta(days=3)).isoformat()),
    ]
    logs_ingest(entries=array_entries(entries))
    order_id = filed_order(
        cast,
        reference="H-ORDER-6",
        identifiers=[handle],
        date_from=(now - timedelta(days=45)).isoformat(),
        date_to=(now - timedelta(days=1)).isoformat(),
    )
    hold = _hold_of(order_id)
    # Placed at receipt, the hold starts at the retention cutoff: one row in range.
    assert "1 row today" in page_text(signed_in(cast.reviewer_2).get("/holds/"))
    # As if it had been placed 15 days ago: the rows then retained are now past retention.
    Hold.objects.filter(pk=hold.pk).update(date_from=now - timedelta(days=45))
    page = signed_in(cast.reviewer_1).get("/holds/")
    held = page_text(page)
    # Three rows in range (the one of today is outside it); two of them past retention.
    assert "3 rows today, of which 2 past retention exist only because of holds" in held
    assert f'id="rows-held-{hold.pk}"' in page.content.decode()
