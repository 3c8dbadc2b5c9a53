"""``logs_ingest``: store query-log entries idempotently, in batches.

Contract:
- idempotent by ``event_id``: an identical copy counts as a duplicate and is not
  stored again; the same ``event_id`` with different content is a rejected row,
  never an overwrite;
- every valid row is stored; every invalid row is reported by its position, in
  input order, once the transaction around it has committed;
- each batch (at most ``LOOKUPS_INGEST_BATCH_ROWS`` entries) is one transaction,
  under a lock that serializes ingest writers, so a crash loses at most the batch in
  flight (on PostgreSQL over several connections, each's share of it: see
  :mod:`lookups.copy_lanes`) and two writers never both insert one ``event_id``; a
  batch also ends when the next chunk is not ready in time, so no lock waits on a
  slow producer;
- memory is bounded by the chunk, not the batch or the input: a batch is written as
  chunks of at most ``CHUNK_ROWS`` rows, each under its own savepoint.

Both write optimistically: a chunk is inserted at once, and only when the unique
index on event_id refuses it is the chunk looked up and split into new rows,
identical copies and reused ids. PostgreSQL uses COPY over
``LOOKUPS_INGEST_CONNECTIONS`` connections at once (taking the next chunk while the
server inserts), SQLite ``executemany``, encoding values exactly as the ORM does.
For files, the chunks are prepared in a second process (:mod:`lookups.parse_process`)
while this one stores.
"""

