"""Shared fixtures, and the rule for tests that need real services.

A test marked ``postgres`` or ``redis`` runs only where that service is configured.
Elsewhere it is skipped with the reason printed in the summary; under
``LEGALOPS_REQUIRE_SERVICES=1`` (what ``.ci/run`` sets) a missing service fails
the run instead, so CI can never pass by skipping.
"""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

from legalops.accounts.roles import Role
from legalops.accounts.services import staff_create

REQUIRE_SERVICES = os.environ.get("LEGALOPS_REQUIRE_SERVICES") == "1"


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 2):
            return True
    except OSError:
        return False


def _missing_service(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://... (running on SQLite)"
    if item.get_closest_marker("redis"):
        url = settings.CELERY_BROKER_URL
        if not url.startswith("redis"):
            return "needs Redis: set CELERY_BROKER_URL=redis://... (tasks run in-process)"
        if not _redis_reachable(url):
            return f"needs Redis: {url} is unreachable"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing_service(item)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"LEGALOPS_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_report_header(config: pytest.Config) -> list[str]:
    broker = settings.CELERY_BROKER_URL or "in-process (CELERY_BROKER_URL unset)"
    return [f"legalops: database={connection.vendor}, broker={broker}"]


@pytest.fixture
def ingest_token(db: None) -> str:
    _, issued = staff_create(username="pipeline", role=Role.INGEST)
    return issued.key
