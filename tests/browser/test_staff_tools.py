"""Holds, log search, the audit viewer and the transparency report in a real browser,
at desktop width and at a phone's 390 px, driven by keyboard where a form allows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest
from lookups.models import Hold
from tests.conftest import Cast
from tests.web.pages import PASSWORD, filed_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**/")


def _no_horizontal_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_holds_search_audit_and_report(cast: Cast, browser_session, screenshot) -> None:  # type: ignore[no-untyped-def]
    # Its range covers the log search form's default week, so the request justifies it.
    now = timezone.now().replace(microsecond=0)
    week = (now - timedelta(days=6)).replace(hour=0, minute=0, second=0)
    request_id = filed_order(
        cast,
        reference="BT-1",
        identifiers=["+1 (415) 555-0170"],
        date_from=week.isoformat(),
        date_to=(now - timedelta(minutes=1)).isoformat(),
    )
    number = LegalRequest.objects.get(pk=request_id).number
    page = browser_session().page
    _sign_in(page, cast.custodian.user.username)

    page.get_by_role("link", name="Holds").click()
    panel = page.locator("section.web-hold", has_text=number)
    assert "unless held" in panel.inner_text()
    screenshot(page, "holds")
    panel.get_by_label("Reason for releasing").fill("The court vacated the order.")
    panel.get_by_role("button", name="Release hold").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Released the hold placed by" in page.inner_text("main")
    assert Hold.objects.get(requests__pk=request_id).released_at is not None
    screenshot(page, "holds-released")

    page.get_by_role("link", name="Log search").click()
    page.get_by_label("Phone number or email address").fill("+1 415 555 0170")
    page.get_by_role("button", name="Search").click()
    assert "Name the request this search serves" in page.inner_text("#error-summary")
    screenshot(page, "logsearch-refused")
    page.get_by_label("Request this search serves").fill(number)
    page.get_by_role("button", name="Search").click()
    assert "No row matches." in page.inner_text("main")
    screenshot(page, "logsearch-results")
    assert AuditEvent.objects.filter(action="logs.searched", object_id=request_id).count() == 1

    page.get_by_role("link", name="Audit").click()
    page.get_by_role("button", name="Verify the chain").click()
    assert "The chain is intact" in page.inner_text("#verification")
    page.locator("details.web-details").first.locator("summary").click()
    screenshot(page, "audit-verified")

    page.get_by_role("link", name="Transparency").click()
    assert page.locator("svg.web-chart").count() == 2
    screenshot(page, "transparency")

    page.set_viewport_size(PHONE)
    for path, name in (
        ("/holds/", "holds"),
        ("/logsearch/", "logsearch"),
        ("/audit/", "audit"),
        ("/transparency/", "transparency"),
    ):
        page.goto(path)
        screenshot(page, f"phone-{name}")
        assert _no_horizontal_scroll(page), f"{path} scrolls sideways at 390 px"
