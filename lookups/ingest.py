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

Both write optimistically: a batch is inserted at once, and only when the unique
index on event_id refuses it is the batch looked up and split into new rows,
identical copies and reused ids. PostgreSQL uses COPY (pipelined with parsing the
next batch), SQLite one ``executemany`` per batch transaction, encoding values
exactly as the ORM does.
"""

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter
from psycopg.errors import UniqueViolation

from lookups.entries import EntryRejected, FieldErrors, LogRow, entry_parse
from lookups.models import QueryLogEntry
from lookups.readers import Entry

TABLE = QueryLogEntry._meta.db_table
COLUMNS = LogRow._fields
# Arbitrary but fixed: the advisory-lock key that serializes ingest writers.
_INGEST_LOCK_KEY = 0x4C4F_494E  # "LOIN"
_REJECTION_KEEP = 10_000
RowT = TypeVar("RowT", bound=tuple[Any, ...])


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
    region = (region or settings.LOOKUPS_DEFAULT_REGION).upper()
    result = IngestResult()

    def reject(position: int, errors: FieldErrors) -> None:
        rejection = Rejection(position=position, errors=errors)
        result.reject(rejection)
        if on_rejected is not None:
            on_rejected(rejection)

    writer = _PostgresWriter() if connection.vendor == "postgresql" else _Writer()
    batches = _valid_batches(entries, region=region, size=size, reject=reject)
    for accepted, duplicates, conflicts in writer.write_all(batches):
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
    """Stores batches under the ingest lock, optimistically (SQLite).

    Most batches are new rows: each is inserted at once, and the unique index on
    event_id refuses the whole batch if any row is stored already. Only then is the
    batch looked up and classified row by row, and its new rows inserted (the
    refused attempt ran under a savepoint, so it leaves nothing behind).

    The rows go through the driver's own cursor: Django's cursor would keep each
    batch's SQL and parameters in the query log under ``DEBUG``, so memory would
    grow with the input.
    """

    _LOOKUP_CHUNK = 900
    # The connection's usual page cache (64 MB) serves readers that come back to the
    # same pages. A batch in event_id order touches each page of the two event_id
    # indexes once, in order, so a quarter of that cache loads as fast (measured at
    # 1M rows), and the rest would only add to the process's memory.
    _PAGE_CACHE_KIB = 16_384
    _INSERT_SQL = (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in COLUMNS)})"
    )
    # Read back as stored: the connection converts declared datetime columns to
    # datetime objects, so the timestamp is cast to keep its stored text.
    _LOOKUP_SQL = "SELECT {} FROM {} WHERE event_id IN ".format(  # noqa: S608
        ", ".join(
            "CAST(occurred_at AS TEXT)" if name == "occurred_at" else name for name in COLUMNS
        ),
        TABLE,
    )

    def write_all(
        self, batches: Iterator[list[tuple[int, LogRow]]]
    ) -> Iterator[tuple[int, int, list[int]]]:
        """Yield (accepted, duplicates, conflicting positions) per batch, committed."""
        with _page_cache(kib=self._PAGE_CACHE_KIB):
            yield from self._write_all(batches)

    def _write_all(
        self, batches: Iterator[list[tuple[int, LogRow]]]
    ) -> Iterator[tuple[int, int, list[int]]]:
        for batch in batches:
            unique, duplicates, conflicts = _dedupe_within_batch(batch)
            encoded = self._encode(unique)
            with transaction.atomic():
                self._lock()
                cursor = connection.connection.cursor()
                try:
                    try:
                        with transaction.atomic():
                            cursor.executemany(self._INSERT_SQL, encoded)
                        accepted = len(encoded)
                    except sqlite3.IntegrityError:
                        fresh, more_duplicates, more_conflicts = _classify(
                            [
                                (position, row)
                                for (position, _), row in zip(unique, encoded, strict=True)
                            ],
                            self._existing(cursor, [row[0] for row in encoded]),
                        )
                        cursor.executemany(self._INSERT_SQL, fresh)
                        accepted = len(fresh)
                        duplicates += more_duplicates
                        conflicts += more_conflicts
                finally:
                    cursor.close()
            # Drop this batch before the next one is parsed, so at most one is held.
            del batch, unique, encoded
            yield accepted, duplicates, conflicts

    def _lock(self) -> None:
        """SQLite serializes writers itself (IMMEDIATE transactions)."""

    @staticmethod
    def _encode(batch: list[tuple[int, LogRow]]) -> list[tuple[Any, ...]]:
        """The rows as the ORM writes them on SQLite: a UUID as 32 hex digits, a
        timestamp through the backend's adapter. A different spelling would lose rows
        on an inclusive edge to a text comparison, and would not compare equal to a
        stored copy."""
        adapt = connection.ops.adapt_datetimefield_value
        return [
            (row.event_id.replace("-", ""), adapt(row.occurred_at), *row[2:]) for _, row in batch
        ]

    def _existing(self, cursor: Any, event_ids: list[str]) -> dict[Any, tuple[Any, ...]]:
        """Stored rows by event_id, in the encoding of ``_encode`` (a stored boolean
        reads back as 0 or 1, which compares equal to False or True)."""
        found: dict[Any, tuple[Any, ...]] = {}
        for start in range(0, len(event_ids), self._LOOKUP_CHUNK):
            chunk = event_ids[start : start + self._LOOKUP_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for values in cursor.execute(f"{self._LOOKUP_SQL}({marks})", chunk):
                found[values[0]] = tuple(values)
        return found


@contextmanager
def _page_cache(*, kib: int) -> Iterator[None]:
    """SQLite's page cache of this connection set to ``kib``, restored afterwards."""
    connection.ensure_connection()
    raw = connection.connection
    (previous,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(previous)}")


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
    # In event_id order, the batch's inserts into the two event_id B-trees (the key and
    # the unique index) walk each index once from left to right instead of touching a
    # random page per row: that is where a random-UUID load spends its time.
    unique.sort(key=_by_event_id)
    return unique, duplicates, conflicts