import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, transaction

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
from lookups.copy_lanes import CopyLane, Lanes, copy_lanes, lane_bounds
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
_NOT_TAKEN = object()  # the next chunk is still to be read


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

    ``on_rejected`` sees every rejection, in input order, as the transaction it
    belongs to commits (the CLI prints them); the result keeps the first 10,000.
    """
    size = batch_size or settings.LOOKUPS_INGEST_BATCH_ROWS
    batches = batches_prepare(
        entries,
        region=_region(region),
        size=min(size, CHUNK_ROWS),
        codec=codec_for(connection.vendor),
    )
    return _ingest(batches, commit_rows=size, ready=_always, on_rejected=on_rejected)


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
            return _ingest(batches, commit_rows=size, ready=batches.ready, on_rejected=on_rejected)
    with _opened(path) as stream:
        batches = batches_prepare(
            file_entries(stream, fmt=fmt),
            region=region,
            size=chunk,
            codec=codec_for(connection.vendor),
        )
        # Standard input read here may wait on its producer for any time: each chunk
        # is then committed before the next is read, as the lock must not wait too.
        ready = _never if path == "-" else _always
        return _ingest(batches, commit_rows=size, ready=ready, on_rejected=on_rejected)


@contextmanager
def _opened(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as stream:
        yield stream


def _region(region: str | None) -> str:
    return (region or settings.LOOKUPS_DEFAULT_REGION).upper()


def _always(timeout: float) -> bool:
    return True


def _never(timeout: float) -> bool:
    return False


Ready = Callable[[float], bool]


def _ingest(
    batches: Iterable[PreparedBatch],
    *,
    commit_rows: int,
    ready: Ready,
    on_rejected: RejectionCallback | None,
) -> IngestResult:
    result = IngestResult()
    writer = (
        _PostgresWriter(commit_rows=commit_rows, ready=ready)
        if connection.vendor == "postgresql"
        else _Writer(commit_rows=commit_rows, ready=ready)
    )
    for written in writer.write_all(batches):
        result.accepted += written.accepted
        result.duplicates += written.duplicates
        for position, errors in written.rejections:
            rejection = Rejection(position=position, errors=errors)
            result.reject(rejection)
            if on_rejected is not None:
                on_rejected(rejection)
    return result


def _reused() -> FieldErrors:
    return {"event_id": ["event_id reused with different content"]}


@dataclass
class _Transaction:
    """What one committed transaction stored and refused."""

    accepted: int = 0
    duplicates: int = 0
    rejections: list[tuple[int, FieldErrors]] = field(default_factory=list)
    entries: int = 0  # rows and rejections taken in, against the batch size

    def add(self, batch: PreparedBatch, written: tuple[int, int, list[int]]) -> None:
        accepted, duplicates, conflicts = written
        self.accepted += accepted
        self.duplicates += duplicates
        self.rejections += batch.rejections
        self.rejections += [(position, _reused()) for position in conflicts]
        self.entries += _entries(batch)

    def reported(self) -> "_Transaction":
        # Parse rejections of a later chunk are known before the reused ids of an
        # earlier one: reported in input order, once committed.
        self.rejections.sort(key=_position)
        return self


def _position(item: tuple[int, FieldErrors]) -> int:
    return item[0]


def _entries(batch: PreparedBatch) -> int:
    return len(batch.rows) + batch.duplicates + len(batch.conflicts) + len(batch.rejections)


class _TransactionWriter:
    """Transactions of up to ``commit_rows`` entries and ``MAX_TRANSACTION_S`` seconds,
    each written as chunks under savepoints. A transaction goes on to the next chunk
    only if the source has it ready within ``WAIT_S`` (the parsing process sends a
    chunk when it is complete); otherwise it commits first, so the write lock never
    waits on a slow producer."""

    MAX_TRANSACTION_S = 2.0
    WAIT_S = 0.5

    def __init__(self, *, commit_rows: int, ready: Ready) -> None:
        self._commit_rows = commit_rows
        self._ready = ready

    def _more(self, done: _Transaction, started: float, *, adding: int = 0) -> bool:
        """Whether the transaction takes another chunk after ``adding`` more entries."""
        return (
            done.entries + adding < self._commit_rows
            and time.monotonic() - started < self.MAX_TRANSACTION_S
            and self._ready(self.WAIT_S)
        )


class _Writer(_TransactionWriter):
    """Stores chunks optimistically (SQLite, which serializes writers itself with
    IMMEDIATE transactions).

    Most chunks are new rows: each is inserted at once, and the unique index on
    event_id refuses the whole chunk if any row is stored already. Only then is the
    chunk looked up and classified row by row, and its new rows inserted (the refused
    attempt ran under a savepoint, so it leaves nothing behind).

    The rows go through the driver's own cursor: Django's cursor would keep each
    chunk's SQL and parameters in the query log under ``DEBUG``, so memory would
    grow with the input.
    """

    _LOOKUP_CHUNK = 900
    # The connection's usual page cache (64 MB) serves readers that come back to the
    # same pages. A chunk in event_id order touches each page of the two event_id
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

    def __init__(self, *, commit_rows: int, ready: Ready) -> None:
        sqlite_time_check(connection.ops.adapt_datetimefield_value)
        super().__init__(commit_rows=commit_rows, ready=ready)
        self._codec = SqliteCodec()

    def write_all(self, batches: Iterable[PreparedBatch]) -> Iterator[_Transaction]:
        """Yield what each transaction stored and refused, once committed."""
        with _page_cache(kib=self._PAGE_CACHE_KIB):
            yield from self._write_all(iter(batches))

    def _write_all(self, batches: Iterator[PreparedBatch]) -> Iterator[_Transaction]:
        batch = next(batches, None)
        while batch is not None:
            done = _Transaction()
            started = time.monotonic()
            with transaction.atomic():
                cursor = connection.connection.cursor()
                try:
                    while batch is not None:
                        done.add(batch, self._write(cursor, batch))
                        # Dropped before the next chunk is read, so at most one is held.
                        batch = None
                        if self._more(done, started):
                            batch = next(batches, None)
                finally:
                    cursor.close()
            yield done.reported()
            # Read after the commit (an exhausted source keeps answering None).
            batch = next(batches, None)

    def _write(self, cursor: Any, batch: PreparedBatch) -> tuple[int, int, list[int]]:
        duplicates, conflicts = batch.duplicates, list(batch.conflicts)
        try:
            with transaction.atomic():
                cursor.executemany(self._INSERT_SQL, batch.rows)
            return len(batch.rows), duplicates, conflicts
        except sqlite3.IntegrityError:
            fresh, more_duplicates, more_conflicts = batch_classify(
                batch,
                self._existing(cursor, [self._codec.key(row) for row in batch.rows]),
                codec=self._codec,
            )
            cursor.executemany(self._INSERT_SQL, fresh)
            return len(fresh), duplicates + more_duplicates, conflicts + more_conflicts

    def _existing(self, cursor: Any, event_ids: list[str]) -> dict[str, EncodedRow]:
        """Stored rows by event_id, encoded as the batch's rows are."""
        found: dict[str, EncodedRow] = {}
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


