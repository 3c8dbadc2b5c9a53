"""``logs_ingest``: store query-log entries idempotently, in batches.

Contract:
- idempotent by ``event_id``: an identical copy counts as a duplicate and is not
  stored again; the same ``event_id`` with different content is a rejected row,
  never an overwrite;
- every valid row is stored; every invalid row is reported by its position;
- each batch (``LOOKUPS_INGEST_BATCH_ROWS`` rows) commits on its own, under a lock
  that serializes ingest writers, so a crash loses at most the batch in flight and
  two writers never both insert one ``event_id``;
- memory is bounded by the chunk size, not the batch or the input size: a batch is
  written as chunks of at most ``CHUNK_ROWS`` rows, each under its own savepoint,
  and only the chunk being written is held.

Both write optimistically: a batch is inserted at once, and only when the unique
index on event_id refuses it is the batch looked up and split into new rows,
identical copies and reused ids. PostgreSQL uses COPY (pipelined with preparing
the next batch), SQLite one ``executemany`` per batch transaction, encoding values
exactly as the ORM does. For files, the batches are prepared in a second process
(:mod:`lookups.parse_process`) while this one stores.
"""

import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter
from psycopg.errors import UniqueViolation

from lookups.batches import (
    EncodedRow,
    PostgresCodec,
    PreparedBatch,
    SqliteCodec,
    batch_classify,
    batches_prepare,
    codec_for,
    sqlite_time_check,
)
from lookups.entries import FieldErrors, LogRow
from lookups.models import QueryLogEntry
from lookups.parse_process import batches_from_process, batches_process_usable
from lookups.readers import Entry, LogFormat, file_entries

TABLE = QueryLogEntry._meta.db_table
COLUMNS = LogRow._fields
# Arbitrary but fixed: the advisory-lock key that serializes ingest writers.
_INGEST_LOCK_KEY = 0x4C4F_494E  # "LOIN"
_REJECTION_KEEP = 10_000
# Rows prepared, held and written at a time. A transaction spans several chunks: each
# commit writes every index page the transaction dirtied (SQLite: to the WAL, then a
# checkpoint copies them), and with random event_ids and handles that is most of the
# indexes' pages whatever the batch, so fewer, larger transactions are what make a
# load fast, and small chunks are what keep its memory flat.
CHUNK_ROWS = 10_000


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
    batches = batches_prepare(
        entries,
        region=_region(region),
        size=min(size, CHUNK_ROWS),
        codec=codec_for(connection.vendor),
    )
    return _ingest(batches, commit_rows=size, on_rejected=on_rejected)


def logs_ingest_file(
    *,
    path: str,
    fmt: LogFormat,
    region: str | None = None,
    batch_size: int | None = None,
    on_rejected: RejectionCallback | None = None,
    separate_process: bool = True,
) -> IngestResult:
    """:func:`logs_ingest` for a file (``path``, or ``"-"`` for standard input).

    With ``separate_process`` (and more than one core), a second process reads and
    prepares the batches while this one stores them. Raises ``IngestFileError`` when
    the input as a whole cannot be read, before anything is stored.
    """
    region = _region(region)
    size = batch_size or settings.LOOKUPS_INGEST_BATCH_ROWS
    chunk = min(size, CHUNK_ROWS)
    if separate_process and batches_process_usable(path=path):
        with batches_from_process(
            path=path, fmt=fmt, region=region, size=chunk, vendor=connection.vendor
        ) as batches:
            return _ingest(batches, commit_rows=size, on_rejected=on_rejected)
    with _opened(path) as stream:
        batches = batches_prepare(
            file_entries(stream, fmt=fmt),
            region=region,
            size=chunk,
            codec=codec_for(connection.vendor),
        )
        return _ingest(batches, commit_rows=size, on_rejected=on_rejected)


