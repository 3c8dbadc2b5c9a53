"""On PostgreSQL, the two handle indexes hold a 64-bit key of the handle, not its text.

The scope and ingest both lean on (source, occurred_at) and (target, occurred_at).
On a COPY those two B-trees are most of the server's work: every row descends both,
comparing variable-length text at each step. Indexed on ``hashtextextended(handle,
0)`` (PostgreSQL's own 64-bit text hash, the one hash partitioning relies on staying
the same across versions) they compare two integers instead and their entries are
smaller: a COPY of the same 1M rows took 11.5-13.8 s with the text indexes and
9.5-12.0 s with these, alternating in one run (``benchmarks/pg_layouts.py``).

A 64-bit key can be shared by two handles, so a query never trusts it alone: the
scope selector matches the key, which finds the candidates through the index, and
the handle's text, which keeps exactly the rows of that handle (see
``lookups.models.KeyedExact``). SQLite keeps the text indexes the model declares.

The model still declares the text indexes; on PostgreSQL their names are left to no
object on purpose, so a migration Django would generate to change them fails ("does
not exist") instead of silently doing something else; such a change needs a
hand-written migration.

Both directions build the new indexes with CREATE INDEX CONCURRENTLY before they
drop the old ones (DROP INDEX CONCURRENTLY), so ingest goes on meanwhile and the
scope is index-backed at every moment. Each can run again after a failure at any
point: a leftover invalid index (a concurrent build that was interrupted) is built
again, a valid one is kept.
"""

from django.db import migrations

TABLE = "lookups_querylogentry"
SIDES = ("source", "target")


KEY_INDEX, KEY_COLUMNS = "lookups_qle_{side}_key_time", "((hashtextextended({side}, 0)), occurred_at)"
TEXT_INDEX, TEXT_COLUMNS = "lookups_qle_{side}_time", "({side}, occurred_at)"


def _valid(schema_editor, name: str) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name]
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _build(schema_editor, name: str, columns: str) -> None:
    if _valid(schema_editor, name):
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY {name} ON {TABLE} {columns}")


def _replace(schema_editor, *, build: str, columns: str, drop: str) -> None:
    """Per side: build the index ``build`` on ``columns``, then drop ``drop``."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for side in SIDES:
        _build(schema_editor, build.format(side=side), columns.format(side=side))
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {drop.format(side=side)}")


def key_indexes(apps, schema_editor):
    _replace(schema_editor, build=KEY_INDEX, columns=KEY_COLUMNS, drop=TEXT_INDEX)


def text_indexes(apps, schema_editor):
    _replace(schema_editor, build=TEXT_INDEX, columns=TEXT_COLUMNS, drop=KEY_INDEX)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False
    dependencies = [("lookups", "0003_event_key_one_index")]

    operations = [migrations.RunPython(key_indexes, text_indexes)]
