"""Tampering tools for the audit tests: what a superuser with SQL access could do."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from legalops.audit.models import GENESIS_HASH, AuditEvent, event_hash
from legalops.audit.services import audit_record

EVENTS_TABLE = AuditEvent._meta.db_table


@contextmanager
def audit_triggers_disabled() -> Iterator[None]:
    """Switch the append-only triggers off for this connection, then back on.

    PostgreSQL: ``session_replication_role = replica`` skips ordinary triggers (the
    test connection is a superuser). SQLite has no such switch: drop the triggers
    and recreate them from the SQL SQLite kept for them.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [EVENTS_TABLE],
        )
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, sql in triggers:
                cursor.execute(sql)


def sqlite_trigger_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [EVENTS_TABLE],
        )
        return sorted(name for (name,) in cursor.fetchall())


def record_chain(n: int) -> list[AuditEvent]:
    """Append ``n`` entries with a little of everything in their details."""
    return [
        audit_record(
            actor=None,
            action="request.approved" if i % 2 else "request.submitted",
            object_type="cases.legalrequest",
            object_id=f"LR-{i:04d}",
            details={"i": i, "note": f"entry {i}", "tags": ["a", "b"]},
        )
        for i in range(1, n + 1)
    ]


def forged_event(*, seq: int, prev_hash: str = GENESIS_HASH, **fields: Any) -> AuditEvent:
    """An entry with a correct hash over whatever it claims: the forger knows the format."""
    values: dict[str, Any] = {
        "at": datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
        "actor_id": None,
        "actor_label": "system",
        "action": "request.approved",
        "object_type": "cases.legalrequest",
        "object_id": "LR-FORGED",
        "details": {"forged": True},
    }
    values.update(fields)
    digest = event_hash(seq=seq, prev_hash=prev_hash, **values)
    return AuditEvent(seq=seq, prev_hash=prev_hash, hash=digest, **values)