@contextmanager
def _opened(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as stream:
        yield stream


def _region(region: str | None) -> str:
    return (region or settings.LOOKUPS_DEFAULT_REGION).upper()


def _ingest(
    batches: Iterable[PreparedBatch], *, commit_rows: int, on_rejected: RejectionCallback | None
) -> IngestResult:
    result = IngestResult()

    def reject(position: int, errors: FieldErrors) -> None:
        rejection = Rejection(position=position, errors=errors)
        result.reject(rejection)
        if on_rejected is not None:
            on_rejected(rejection)

    def reported(batches: Iterable[PreparedBatch]) -> Iterator[PreparedBatch]:
        for batch in batches:
            for position, errors in batch.rejections:
                reject(position, errors)
            yield batch

    writer = (
        _PostgresWriter(commit_rows=commit_rows)
        if connection.vendor == "postgresql"
        else _Writer(commit_rows=commit_rows)
    )
    for accepted, duplicates, conflicts in writer.write_all(reported(batches)):
        result.accepted += accepted
        result.duplicates += duplicates
        for position in conflicts:
            reject(position, {"event_id": ["event_id reused with different content"]})
    return result


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

    def __init__(self, *, commit_rows: int) -> None:
        sqlite_time_check(connection.ops.adapt_datetimefield_value)
        self._codec = SqliteCodec()
        self._commit_rows = commit_rows

    def write_all(self, batches: Iterable[PreparedBatch]) -> Iterator[tuple[int, int, list[int]]]:
        """Yield (accepted, duplicates, conflicting positions) per chunk, committed."""
        with _page_cache(kib=self._PAGE_CACHE_KIB):
            yield from self._write_all(iter(batches))

    def _write_all(self, batches: Iterator[PreparedBatch]) -> Iterator[tuple[int, int, list[int]]]:
        batch = next(batches, None)
        while batch is not None:
            done: list[tuple[int, int, list[int]]] = []
            with transaction.atomic():
                cursor = connection.connection.cursor()
                try:
                    written = 0
                    while batch is not None and written < self._commit_rows:
                        done.append(self._write(cursor, batch))
                        written += len(batch.rows)
                        # Dropped before the next chunk is read, so at most one is held.
                        batch = None
                        batch = next(batches, None)
                finally:
                    cursor.close()
            yield from done

    def _write(self, cursor: Any, batch: PreparedBatch) -> tuple[int, int, list[int]]:
        duplicates, conflicts = batch.duplicates, list(batch.conflicts)
        try:
            with transaction.atomic():
                cursor.executemany(self._INSERT_SQL, batch.rows)
            return len(batch.rows), duplicates, conflicts
        except sqlite3.IntegrityError:
            fresh, more_duplicates, more_conflicts = batch_classify(
                batch, self._existing(cursor, [row[0] for row in batch.rows])
            )
            cursor.executemany(self._INSERT_SQL, fresh)
            return len(fresh), duplicates + more_duplicates, conflicts + more_conflicts

    def _existing(self, cursor: Any, event_ids: list[str]) -> dict[Any, EncodedRow]:
        """Stored rows by event_id, encoded as the batch's rows are."""
        found: dict[Any, EncodedRow] = {}
        for start in range(0, len(event_ids), self._LOOKUP_CHUNK):
            chunk = event_ids[start : start + self._LOOKUP_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for values in cursor.execute(f"{self._LOOKUP_SQL}({marks})", chunk):
                found[values[0]] = self._codec.stored(values)
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


class _PostgresWriter:
    """COPY straight into the table, optimistically and pipelined.

    Most batches are new rows: they are copied at once, and the unique index on
    event_id refuses any that is stored already; only then is the batch looked up
    row by row and copied again without the stored ones (under a savepoint, so the
    refused attempt leaves nothing behind). While the server inserts a batch on its
    own core, the next one is prepared (here, or read from the parsing process).
    """

    _LOOKUP_SQL = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE event_id = ANY(%s)"  # noqa: S608
    _COPY_SQL = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"

    def __init__(self, *, commit_rows: int) -> None:
        self._codec = PostgresCodec()
        self._commit_rows = commit_rows

    def write_all(self, batches: Iterable[PreparedBatch]) -> Iterator[tuple[int, int, list[int]]]:
        """Yield (accepted, duplicates, conflicting positions) per chunk, committed."""
        batches = iter(batches)
        upcoming: list[PreparedBatch | None] = [next(batches, None)]

        def prepare_next() -> None:
            upcoming[0] = next(batches, None)

        while upcoming[0] is not None:
            done: list[tuple[int, int, list[int]]] = []
            with transaction.atomic():
                self._lock()
                written = 0
                while (batch := upcoming[0]) is not None and written < self._commit_rows:
                    upcoming[0] = None
                    done.append(self._write(batch, prepare_next=prepare_next))
                    written += len(batch.rows)
                    del batch
            yield from done

    def _write(
        self, batch: PreparedBatch, *, prepare_next: Callable[[], None]
    ) -> tuple[int, int, list[int]]:
        """COPY one chunk under a savepoint; ``prepare_next`` runs exactly once, while
        the server inserts (unless the chunk fails otherwise: then nothing more is
        read)."""
        duplicates, conflicts = batch.duplicates, list(batch.conflicts)
        prepared: list[bool] = []

        def meanwhile() -> None:
            prepare_next()
            prepared.append(True)

        try:
            with transaction.atomic():
                self._copy(batch.payload, meanwhile=meanwhile)
            accepted = len(batch.rows)
        except UniqueViolation:
            fresh, more_duplicates, more_conflicts = batch_classify(batch, self._existing(batch))
            self._copy(self._codec.payload(fresh), meanwhile=None)
            accepted = len(fresh)
            duplicates += more_duplicates
            conflicts += more_conflicts
        if not prepared:  # the refused COPY ended before it got there
            prepare_next()
        return accepted, duplicates, conflicts

    def _copy(self, payload: bytes | None, *, meanwhile: Callable[[], None] | None) -> None:
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor: Django's wrapper hides `writer`
            with raw.copy(self._COPY_SQL, writer=QueuedLibpqWriter(raw)) as copy:
                if payload:
                    copy.write(payload)
                if meanwhile is not None:
                    meanwhile()

    def _lock(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INGEST_LOCK_KEY])

    def _existing(self, batch: PreparedBatch) -> dict[Any, EncodedRow]:
        found: dict[Any, EncodedRow] = {}
        if not batch.rows:
            return found
        with connection.cursor() as cursor:
            cursor.execute(self._LOOKUP_SQL, [[row[0] for row in batch.rows]])
            for values in cursor.fetchall():
                stored = self._codec.stored(values)
                found[stored[0]] = stored
        return found
