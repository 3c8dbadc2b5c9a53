from django.db import migrations

TABLE = "lookups_querylogentry"
INDEX = "lookups_qle_time"


def create_index(apps, schema_editor):
    # BRIN on PostgreSQL: rows arrive in time order, so a block-range index is
    # kilobytes in size and nearly free to maintain during ingest.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX {INDEX} ON {TABLE} USING brin (occurred_at)")
    else:
        schema_editor.execute(f"CREATE INDEX {INDEX} ON {TABLE} (occurred_at)")


def drop_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("lookups", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
