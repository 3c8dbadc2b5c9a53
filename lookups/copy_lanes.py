"""PostgreSQL ingest over several connections at once ("lanes").

A COPY is inserted by one server backend, on one core, and on PostgreSQL that
backend (the B-trees of the table) is most of an ingest's cost. So each chunk is
split by event_id and every share is copied on a connection of its own, at the same
time: one backend per lane, one core each.

Within a transaction a given event_id always goes to the same lane (by its first hex
digit; a transaction whose first chunk is small keeps to one lane throughout). Two
lanes therefore never insert the same id, and a lane never waits on another's
uncommitted row (the client would wait on both, and nothing would ever detect it).
Rows of earlier transactions are committed, so meeting them only refuses. The lanes of
one transaction commit together: the helpers first, then the main connection, whose
advisory lock keeps other ingest writers out until all have committed. A commit that
fails (the server or the network gone) can therefore leave the shares committed before
it stored and the ingest failed, as a crash between two transactions would: sending
the input again stores the rest and counts those as duplicates. Bad input never gets
that far: its rows are rejected before any COPY, and a refused share is rolled back
to its savepoint.
"""

import bisect
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from psycopg.copy import QueuedLibpqWriter
from psycopg.errors import UniqueViolation

_SAVEPOINT = "lookups_ingest_chunk"
_HEX_DIGITS = "0123456789abcdef"


class CopyLane:
    """One connection's share of each chunk, under a savepoint of its own."""

    def __init__(self, raw: Any, *, copy_sql: str, lookup_sql: str) -> None:
        self.raw = raw  # a psycopg connection
        self._copy_sql = copy_sql
        self._lookup_sql = lookup_sql
        self._copying: Any = None

    def start(self, payload: bytes) -> None:
        """Begin copying ``payload``; the server inserts while the caller goes on."""
        self.raw.execute(f"SAVEPOINT {_SAVEPOINT}")
        cursor = self.raw.cursor()
        copying = cursor.copy(self._copy_sql, writer=QueuedLibpqWriter(cursor))
        self._copying = copying  # abandon() ends it, however far it got
        copy = copying.__enter__()
        try:
            copy.write(payload)
        except BaseException as exc:
            self.abandon(exc)
            raise

    def finish(self) -> bool:
        """Wait for the COPY: True if stored, False if the unique index refused it
        (then nothing of it stays)."""
        copying, self._copying = self._copying, None
        try:
            copying.__exit__(None, None, None)
        except UniqueViolation:
            # undone and released: a refused chunk leaves no subtransaction open
            self.raw.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            self.raw.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
            return False
        self.raw.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        return True

    def abandon(self, exc: BaseException) -> None:
        """End a COPY in flight because of ``exc`` (the transaction is then rolled
        back as a whole). A COPY in flight holds its connection: nothing else, not
        even a rollback, can run on it until the COPY ends."""
        copying, self._copying = self._copying, None
        if copying is not None:
            # The first error is the one raised: whatever ending this COPY raises
            # (``exc`` itself, when it came before the COPY began) must not stop
            # the other lanes from being ended too.
            with contextlib.suppress(BaseException):
                copying.__exit__(type(exc), exc, exc.__traceback__)

    def copy(self, payload: bytes) -> None:
        """Copy ``payload`` and wait (a refused chunk's new rows); any error, a
        refusal included, is raised and ends the transaction."""
        self.start(payload)
        copying, self._copying = self._copying, None
        copying.__exit__(None, None, None)
        self.raw.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    def stored(self, event_ids: list[str]) -> list[tuple[Any, ...]]:
        """The stored rows with these ids, as this connection sees them (its own
        uncommitted chunks included)."""
        with self.raw.cursor() as cursor:
            cursor.execute(self._lookup_sql, [event_ids])
            return cursor.fetchall()


def lane_bounds(rows: list[Any], *, lanes: int) -> list[int]:
    """Where each lane's share of ``rows`` (COPY lines, in event_id order) starts,
    plus ``len(rows)``: lane k takes the ids whose first hex digit d has
    ``d * lanes // 16 == k``."""
    starts = [0]
    for lane in range(1, lanes):
        first_digit = _HEX_DIGITS[-(-lane * 16 // lanes)]
        starts.append(bisect.bisect_left(rows, first_digit, key=_first_char))
    return [*starts, len(rows)]


def _first_char(row: str) -> str:
    return row[0]


# A transaction whose first chunk is smaller than this keeps to the main connection:
# a helper costs a connection (a server process) to open, more than a small chunk.
SPLIT_MIN_ROWS = 2_000


@contextmanager
def copy_lanes(*, count: int, copy_sql: str, lookup_sql: str) -> Iterator["Lanes"]:
    """The main connection's lane and up to ``count - 1`` helpers, opened when a
    transaction first needs them and closed after.

    Inside a transaction of the caller's there are no helpers: their commits would
    not be the caller's to undo."""
    connection.ensure_connection()
    callers_transaction = connection.in_atomic_block or not connection.get_autocommit()
    lanes = Lanes(
        count=1 if callers_transaction else count,
        copy_sql=copy_sql,
        lookup_sql=lookup_sql,
    )
    try:
        yield lanes
    finally:
        lanes.close()


class Lanes:
    """The lanes of each transaction: :meth:`begin` chooses them, ``active`` holds
    them, and :meth:`transaction` commits the helpers among them."""

    def __init__(self, *, count: int, copy_sql: str, lookup_sql: str) -> None:
        self._count = count
        self._copy_sql = copy_sql
        self._lookup_sql = lookup_sql
        main = CopyLane(connection.connection, copy_sql=copy_sql, lookup_sql=lookup_sql)
        self._main = main
        self._helpers: list[Any] = []  # Django connection wrappers, not registered
        self.active = [main]

    def begin(self, *, first_chunk_rows: int) -> None:
        """Choose the next transaction's lanes, for all of its chunks: a given id
        must go over the same connection for the whole transaction."""
        if self._count == 1 or first_chunk_rows < SPLIT_MIN_ROWS:
            self.active = [self._main]
            return
        while len(self._helpers) < self._count - 1:
            helper = connections.create_connection(DEFAULT_DB_ALIAS)
            helper.ensure_connection()
            helper.connection.autocommit = False
            self._helpers.append(helper)
        self.active = [
            self._main,
            *(
                CopyLane(helper.connection, copy_sql=self._copy_sql, lookup_sql=self._lookup_sql)
                for helper in self._helpers
            ),
        ]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The helpers' transaction, inside the main connection's: committed before
        it (a failed helper commit rolls the main one back), rolled back with it."""
        helpers = [lane.raw for lane in self.active[1:]]
        try:
            yield
        except BaseException:
            for raw in helpers:
                raw.rollback()
            raise
        for raw in helpers:
            raw.commit()

    def close(self) -> None:
        for helper in self._helpers:
            helper.close()
