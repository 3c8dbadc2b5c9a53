"""Issue 7's flow in a real browser: from an arriving court order to a released,
downloaded package, by three people at three desks, and the transparency report
counting it. A real Celery worker builds the package on the test database.

Every page visited is saved under var/test-artifacts/screenshots/<test>/.
"""

import hashlib
import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest, Status
from tests.cases.pdfs import SIGNED_ORDER
from tests.cases.requests import court_order
from tests.conftest import Actor, Cast
from tests.disclosures.flow import TARGET, seed_logs
from tests.disclosures.worker import celery_worker
from tests.web.pages import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
PACKAGE_TIMEOUT_MS = 120_000


def _file_order(cast: Cast, seeded: dict[str, list[str]]) -> LegalRequest:
    """Agency A serves a 2703(d) order naming a number and an email; the signed
    order names only the number (so the reviewer narrows)."""
    api = cast.officer_a.client()
    body = court_order(
        reference="3:26-mj-07001",
        identifiers=["+1 (415) 555-0100", "Target@Example.com"],
        date_from=seeded["start"][0],
        date_to=seeded["end"][0],
        direction="outgoing",
    )
    created = api.post("/api/v1/requests/", body, format="json")
    assert created.status_code == 201, created.json()
    upload = SimpleUploadedFile("order.pdf", SIGNED_ORDER, content_type="application/pdf")
    added = api.post(
        f"/api/v1/requests/{created.json()['id']}/documents/", {"file": upload}, format="multipart"
    )
    assert added.status_code == 201, added.json()
    return LegalRequest.objects.get(pk=created.json()["id"])


def _sign_in(session, actor: Actor, screenshot, name: str):  # type: ignore[no-untyped-def]
    page = session.page
    page.goto("/login/")
    page.get_by_label("Username").fill(actor.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, f"{name}-sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    screenshot(page, f"{name}-dashboard")
    return page


def _approve(page, reason: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("#id_reason").fill(reason)
    page.get_by_role("button", name="Approve", exact=True).click()
    page.wait_for_load_state()


def test_reviewers_and_custodian_take_an_order_to_a_released_package(
    cast: Cast,
    browser_session,  # type: ignore[no-untyped-def]
    screenshot,
    settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = tmp_path  # the live server thread and the worker share it
    seeded = seed_logs(count=12)
    order = _file_order(cast, seeded)
    detail = f"/requests/{order.pk}/"

    with celery_worker(media_root=tmp_path):
        # Reviewer 1 finds the order in the list and approves it for the number only.
        first = browser_session()
        page = _sign_in(first, cast.reviewer_1, screenshot, "reviewer-1")
        page.get_by_role("link", name="Requests", exact=True).click()
        page.get_by_role("link", name=order.number).click()
        page.wait_for_url(f"**{detail}")
        assert page.locator("#request-status").text_content() in {"received", "in review"}
        screenshot(page, "reviewer-1-request")
        # USWDS hides the box itself and styles its label: click what a person clicks.
        page.locator("label.usa-checkbox__label", has_text="target@example.com").click()
        assert not page.get_by_label("target@example.com", exact=False).is_checked()
        assert page.get_by_label(TARGET, exact=False).is_checked()
        page.get_by_label("Basis for narrowing").select_option("not_in_signed_process")
        _approve(page, "Order facially valid; the email is not in the signed order.")
        assert page.locator("#request-status").text_content() == "awaiting second approval"
        assert "rev_one" in page.locator("#review-heading + p").inner_text()
        screenshot(page, "reviewer-1-approved-once")

        # The same reviewer cannot give the second approval.
        _approve(page, "Approving again.")
        refusal = page.locator("#refusal")
        assert refusal.is_visible()
        assert "You already approved this request" in refusal.inner_text()
        assert "second staff member" in refusal.inner_text()
        screenshot(page, "reviewer-1-second-approval-refused")
        order.refresh_from_db()
        assert order.status == Status.AWAITING_SECOND_APPROVAL

        # Reviewer 2 gives the second approval; the progress bar runs to ready.
        second = browser_session()
        page = _sign_in(second, cast.reviewer_2, screenshot, "reviewer-2")
        page.get_by_role("link", name=order.number).first.click()
        page.wait_for_url(f"**{detail}")
        screenshot(page, "reviewer-2-request")
        _approve(page, "Agreed: the number only, as the signed order says.")
        screenshot(page, "reviewer-2-approved-package-building")
        page.locator("#package-status", has_text="ready").wait_for(timeout=PACKAGE_TIMEOUT_MS)
        assert page.locator("#package-rows").inner_text() == str(len(seeded["inside"]))
        screenshot(page, "reviewer-2-package-ready")
        assert page.get_by_role("link", name="Release").count() == 0  # reviewers never release

    # The custodian checks, releases (signing in their name) and downloads the PDF.
    third = browser_session()
    page = _sign_in(third, cast.custodian, screenshot, "custodian")
    page.goto(detail)
    page.get_by_role("link", name="Release", exact=True).click()
    assert "signed in your name" in page.content()
    screenshot(page, "custodian-release-check")
    page.get_by_role("button", name="Release", exact=True).click()
    page.wait_for_url(f"**{detail}")
    page.locator("#package-status", has_text="released").wait_for()
    shown_sha = page.locator("#package-sha256").inner_text().strip()
    screenshot(page, "custodian-released")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    pdf_path = tmp_path / "downloaded.pdf"
    download_info.value.save_as(pdf_path)
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert order.number in text and order.reference in text
    assert "target@example.com" not in text.lower()  # narrowed out
    assert hashlib.sha256(data).hexdigest() == shown_sha
    order.refresh_from_db()
    assert order.status == Status.RELEASED and order.outcome == "data_produced"
    assert AuditEvent.objects.filter(action="package.downloaded", actor_label="custodian").exists()

    # The transparency report (this half-year by default) counts the order.
    page.get_by_role("link", name="Transparency").click()
    row = page.locator("tr[data-process-type='court_order']")
    assert row.locator("td[data-cell='requests']").inner_text() == "1"
    assert row.locator("td[data-cell='identifiers']").inner_text() == "2"
    assert row.locator("td[data-cell='data_produced']").inner_text() == "1"
    charts = page.locator("svg.web-chart")
    assert charts.nth(0).locator("rect.web-series-court_order").count() == 1  # one month
    assert charts.nth(1).locator("rect.web-series-data_produced").count() == 1
    screenshot(page, "custodian-transparency")
    for path, name in (("/holds/", "holds"), ("/audit/", "audit")):
        page.goto(path)
        screenshot(page, f"custodian-{name}")
