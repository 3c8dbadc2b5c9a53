"""The database itself keeps event_id unique, whatever the row's time; on PostgreSQL
one B-tree on event_id does it and is the key (migration 0003, built concurrently),
and the migration goes back and forth on stored rows."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from lookups.models import QueryLogEntry
from tests.lookups.helpers import utc

TABLE = QueryLogEntry._meta.db_table


def _entry(**overrides: object) -> QueryLogEntry:
    values: dict[str, object] = {
        "event_id": "7d9f1a52-3c1e-4f0a-9b8e-2a6c4e1d0b93",
        "occurred_at": utc(2026, 11, 20, 14, 3, 11),
        "service": "imessage",
        "source_raw": "+14155550100",
        "source": "+14155550100",
        "target_raw": "friend@example.com",
        "target": "friend@example.com",
        "source_ip": "203.0.113.7",
        "client": "",
        "target_reachable": True,
    }
    values.update(overrides)
    return QueryLogEntry(**values)


@pytest.mark.django_db
@pytest.mark.both_databases
def test_a_second_row_with_the_same_event_id_is_refused_at_any_time() -> None:
    first = _entry()
    first.save(force_insert=True)
    for moment in (first.occurred_at, first.occurred_at + timedelta(microseconds=1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            _entry(occurred_at=moment, source="+14155550199").save(force_insert=True)
    assert QueryLogEntry.objects.count() == 1
    assert QueryLogEntry.objects.get(event_id=first.event_id).source == "+14155550100"


def _event_id_indexes() -> list[tuple[str, bool, str]]:
    """(name, is the primary key, definition) of every index whose key leads with event_id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisprimary, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = %s::regclass AND a.attname = 'event_id' ORDER BY 1",
            [TABLE],
        )
        return cursor.fetchall()


@pytest.mark.django_db
@pytest.mark.postgres
def test_one_btree_on_event_id_is_the_key_and_its_uniqueness() -> None:
    [(name, primary, definition)] = _event_id_indexes()
    assert name == "lookups_qle_event_unique" and primary
    assert definition.endswith("USING btree (event_id) INCLUDE (occurred_at)")


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_migration_goes_back_and_forth_with_rows_stored() -> None:
    """Also after an earlier attempt that failed midway and left its new index
    behind (a concurrent build that fails leaves it, invalid)."""
    _entry().save(force_insert=True)
    try:
        call_command("migrate", "lookups", "0002", verbosity=0)
        names = sorted((name, primary) for name, primary, _ in _event_id_indexes())
        assert names == [("lookups_qle_event_unique", False), ("lookups_querylogentry_pkey", True)]
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX lookups_qle_event_key ON {TABLE} (event_id)")
    finally:
        call_command("migrate", "lookups", verbosity=0)
    [(name, primary, _)] = _event_id_indexes()
    assert (name, primary) == ("lookups_qle_event_unique", True)
    assert QueryLogEntry.objects.count() == 1
