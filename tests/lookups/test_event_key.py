"""The database itself keeps event_id unique, whatever the row's time; on PostgreSQL
one B-tree on event_id does it and is the key (migration 0003, built concurrently),
and the migration goes back and forth on stored rows, also after a failure midway."""

import importlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)

from lookups.entries import entry_parse
from lookups.models import QueryLogEntry
from tests.lookups.helpers import log_entry

TABLE = QueryLogEntry._meta.db_table
MIGRATION = importlib.import_module("lookups.migrations.0003_event_key_one_index")


def _entry(**overrides: object) -> QueryLogEntry:
    """The helpers' usual entry, normalized as ingest stores it, with one event_id."""
    entry = log_entry(event_id="7d9f1a52-3c1e-4f0a-9b8e-2a6c4e1d0b93", **overrides)
    return QueryLogEntry(**entry_parse(entry, region="US")._asdict())


@pytest.mark.django_db
@pytest.mark.both_databases
def test_a_second_row_with_the_same_event_id_is_refused_at_any_time() -> None:
    first = _entry()
    first.save(force_insert=True)
    for moment in (first.occurred_at, first.occurred_at + timedelta(microseconds=1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            _entry(occurred_at=moment.isoformat(), source="+14155550199").save(force_insert=True)
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


def _constraints() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY 1",
            [TABLE],
        )
        return cursor.fetchall()


ONE_INDEX = [("lookups_querylogentry_pkey", "PRIMARY KEY (event_id) INCLUDE (occurred_at)")]
TWO_INDEXES = [
    ("lookups_qle_event_unique", "UNIQUE (event_id)"),
    ("lookups_querylogentry_pkey", "PRIMARY KEY (event_id, occurred_at)"),
]


@pytest.mark.django_db
@pytest.mark.postgres
def test_one_btree_on_event_id_is_the_key_and_its_uniqueness() -> None:
    [(name, primary, definition)] = _event_id_indexes()
    assert name == "lookups_querylogentry_pkey" and primary
    assert definition.endswith("USING btree (event_id) INCLUDE (occurred_at)")
    assert _constraints() == ONE_INDEX


def _leftover(name: str) -> None:
    """What an attempt that failed midway leaves: its new index, not yet swapped in."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {name} ON {TABLE} (event_id)")


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_migration_goes_back_and_forth_with_rows_stored() -> None:
    _entry().save(force_insert=True)
    try:
        _leftover("lookups_qle_event_time_key")
        call_command("migrate", "lookups", "0002", verbosity=0)
        assert _constraints() == TWO_INDEXES
        assert len(_event_id_indexes()) == 2
        _leftover("lookups_qle_event_key")
    finally:
        call_command("migrate", "lookups", verbosity=0)
    assert _constraints() == ONE_INDEX
    assert len(_event_id_indexes()) == 1
    assert QueryLogEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_swap_done_but_not_recorded_is_recognized_both_ways() -> None:
    """The process can die after the swap committed and before Django recorded the
    migration: running it again finds the work done and builds nothing twice."""
    try:
        call_command("migrate", "lookups", "0002", fake=True, verbosity=0)
        call_command("migrate", "lookups", verbosity=0)
        assert _constraints() == ONE_INDEX
        assert len(_event_id_indexes()) == 1
        call_command("migrate", "lookups", "0002", verbosity=0)
        call_command("migrate", "lookups", "0003", fake=True, verbosity=0)
        call_command("migrate", "lookups", "0002", verbosity=0)
        assert _constraints() == TWO_INDEXES
        assert len(_event_id_indexes()) == 2
    finally:
        call_command("migrate", "lookups", verbosity=0)
    assert _constraints() == ONE_INDEX


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_swap_waits_for_the_lock_a_few_seconds_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The swap needs the table to itself: behind a long transaction it gives up
    after the lock timeout (readers do not queue behind it) and tries again; after
    its last attempt it says what to do."""
    monkeypatch.setattr(MIGRATION, "SWAP_LOCK_TIMEOUT", "100ms")
    monkeypatch.setattr(MIGRATION.time, "sleep", lambda seconds: None)
    ddl = f"ALTER TABLE {TABLE} ALTER COLUMN client SET DEFAULT ''"
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with reader.cursor() as cursor:
            # Ends the lock on its own should the swap ever wait without a timeout,
            # so that the test fails instead of hanging.
            cursor.execute("SET idle_in_transaction_session_timeout = '20s'")
            cursor.execute("BEGIN")
            cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 (holds ACCESS SHARE)
        monkeypatch.setattr(MIGRATION, "SWAP_ATTEMPTS", 2)
        with connection.schema_editor(atomic=False) as editor:
            with pytest.raises(OperationalError, match=r"stayed locked .* through 2 attempts"):
                MIGRATION._swap(editor, ddl)
            attempts: list[int] = []

            def release_after_two(seconds: float) -> None:
                attempts.append(1)
                if len(attempts) == 2:
                    reader.rollback()

            monkeypatch.setattr(MIGRATION, "SWAP_ATTEMPTS", 5)
            monkeypatch.setattr(MIGRATION.time, "sleep", release_after_two)
            MIGRATION._swap(editor, ddl)
        assert len(attempts) == 2
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "0", "the timeout is the swap's alone"
    finally:
        reader.close()
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN client DROP DEFAULT")
