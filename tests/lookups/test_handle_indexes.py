"""Every scope query is index-backed on both databases. On PostgreSQL the handle
indexes hold a 64-bit key of the handle (migration 0004): each scope query must
reach them through that key and still compare the handle itself, since two handles
can share a key. The migration goes back and forth, also after a build that failed."""

import importlib
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from lookups import selectors
from lookups.entries import entry_parse
from lookups.models import Direction, QueryLogEntry
from lookups.selectors import count_in_scope
from tests.lookups.helpers import log_entry
from tests.markers import sqlite_only

TABLE = QueryLogEntry._meta.db_table
MIGRATION = importlib.import_module("lookups.migrations.0004_handle_key_indexes")
HANDLES = ["+14155550100", "alice@example.com"]
FROM = datetime(2026, 10, 1, tzinfo=UTC)
TO = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)


def _store(*, source: str, target: str, event_id: str, when: str) -> None:
    entry = log_entry(event_id=event_id, source=source, target=target, occurred_at=when)
    QueryLogEntry(**entry_parse(entry, region="US")._asdict()).save(force_insert=True)


def _rows() -> None:
    _store(
        source="+1 415 555 0100",
        target="bob@example.com",
        event_id="0a4bd8a6-58a4-4b0e-9a37-0b8d1c0e9f01",
        when="2026-10-05T10:00:00Z",
    )
    _store(
        source="carol@example.com",
        target="Alice@Example.com",
        event_id="0a4bd8a6-58a4-4b0e-9a37-0b8d1c0e9f02",
        when="2026-10-06T10:00:00Z",
    )
    _store(
        source="+14155550101",  # one digit off
        target="+14155550199",
        event_id="0a4bd8a6-58a4-4b0e-9a37-0b8d1c0e9f03",
        when="2026-10-07T10:00:00Z",
    )


def _others(count: int) -> None:
    """Rows of other handles, so the planner sees a table where the scope is a few rows
    among many (the statistics it has on a real month of logs)."""
    entries = (
        log_entry(
            source=f"+1415555{index:04d}",
            target=f"user{index}@example.net",
            occurred_at=f"2026-10-{index % 28 + 1:02d}T08:00:00Z",
        )
        for index in range(1000, 1000 + count)
    )
    QueryLogEntry.objects.bulk_create(
        QueryLogEntry(**entry_parse(entry, region="US")._asdict()) for entry in entries
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")


def _handle_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND (indexdef LIKE '%%source%%' OR indexdef LIKE '%%target%%')",
            [TABLE],
        )
        return dict(cursor.fetchall())


KEY_INDEXES = {
    "lookups_qle_source_key_time": (
        "CREATE INDEX lookups_qle_source_key_time ON public.lookups_querylogentry "
        "USING btree (hashtextextended((source)::text, (0)::bigint), occurred_at)"
    ),
    "lookups_qle_target_key_time": (
        "CREATE INDEX lookups_qle_target_key_time ON public.lookups_querylogentry "
        "USING btree (hashtextextended((target)::text, (0)::bigint), occurred_at)"
    ),
}
TEXT_INDEXES = {
    "lookups_qle_source_time": (
        "CREATE INDEX lookups_qle_source_time ON public.lookups_querylogentry "
        "USING btree (source, occurred_at)"
    ),
    "lookups_qle_target_time": (
        "CREATE INDEX lookups_qle_target_time ON public.lookups_querylogentry "
        "USING btree (target, occurred_at)"
    ),
}


