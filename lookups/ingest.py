"""``logs_ingest``: store query-log entries idempotently, in batches.

Contract:
- idempotent by ``event_id``: an identical copy counts as a duplicate and is not
  stored again; the same ``event_id`` with different content is a rejected row,
  never an overwrite;
- every valid row is stored; every invalid row is reported by its position;
- each batch commits on its own, under a lock that serializes ingest writers, so a
  crash loses at most the batch in flight and two writers never both insert one
  ``event_id``;
- memory is bounded by the batch size, not the input size.

PostgreSQL loads each batch with COPY into a temporary staging table, then one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING``; SQLite uses one transaction per
batch with ``executemany``. Both write values exactly as the ORM does.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from lookups.entries import EntryRejected, FieldErrors, LogRow, entry_parse
from lookups.models import QueryLogEntry
from lookups.readers import Entry

TABLE = QueryLogEntry._meta.db_table
COLUMNS = LogRow._fields
# Arbitrary but fixed: the advisory-lock key that serializes ingest writers.
_INGEST_LOCK_KEY = 0x4C4F_494E  # "LOIN"
_REJECTION_KEEP = 10_000


@dataclass(frozen=True)
class Rejection:
    position: int  # 1-based line for files, 0-based index for API bodies
    errors: FieldErrors


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected_count: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def reject(self, rejection: Rejection) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _REJECTION_KEEP:
            self.rejected.append(rejection)


RejectionCallback = Callable[[Rejection], None]


def logs_ingest(
    *,
    entries: Iterable[tuple[int, Entry]],
    region: str | None = None,
    batch_size: int | None = None,
    on_rejected: RejectionCallback | None = None,
) -> IngestResult:
    """Validate, normalize and store ``entries`` (position, raw entry) in batches.

    ``on_rejected`` sees every rejection as it happens (the CLI prints them);
    the result keeps the first 10,000.
    """
    size = batch_size or settings.LOOKUPS_INGEST_BATCH_ROWS
    result = IngestResult()

    def reject(position: int, errors: FieldErrors) -> None:
        rejection = Rejection(position=position, errors=errors)
        result.reject(rejection)
        if on_rejected is not None:
            on_rejected(rejection)

    writer = _PostgresWriter() if connection.vendor == "postgresql" else _SqliteWriter()
    for batch in _valid_batches(entries, region=region, size=size, reject=reject):
        accepted, duplicates, conflicts = writer.write(batch)
        result.accepted += accepted
        result.duplicates += duplicates
        for position in conflicts:
            reject(position, {"event_id": ["event_id reused with different content"]})
    return result


def _valid_batches(
    entries: Iterable[tuple[int, Entry]],
    *,
    region: str | None,
    size: int,
    reject: Callable[[int, FieldErrors], None],
) -> Iterator[list[tuple[int, LogRow]]]:
    batch: list[tuple[int, LogRow]] = []
    for position, entry in entries:
        if isinstance(entry, EntryRejected):
            reject(position, entry.errors)
            continue
        try:
            batch.append((position, entry_parse(entry, region=region)))
        except EntryRejected as exc:
            reject(position, exc.errors)
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Writer:
    def write(self, batch: list[tuple[int, LogRow]]) -> tuple[int, int, list[int]]:
        """Store a batch; return (accepted, duplicates, positions of conflicting rows)."""
        unique, duplicates, conflicts = _dedupe_within_batch(batch)
        with transaction.atomic():
            accepted, more_duplicates, more_conflicts = self._write_unique(unique)
        return accepted, duplicates + more_duplicates, conflicts + more_conflicts

    def _write_unique(self, batch: list[tuple[int, LogRow]]) -> tuple[int, int, list[int]]:
        raise NotImplementedError


def _dedupe_within_batch(
    batch: list[tuple[int, LogRow]],
) -> tuple[list[tuple[int, LogRow]], int, list[int]]:
    first_seen: dict[Any, LogRow] = {}
    unique: list[tuple[int, LogRow]] = []
    duplicates = 0
    conflicts: list[int] = []
    for position, row in batch:
        seen = first_seen.get(row.event_id)
        if seen is None:
            first_seen[row.event_id] = row
            unique.append((position, row))
        elif seen == row:
            duplicates += 1
        else:
            conflicts.append(position)
    return unique, duplicates, conflicts


class _SqliteWriter(_Writer):
    _LOOKUP_CHUNK = 900

    def _write_unique(self, batch: list[tuple[int, LogRow]]) -> tuple[int, int, list[int]]:
        existing = self._existing([row.event_id for _, row in batch])
        ops = connection.ops
        native_uuid = connection.features.has_native_uuid_field
        fresh: list[tuple[Any, ...]] = []
        duplicates = 0
        conflicts: list[int] = []
        for position, row in batch:
            stored = existing.get(row.event_id)
            if stored is not None:
                if stored == row:
                    duplicates += 1
                else:
                    conflicts.append(position)
                continue
            # Encode exactly as the ORM would, or rows on an inclusive edge are lost
            # to a text comparison against a differently formatted timestamp.
            fresh.append(
                (
                    row.event_id if native_uuid else row.event_id.hex,
                    ops.adapt_datetimefield_value(row.occurred_at),
                    *row[2:],
                )
            )
        columns = ", ".join(COLUMNS)
        marks = ", ".join("%s" for _ in COLUMNS)
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {TABLE} ({columns}) VALUES ({marks})", fresh)  # noqa: S608
        return len(fresh), duplicates, conflicts

    def _existing(self, event_ids: list[Any]) -> dict[Any, LogRow]:
        found: dict[Any, LogRow] = {}
        for start in range(0, len(event_ids), self._LOOKUP_CHUNK):
            chunk = event_ids[start : start + self._LOOKUP_CHUNK]
            for values in QueryLogEntry.objects.filter(event_id__in=chunk).values_list(*COLUMNS):
                found[values[0]] = LogRow(*values)
        return found


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    # Most values need no escaping; checking first is several times cheaper.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


class _PostgresWriter(_Writer):
    _STAGE = "lookups_ingest_stage"

    def __init__(self) -> None:
        self._stage_ready = False

    def _ensure_stage(self, cursor: Any) -> None:
        # A session-local temporary table: no WAL, no indexes, invisible to others.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self._STAGE} "
            f"(position bigint, LIKE {TABLE} INCLUDING DEFAULTS)"
        )
        cursor.execute(f"TRUNCATE {self._STAGE}")

    def _write_unique(self, batch: list[tuple[int, LogRow]]) -> tuple[int, int, list[int]]:
        columns = ", ".join(COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INGEST_LOCK_KEY])
            self._ensure_stage(cursor)
            with cursor.copy(f"COPY {self._STAGE} (position, {columns}) FROM STDIN") as copy:
                copy.write(self._copy_block(batch))
            # Rows whose event_id is already stored: identical, or a reused id.
            cursor.execute(
                f"""
                SELECT s.position,
                       (s.occurred_at, s.service, s.source_raw, s.source, s.target_raw,
                        s.target, s.source_ip, s.client, s.target_reachable)
                       IS NOT DISTINCT FROM
                       (m.occurred_at, m.service, m.source_raw, m.source, m.target_raw,
                        m.target, m.source_ip, m.client, m.target_reachable)
                FROM {self._STAGE} s JOIN {TABLE} m ON m.event_id = s.event_id
                """  # noqa: S608
            )
            duplicates = 0
            conflicts: list[int] = []
            for position, identical in cursor.fetchall():
                if identical:
                    duplicates += 1
                else:
                    conflicts.append(position)
            cursor.execute(
                f"""
                INSERT INTO {TABLE} ({columns})
                SELECT {columns} FROM {self._STAGE} s
                WHERE NOT EXISTS (SELECT 1 FROM {TABLE} m WHERE m.event_id = s.event_id)
                ON CONFLICT DO NOTHING
                """  # noqa: S608
            )
            accepted = cursor.rowcount
        return accepted, duplicates, conflicts

    @staticmethod
    def _copy_block(batch: list[tuple[int, LogRow]]) -> bytes:
        lines = [
            f"{position}\t{row.event_id}\t{row.occurred_at.isoformat()}\t{row.service}\t"
            f"{_copy_text(row.source_raw)}\t{_copy_text(row.source)}\t"
            f"{_copy_text(row.target_raw)}\t{_copy_text(row.target)}\t{row.source_ip}\t"
            f"{_copy_text(row.client)}\t{'t' if row.target_reachable else 'f'}\n"
            for position, row in batch
        ]
        return "".join(lines).encode("utf-8")
