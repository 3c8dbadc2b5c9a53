"""The anchor row, and triggers that make the event table append-only.

PostgreSQL: a row trigger refuses every UPDATE and DELETE. A statement trigger
refuses TRUNCATE of the events while the anchor row exists. It fires AFTER
TRUNCATE, when every table of the statement has been emptied, so Django's
``flush`` (one TRUNCATE of all tables, which TransactionTestCase runs after each
test) still works, while truncating the log alone fails. Wiping log and anchor
together leaves no anchor, and ``verify_audit`` reports that.

SQLite: BEFORE UPDATE/DELETE triggers that RAISE(ABORT). Caution: SQLite's schema
editor rebuilds a table to alter it and the rebuild drops its triggers, so any
later migration that alters AuditEvent must recreate them (the trigger tests in
tests/audit fail if it does not).

The SQL is written out here, not imported, so this migration stays what it was.
"""

from django.db import migrations

EVENTS = "audit_auditevent"
ANCHORS = "audit_auditanchor"

PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    f"""
    CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON {EVENTS}
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()
    """,
    f"""
    CREATE OR REPLACE FUNCTION audit_event_refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM {ANCHORS}) THEN
            RAISE EXCEPTION 'audit events are append-only: TRUNCATE refused on %', TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NULL;
    END;
    $$
    """,
    f"""
    CREATE TRIGGER audit_event_no_truncate
    AFTER TRUNCATE ON {EVENTS}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_truncate()
    """,
]
PG_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_event_no_truncate ON {EVENTS}",
    f"DROP TRIGGER IF EXISTS audit_event_append_only ON {EVENTS}",
    "DROP FUNCTION IF EXISTS audit_event_refuse_truncate()",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change()",
]
SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON {EVENTS}
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused on {EVENTS}'); END
    """,
    f"""
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON {EVENTS}
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused on {EVENTS}'); END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
]


def _run(schema_editor, statements):
    for sql in statements:
        # params=None: no placeholder parsing, so plpgsql's % stays literal.
        schema_editor.execute(sql, params=None)


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, PG_INSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_INSTALL)


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, PG_REMOVE)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_REMOVE)


def create_anchor(apps, schema_editor):
    anchor_model = apps.get_model("audit", "AuditAnchor")
    anchor_model.objects.using(schema_editor.connection.alias).get_or_create(
        pk=1, defaults={"seq": 0, "hash": "0" * 64}
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(create_anchor, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