def _plans() -> tuple[str, str]:
    """The plans of the streamed scope (one merged index scan per handle and side) and
    of the dry run's count, with sequential scans priced out: an index the query
    cannot use then shows as a sequential scan all the same."""
    merged = selectors._time_merged_query(
        handles=HANDLES, date_from=FROM, date_to=TO, direction=Direction.BOTH, columns=None
    )
    counted = selectors._scope_queryset(
        handles=HANDLES, date_from=FROM, date_to=TO, direction=Direction.BOTH
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        counted_plan = counted.explain()
        selectors._plan_for_streaming(cursor)
        cursor.execute(f"EXPLAIN {merged.sql}", merged.params)
        return "\n".join(line for (line,) in cursor.fetchall()), counted_plan


def _index_conditions(plan: str) -> list[str]:
    return [line.strip() for line in plan.splitlines() if "Index Cond:" in line]


@pytest.mark.django_db
@pytest.mark.postgres
def test_the_handle_indexes_hold_each_handles_key() -> None:
    assert _handle_indexes() == KEY_INDEXES


@pytest.mark.django_db
@pytest.mark.postgres
def test_each_scope_query_finds_rows_by_key_and_keeps_them_by_handle() -> None:
    _rows()
    _others(5000)
    merged, counted = _plans()
    assert "Seq Scan" not in merged and "Seq Scan" not in counted
    for side in ("source", "target"):
        # one ordered scan per handle, each re-checking the handle's own text
        assert merged.count(f"Index Scan using lookups_qle_{side}_key_time") == len(HANDLES)
        for handle in HANDLES:
            assert f"(({side})::text = '{handle}'::text)" in merged
        # the key leads an index condition; the handle itself is compared on each row
        key = f"hashtextextended(({side})::text, '0'::bigint) = ANY"
        assert any(key in condition for condition in _index_conditions(counted)), counted
        assert f"(({side})::text = ANY ('{{{','.join(HANDLES)}}}'::text[]))" in counted
    assert count_in_scope(identifiers=HANDLES, date_from=FROM, date_to=TO, direction="both") == 2


@pytest.mark.django_db
@sqlite_only
def test_on_sqlite_each_scope_query_searches_the_handle_indexes() -> None:
    _rows()
    for direction, sides in (
        (Direction.OUTGOING, ["source"]),
        (Direction.INCOMING, ["target"]),
        (Direction.BOTH, ["source", "target"]),
    ):
        plan = selectors._scope_queryset(
            handles=HANDLES, date_from=FROM, date_to=TO, direction=direction
        ).explain()
        assert f"SCAN {TABLE}" not in plan, plan
        for side in sides:
            assert f"SEARCH {TABLE} USING INDEX lookups_qle_{side}_time" in plan, plan


def _invalid_key_index(side: str) -> None:
    """What a concurrent build interrupted midway leaves: an INVALID index under the
    key index's name (here a unique build that met two rows of one handle and time)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {MIGRATION.KEY_INDEX.format(side=side)}")
        with pytest.raises(Exception, match="could not create unique index"):
            cursor.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY {MIGRATION.KEY_INDEX.format(side=side)} "
                f"ON {TABLE} ((hashtextextended({side}, 0)), occurred_at)"
            )
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass",
            [MIGRATION.KEY_INDEX.format(side=side)],
        )
        assert cursor.fetchone() == (False,)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_migration_goes_back_and_forth_and_rebuilds_an_interrupted_index() -> None:
    _rows()
    _store(  # the same source and time as the first row: a unique build fails on it
        source="+14155550100",
        target="dave@example.com",
        event_id="0a4bd8a6-58a4-4b0e-9a37-0b8d1c0e9f04",
        when="2026-10-05T10:00:00Z",
    )

    def counted() -> int:
        return count_in_scope(identifiers=HANDLES, date_from=FROM, date_to=TO, direction="both")

    try:
        call_command("migrate", "lookups", "0003", verbosity=0)
        assert _handle_indexes() == TEXT_INDEXES
        assert counted() == 3
        # the process died after building the indexes, before Django recorded it
        call_command("migrate", "lookups", "0004", verbosity=0)
        call_command("migrate", "lookups", "0003", fake=True, verbosity=0)
        _invalid_key_index("source")
        call_command("migrate", "lookups", "0004", verbosity=0)
        assert _handle_indexes() == KEY_INDEXES
    finally:
        call_command("migrate", "lookups", verbosity=0)
    assert _handle_indexes() == KEY_INDEXES
    assert counted() == 3
