"""The database refuses to change or remove audit entries, whatever the path."""

from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from legalops.audit.models import AuditAnchor, AuditEvent
from legalops.audit.services import audit_record
from legalops.audit.verify import audit_verify
from tests.audit.helpers import record_chain, sqlite_trigger_names
from tests.markers import sqlite_only


def _raw(sql: str) -> Callable[[], None]:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    return run


def _orm_save() -> None:
    event = AuditEvent.objects.get(seq=1)
    event.action = "request.rejected"
    event.save()


WRITES = {
    "orm save": _orm_save,
    "orm queryset update": lambda: AuditEvent.objects.filter(seq=1).update(object_id="x"),
    "orm instance delete": lambda: AuditEvent.objects.get(seq=2).delete(),
    "orm queryset delete": lambda: AuditEvent.objects.all().delete(),
    "raw update": _raw("UPDATE audit_auditevent SET actor_label = 'mallory' WHERE seq = 1"),
    "raw delete": _raw("DELETE FROM audit_auditevent WHERE seq = 2"),
}


def _assert_refused(write: Callable[[], None], *, says: str) -> None:
    record_chain(3)
    # A savepoint, so the refused statement leaves the test's transaction usable.
    with pytest.raises(IntegrityError, match=says), transaction.atomic():
        write()
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3]
    assert audit_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_postgres_trigger_refuses_update_and_delete(write: Callable[[], None]) -> None:
    _assert_refused(write, says=r"audit events are append-only: (UPDATE|DELETE) refused")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_refuses_truncating_the_log_alone() -> None:
    record_chain(2)
    with pytest.raises(IntegrityError, match="TRUNCATE refused"), transaction.atomic():
        _raw("TRUNCATE audit_auditevent")()
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_flush_still_empties_the_log_and_recreates_the_anchor() -> None:
    """TransactionTestCase flushes after every test; the trigger must not break it."""
    record_chain(3)

    call_command("flush", interactive=False, verbosity=0)

    assert not AuditEvent.objects.exists()
    anchor = AuditAnchor.objects.get()  # recreated by post_migrate over the empty log
    assert anchor.seq == 0
    assert audit_record(actor=None, action="request.submitted").seq == 1
    assert audit_verify().ok


@sqlite_only
@pytest.mark.django_db
def test_sqlite_triggers_are_installed() -> None:
    assert sqlite_trigger_names() == ["audit_event_no_delete", "audit_event_no_update"]


@sqlite_only
@pytest.mark.django_db
@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_sqlite_triggers_refuse_update_and_delete(write: Callable[[], None]) -> None:
    _assert_refused(write, says=r"audit events are append-only: (UPDATE|DELETE) refused")


@pytest.mark.django_db
def test_admin_is_read_only(admin_client: object) -> None:
    record_chain(1)
    event = AuditEvent.objects.get()
    base = "/admin/audit/auditevent/"
    assert admin_client.get(base).status_code == 200  # type: ignore[attr-defined]
    assert admin_client.get(f"{base}add/").status_code == 403  # type: ignore[attr-defined]
    assert admin_client.get(f"{base}{event.pk}/delete/").status_code == 403  # type: ignore[attr-defined]
    page = admin_client.get(f"{base}{event.pk}/change/")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
