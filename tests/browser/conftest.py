"""Playwright (sync API) driving Debian's chromium against pytest-django's live server.

- The browser is the system's ``/usr/bin/chromium`` (``make browser-deps``);
  Playwright never downloads one. Without it a test is skipped with the reason,
  and fails under ``LEGALOPS_REQUIRE_SERVICES=1`` (tests/conftest.py).
- The live server runs in a thread of this process on the test database; a real
  Celery worker (tests/disclosures/worker.py) is another process, so the test
  database must be a real file or server: the browser tests are marked
  ``postgres`` and ``redis``, and on SQLite (whose test database is in memory)
  they are skipped with that reason.
- Every page a test visits is saved as a screenshot under
  ``var/test-artifacts/screenshots/<test>/`` for the person reading a failure.
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LEGALOPS_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Playwright's own waits: generous for a shared 2-core machine, short enough to fail fast.
TIMEOUT_MS = 15_000


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    """One browser for the browser tests, closed after the last of them.

    Playwright's sync API keeps an event loop running in this thread while it is
    open, and Django refuses ORM calls beside a running loop: they are allowed
    (nothing here runs concurrently) only while the browser is open, so the rest
    of the suite keeps Django's guard.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


Shot = Callable[[object, str], Path]


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Shot:
    """``screenshot(page, "name")`` saves the page, numbered in visiting order."""
    folder = ARTIFACTS / "screenshots" / _safe(request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    taken: list[Path] = []

    def take(page: object, name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{_safe(name)}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        taken.append(path)
        return path

    return take


class BrowserSession:
    """One signed-in (or not) browser context, and the CSP violations it saw."""

    def __init__(self, browser: object, base_url: str) -> None:
        self.context = browser.new_context(  # type: ignore[attr-defined]
            base_url=base_url, viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.csp_violations: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message: object) -> None:
        text = message.text  # type: ignore[attr-defined]
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp_violations.append(text)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browser_session(
    chromium: object, live_server: object
) -> Iterator[Callable[[], BrowserSession]]:
    """A factory: each call opens a fresh context (another person at another desk).
    Afterwards, no page may have broken the Content-Security-Policy."""
    opened: list[BrowserSession] = []

    def open_session() -> BrowserSession:
        session = BrowserSession(chromium, live_server.url)  # type: ignore[attr-defined]
        opened.append(session)
        return session

    yield open_session
    violations = [v for s in opened for v in s.csp_violations]
    for session in opened:
        session.close()
    assert not violations, f"pages broke the Content-Security-Policy: {violations}"
