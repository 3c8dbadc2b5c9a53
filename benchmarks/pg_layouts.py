"""What the server spends to COPY the same rows into other table layouts (PostgreSQL).

Ingest now runs at about 0.9 of a raw COPY into `lookups_querylogentry`, so the next
step toward 100,000 rows/s is the table itself. This script measures candidate layouts
side by side in one run, each a fresh table `layout_probe` in the given database,
loaded with `\\copy` (psql) from one file of pre-normalized rows made by the ingest's
own code (`batches_prepare` + `PostgresCodec`, so the same bytes `ingest_logs` sends):

- `as_migrated`: the key on event_id with occurred_at included (one B-tree over the
  random UUID, migration 0003), the two handle B-trees on each handle's 64-bit key
  (`hashtextextended`, migration 0004), BRIN on time;
- `text_handles`: the same with the handle B-trees on the text, as before 0004;
- `key_and_unique`: the key (event_id, occurred_at) and UNIQUE(event_id) (two B-trees
  over the same UUID), as first migrated, with the text handle B-trees;
- `event_id_key`: event_id alone as the key (one B-tree over the random UUID);
- `event_id_key_int8_handles`: the same, with the handle B-trees on 64-bit keys
  stored as columns (BLAKE2b of the normalized handle, computed by the client);
- `daily_partitions`: one partition a day, each with its key (event_id, occurred_at)
  and handle B-trees, and no global uniqueness of event_id;
- `daily_partitions_time_key`: the same with the key led by time, (occurred_at,
  event_id), so a day's key grows at its end instead of at a random page;
- `daily_partitions_time_key_registry`: the same, plus global uniqueness of event_id:
  a statement trigger puts each COPY's ids into one table keyed by event_id.

    DEBUG=1 .venv/bin/python benchmarks/pg_layouts.py \\
        --database-url postgres://postgres@127.0.0.1:5432/legalops_layouts

Prints JSON (seconds per layout per round). The database is created if missing and the
probe table dropped at the end.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
END = datetime(2026, 11, 1, tzinfo=UTC)
SEED = 11
TABLE = "layout_probe"
COLUMNS = (
    "event_id, occurred_at, service, source_raw, source, target_raw, target, source_ip, "
    "client, target_reachable"
)
BASE = """event_id uuid NOT NULL, occurred_at timestamptz NOT NULL,
  service varchar(16) NOT NULL, source_raw varchar(320) NOT NULL,
  source varchar(320) COLLATE "C" NOT NULL, target_raw varchar(320) NOT NULL,
  target varchar(320) COLLATE "C" NOT NULL, source_ip inet NOT NULL,
  client varchar(200) NOT NULL, target_reachable boolean NOT NULL"""


def handle_key(handle: str) -> int:
    digest = hashlib.blake2b(handle.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def copy_files(rows: int, workdir: Path) -> tuple[Path, Path]:
    """The rows as COPY text, and the same with the two 64-bit handle keys appended."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalops.settings")
    django.setup()
    from lookups.batches import PostgresCodec, batches_prepare
    from lookups.readers import array_entries
    from lookups.synthetic import logs_generate

    plain, keyed = workdir / "rows.txt", workdir / "rows_keyed.txt"
    codec = PostgresCodec()
    with plain.open("wb") as out, keyed.open("w") as out_keyed:
        for batch in batches_prepare(
            array_entries(logs_generate(rows=rows, seed=SEED, end=END)),
            region="US",
            size=10_000,
            codec=codec,
        ):
            assert not batch.rejections
            out.write(codec.payload(batch.rows))
            for line in batch.rows:  # each row is its COPY line
                fields = line.rstrip("\n").split("\t")
                out_keyed.write(f"{line[:-1]}\t{handle_key(fields[4])}\t{handle_key(fields[6])}\n")
    return plain, keyed


def partitions_ddl(first: date, last: date, *, key: str = "event_id, occurred_at") -> str:
    parts = [
        f"CREATE TABLE {TABLE} ({BASE}, PRIMARY KEY ({key})) PARTITION BY RANGE (occurred_at);"
    ]
    day = first
    while day <= last:
        parts.append(
            f"CREATE TABLE {TABLE}_{day:%Y%m%d} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{day}') TO ('{day + timedelta(days=1)}');"
        )
        day += timedelta(days=1)
    parts.append(
        f"CREATE INDEX ON {TABLE} (source, occurred_at); "
        f"CREATE INDEX ON {TABLE} (target, occurred_at); "
        f"CREATE INDEX ON {TABLE} USING brin (occurred_at);"
    )
    return "\n".join(parts)


