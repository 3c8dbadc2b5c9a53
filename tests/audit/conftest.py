"""Keep Django's per-test flush working after transactional tests that wrote entries.

TransactionTestCase (``django_db(transaction=True)``) empties every table after each
test with ``flush``. On PostgreSQL that is one TRUNCATE of all tables, which the
append-only trigger allows because the anchor goes in the same statement. On SQLite
it is a DELETE per table, which the trigger refuses once entries exist: this fixture
removes them first, with the triggers briefly off, before pytest-django flushes.
(Any test suite that writes audit entries in transactional tests on SQLite needs the
same fixture: it can move to tests/conftest.py unchanged.)
"""

from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from legalops.audit.models import AuditEvent
from tests.audit.helpers import audit_triggers_disabled


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
