"""Shared fixtures, and the rule for tests that need real services.

A test marked ``postgres`` or ``redis`` runs only where that service is configured.
Elsewhere it is skipped with the reason printed in the summary; under
``LEGALOPS_REQUIRE_SERVICES=1`` (what ``.ci/run`` sets) a missing service fails
the run instead, so CI can never pass by skipping.
"""

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection, transaction
from rest_framework.test import APIClient

from legalops.accounts.models import Agency
from legalops.accounts.roles import Role
from legalops.accounts.services import agency_create, staff_create
from legalops.audit.models import AuditEvent
from tests.audit.helpers import audit_triggers_disabled

REQUIRE_SERVICES = os.environ.get("LEGALOPS_REQUIRE_SERVICES") == "1"
# The browser tests drive Debian's chromium (``make browser-deps``), never a download.
CHROMIUM = os.environ.get("LEGALOPS_CHROMIUM", "/usr/bin/chromium")


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
    if item.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        return f"needs chromium at {CHROMIUM}: run `make browser-deps` (apt install chromium)"
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


@dataclass
class Actor:
    user: Any
    key: str

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.key}")
        return client


@dataclass
class Cast:
    """The fixed cast of DESIGN.md: two agencies' officers and the legal staff."""

    agency_a: Agency
    officer_a: Actor
    agency_b: Agency
    officer_b: Actor
    reviewer_1: Actor
    reviewer_2: Actor
    custodian: Actor
    ingest: Actor
    admin: Actor

    @staticmethod
    def anonymous() -> APIClient:
        return APIClient()


@pytest.fixture
def cast(db: None) -> Cast:
    agency_a, officer_a = agency_create(name="Agency A (FBI SF)", email="a.officer@fbi.example.gov")
    agency_b, officer_b = agency_create(
        name="Agency B (Oakland PD)", email="b.officer@oaklandpd.example.gov"
    )

    def staff(name: str, role: Role) -> Actor:
        user, issued = staff_create(username=name, role=role, password="correct horse 42!")
        return Actor(user, issued.key)

    return Cast(
        agency_a=agency_a,
        officer_a=Actor(officer_a.token.user, officer_a.key),
        agency_b=agency_b,
        officer_b=Actor(officer_b.token.user, officer_b.key),
        reviewer_1=staff("rev_one", Role.REVIEWER),
        reviewer_2=staff("rev_two", Role.REVIEWER),
        custodian=staff("custodian", Role.CUSTODIAN),
        ingest=staff("pipeline-svc", Role.INGEST),
        admin=staff("operator", Role.ADMIN),
    )


def pytest_configure(config: pytest.Config) -> None:
    # The cast signs in with passwords; a fast hasher keeps fixtures cheap. Only the
    # tests use it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Keep Django's per-test flush working after transactional tests that wrote audit
# entries: on SQLite, flush deletes table by table and the append-only trigger
# refuses that once entries exist, so they are removed first, triggers briefly off.
def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and (
        marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
    ):
        return True
    names = set(request.fixturenames)
    return bool(names & {"transactional_db", "live_server", "django_db_reset_sequences"})


@pytest.fixture(autouse=True)
def _audit_entries_removed_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    if not _is_transactional(request):
        yield
        return
    # Depending on the database fixture orders our teardown before its flush.
    request.getfixturevalue("transactional_db")
    yield
    if connection.vendor == "sqlite":
        with transaction.atomic(), audit_triggers_disabled():
            AuditEvent.objects.all().delete()
