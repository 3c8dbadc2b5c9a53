"""The harness itself: the system chromium reaches the live server and saves a page."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_chromium_renders_the_api_docs_from_the_live_server(
    browser_session, screenshot, live_server
) -> None:  # type: ignore[no-untyped-def]
    session = browser_session()
    page = session.page
    health = page.goto("/healthz")
    assert health is not None and health.status == 200
    assert '"database": "ok"' in page.content() or '"database":"ok"' in page.content()
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "LegalOps API" in page.inner_text(".swagger-ui .info .title")
    shot = screenshot(page, "api-docs")
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one


def test_a_broken_content_security_policy_is_caught(browser_session) -> None:  # type: ignore[no-untyped-def]
    """The guard every browser test ends with: an inline script on one of our pages
    is refused by the browser and reported, so a page that needs one fails its test."""
    session = browser_session()
    page = session.page
    page.goto("/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = true'; document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.ran === undefined")
    assert session.csp_violations, "the browser did not report the refused inline script"
    session.csp_violations.clear()  # seen: the fixture's own check would fail the test