class _PostgresWriter(_TransactionWriter):
    """COPY straight into the table, optimistically, pipelined and over
    ``LOOKUPS_INGEST_CONNECTIONS`` connections (:mod:`lookups.copy_lanes`).

    Most chunks are new rows: each lane's share is copied at once, and the unique
    index on event_id refuses any that is stored already; only then is that share
    looked up row by row and copied again without the stored ones (under a
    savepoint, so the refused attempt leaves nothing behind). While the server
    inserts a chunk, the next one is taken (prepared here, or read from the parsing
    process), if the transaction goes on.
    """

    _LOOKUP_SQL = f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE event_id = ANY(%s)"  # noqa: S608
    _COPY_SQL = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"

    def __init__(self, *, commit_rows: int, ready: Ready) -> None:
        super().__init__(commit_rows=commit_rows, ready=ready)
        self._codec = PostgresCodec()

    def write_all(self, batches: Iterable[PreparedBatch]) -> Iterator[_Transaction]:
        """Yield what each transaction stored and refused, once committed."""
        with copy_lanes(
            count=settings.LOOKUPS_INGEST_CONNECTIONS,
            copy_sql=self._COPY_SQL,
            lookup_sql=self._LOOKUP_SQL,
        ) as lanes:
            yield from self._write_all(iter(batches), lanes)

    def _write_all(self, batches: Iterator[PreparedBatch], lanes: Lanes) -> Iterator[_Transaction]:
        upcoming: list[Any] = [next(batches, None)]

        def take() -> None:
            upcoming[0] = next(batches, None)

        while upcoming[0] is not None:
            done = _Transaction()
            started = time.monotonic()
            lanes.begin(first_chunk_rows=len(upcoming[0].rows))
            with transaction.atomic(), lanes.transaction():
                self._lock()
                while isinstance(batch := upcoming[0], PreparedBatch):
                    upcoming[0] = _NOT_TAKEN
                    written = self._write(batch, lanes, take=take, done=done, started=started)
                    done.add(batch, written)
                    del batch
            yield done.reported()
            if upcoming[0] is _NOT_TAKEN:
                take()  # after the commit

    def _write(
        self,
        batch: PreparedBatch,
        lanes: Lanes,
        *,
        take: Callable[[], None],
        done: _Transaction,
        started: float,
    ) -> tuple[int, int, list[int]]:
        """COPY one chunk, each lane's share under its own savepoint; while the
        server inserts, ``take`` the next one if the transaction goes on. An error
        from ``take`` is raised as itself, whatever the COPY did."""
        bounds = lane_bounds(batch.rows, lanes=len(lanes.active))
        shares = [
            (lane, batch.positions[start:end], batch.rows[start:end])
            for lane, start, end in zip(lanes.active, bounds, bounds[1:], strict=False)
            if end > start
        ]
        started_lanes: list[CopyLane] = []
        try:
            for lane, _, rows in shares:
                started_lanes.append(lane)  # before: an interrupt may come at any point
                lane.start(self._codec.payload(rows))
            if self._more(done, started, adding=_entries(batch)):
                take()
        except BaseException as exc:
            for lane in started_lanes:
                lane.abandon(exc)
            raise
        # Every share is waited for before any refused one is looked up and copied
        # again; if one fails, the others are ended before the error goes on (a COPY
        # left in flight would block its connection's rollback for ever).
        refused = []
        for index, (lane, positions, rows) in enumerate(shares):
            try:
                stored = lane.finish()
            except BaseException as exc:
                for other, _, _ in shares[index + 1 :]:
                    other.abandon(exc)
                raise
            if not stored:
                refused.append((lane, positions, rows))
        accepted = len(batch.rows) - sum(len(rows) for _, _, rows in refused)
        duplicates, conflicts = batch.duplicates, list(batch.conflicts)
        for lane, positions, rows in refused:
            share = batch._replace(positions=positions, rows=rows)
            fresh, more_duplicates, more_conflicts = batch_classify(
                share, self._existing(lane, rows), codec=self._codec
            )
            if fresh:
                lane.copy(self._codec.payload(fresh))
            accepted += len(fresh)
            duplicates += more_duplicates
            conflicts += more_conflicts
        return accepted, duplicates, conflicts

    def _lock(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INGEST_LOCK_KEY])

    def _existing(self, lane: CopyLane, rows: list[EncodedRow]) -> dict[str, EncodedRow]:
        key = self._codec.key
        found: dict[str, EncodedRow] = {}
        for values in lane.stored([key(row) for row in rows]):
            stored = self._codec.stored(values)
            found[key(stored)] = stored
        return found