def _by_event_id(item: tuple[int, LogRow]) -> str:
    return item[1].event_id


def _classify(
    batch: list[tuple[int, RowT]], existing: dict[Any, RowT]
) -> tuple[list[RowT], int, list[int]]:
    """Split a batch against stored rows: new rows, identical copies, reused ids.

    Rows are keyed by their first value, the event_id."""
    fresh: list[RowT] = []
    duplicates = 0
    conflicts: list[int] = []
    for position, row in batch:
        stored = existing.get(row[0])
        if stored is None:
            fresh.append(row)
        elif stored == row:
            duplicates += 1
        else:
            conflicts.append(position)
    conflicts.sort()  # reported in input order, whatever order the batch was written in
    return fresh, duplicates, conflicts


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_line(row: LogRow) -> str:
    # Normalized handles never hold these characters (the normalizer refuses them);
    # only the raw spellings and the client string can, so only they are escaped.
    line = (
        f"{row.event_id}\t{row.occurred_at.isoformat()}\t{row.service}\t"
        f"{row.source_raw}\t{row.source}\t{row.target_raw}\t{row.target}\t"
        f"{row.source_ip}\t{row.client}\t{'t' if row.target_reachable else 'f'}\n"
    )
    if line.count("\t") == 9 and line.count("\n") == 1 and "\\" not in line and "\r" not in line:
        return line
    return (
        f"{row.event_id}\t{row.occurred_at.isoformat()}\t{row.service}\t"
        f"{_copy_text(row.source_raw)}\t{row.source}\t{_copy_text(row.target_raw)}\t"
        f"{row.target}\t{row.source_ip}\t{_copy_text(row.client)}\t"
        f"{'t' if row.target_reachable else 'f'}\n"
    )


def _copy_block(rows: list[LogRow]) -> bytes:
    return "".join([_copy_line(row) for row in rows]).encode("utf-8")


class _PostgresWriter:
    """COPY straight into the table, optimistically and pipelined.

    Most batches are new rows: they are copied at once, and the unique index on
    event_id refuses any that is stored already; only then is the batch looked up
    row by row and copied again without the stored ones (under a savepoint, so the
    refused attempt leaves nothing behind). While the server inserts a batch on its
    own core, this process parses the next one.
    """

    _LOOKUP_SQL = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE event_id = ANY(%s)"  # noqa: S608
    _COPY_SQL = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"

    def write_all(
        self, batches: Iterator[list[tuple[int, LogRow]]]
    ) -> Iterator[tuple[int, int, list[int]]]:
        upcoming: list[list[tuple[int, LogRow]] | None] = [next(batches, None)]

        def parse_next() -> None:
            upcoming[0] = next(batches, None)

        while (batch := upcoming[0]) is not None:
            upcoming[0] = None
            unique, duplicates, conflicts = _dedupe_within_batch(batch)
            fresh = [row for _, row in unique]
            parsed = False
            with transaction.atomic():
                self._lock()
                try:
                    with transaction.atomic():
                        self._copy(fresh, meanwhile=parse_next)
                        parsed = True
                except UniqueViolation:
                    parsed = True  # parse_next ran inside the refused COPY
                    fresh, more_duplicates, more_conflicts = _classify(
                        unique, self._existing(unique)
                    )
                    self._copy(fresh, meanwhile=None)
                    duplicates += more_duplicates
                    conflicts += more_conflicts
            if not parsed:
                parse_next()
            yield len(fresh), duplicates, conflicts

    def _copy(self, rows: list[LogRow], *, meanwhile: Callable[[], None] | None) -> None:
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor: Django's wrapper hides `writer`
            with raw.copy(self._COPY_SQL, writer=QueuedLibpqWriter(raw)) as copy:
                if rows:
                    copy.write(_copy_block(rows))
                if meanwhile is not None:
                    meanwhile()

    def _lock(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INGEST_LOCK_KEY])

    def _existing(self, batch: list[tuple[int, LogRow]]) -> dict[Any, LogRow]:
        found: dict[Any, LogRow] = {}
        if not batch:
            return found
        with connection.cursor() as cursor:
            cursor.execute(self._LOOKUP_SQL, [[row.event_id for _, row in batch]])
            for values in cursor.fetchall():
                row = LogRow(*values)
                found[str(row.event_id)] = row._replace(
                    event_id=str(row.event_id),
                    occurred_at=row.occurred_at.astimezone(UTC),
                    source_ip=str(row.source_ip),
                )
        return found