def layouts(first: date, last: date) -> dict[str, tuple[str, bool]]:
    handles = (
        f"CREATE INDEX ON {TABLE} (source, occurred_at); "
        f"CREATE INDEX ON {TABLE} (target, occurred_at); "
        f"CREATE INDEX ON {TABLE} USING brin (occurred_at);"
    )
    return {
        "as_migrated": (
            f"CREATE TABLE {TABLE} ({BASE}, PRIMARY KEY (event_id) INCLUDE (occurred_at)); "
            f"CREATE INDEX ON {TABLE} ((hashtextextended(source, 0)), occurred_at); "
            f"CREATE INDEX ON {TABLE} ((hashtextextended(target, 0)), occurred_at); "
            f"CREATE INDEX ON {TABLE} USING brin (occurred_at);",
            False,
        ),
        "text_handles": (
            f"CREATE TABLE {TABLE} ({BASE}, PRIMARY KEY (event_id) INCLUDE (occurred_at)); "
            f"{handles}",
            False,
        ),
        "key_and_unique": (
            f"CREATE TABLE {TABLE} ({BASE}, PRIMARY KEY (event_id, occurred_at)); "
            f"CREATE UNIQUE INDEX ON {TABLE} (event_id); {handles}",
            False,
        ),
        "event_id_key": (
            f"CREATE TABLE {TABLE} ({BASE}, PRIMARY KEY (event_id)); {handles}",
            False,
        ),
        "event_id_key_int8_handles": (
            f"CREATE TABLE {TABLE} ({BASE}, source_key bigint NOT NULL, "
            "target_key bigint NOT NULL, PRIMARY KEY (event_id)); "
            f"CREATE INDEX ON {TABLE} (source_key, occurred_at); "
            f"CREATE INDEX ON {TABLE} (target_key, occurred_at); "
            f"CREATE INDEX ON {TABLE} USING brin (occurred_at);",
            True,
        ),
        "daily_partitions": (partitions_ddl(first, last), False),
        "daily_partitions_time_key": (
            partitions_ddl(first, last, key="occurred_at, event_id"),
            False,
        ),
        "daily_partitions_time_key_registry": (
            partitions_ddl(first, last, key="occurred_at, event_id") + REGISTRY,
            False,
        ),
    }


# Global uniqueness of event_id over partitions: every inserted row's id goes into
# one table keyed by it, by a statement trigger that sees all of a COPY's rows at once.
REGISTRY = f"""
CREATE TABLE {TABLE}_ids (event_id uuid PRIMARY KEY, occurred_at timestamptz NOT NULL);
CREATE FUNCTION {TABLE}_register() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {TABLE}_ids (event_id, occurred_at) SELECT event_id, occurred_at FROM fresh;
  RETURN NULL;
END $$;
CREATE TRIGGER {TABLE}_register AFTER INSERT ON {TABLE}
  REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_register();
"""


PSQL = shutil.which("psql") or "/usr/bin/psql"


def psql(url: str, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (fixed client, our own SQL)
        [PSQL, url, "-v", "ON_ERROR_STOP=1", "-qAt", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--layouts", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    url = args.database_url.replace("postgres://", "postgresql://", 1)
    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    if not psql(admin, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        psql(admin, "-c", f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory(prefix="pg-layouts-") as tmp:
        print(f"preparing {args.rows:,} rows", file=sys.stderr)
        plain, keyed = copy_files(args.rows, Path(tmp))
        first = (END - timedelta(days=31)).date()
        chosen = layouts(first, END.date())
        if args.layouts:
            chosen = {name: chosen[name] for name in args.layouts.split(",")}
        results: dict[str, list[float]] = {layout: [] for layout in chosen}
        drop = (
            f"DROP TABLE IF EXISTS {TABLE}, {TABLE}_ids CASCADE; "
            f"DROP FUNCTION IF EXISTS {TABLE}_register()"
        )
        for round_number in range(args.rounds):
            for layout, (ddl, with_keys) in chosen.items():
                psql(url, "-c", drop, "-c", ddl, "-c", "CHECKPOINT")
                columns = COLUMNS + (", source_key, target_key" if with_keys else "")
                source = keyed if with_keys else plain
                start = time.perf_counter()
                psql(url, "-c", f"\\copy {TABLE} ({columns}) from '{source}'")
                seconds = time.perf_counter() - start
                results[layout].append(round(seconds, 2))
                print(f"round {round_number + 1} {layout}: {seconds:.2f} s", file=sys.stderr)
        psql(url, "-c", drop)
    print(
        json.dumps(
            {
                "benchmark": "pg_layouts",
                "rows": args.rows,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": results,
                "rows_per_s_best": {
                    layout: round(args.rows / min(times)) for layout, times in results.items()
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
