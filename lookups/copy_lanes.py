"""PostgreSQL ingest over several connections at once ("lanes").

A COPY is inserted by one server backend, on one core, and on PostgreSQL that
backend (the four B-trees of the table) is most of an ingest's cost. So each chunk is
split by event_id and every share is copied on a connection of its own, at the same
time: one backend per lane, one core each.

A given event_id always goes to the same lane (by its first hex digit). Two lanes
therefore never insert the same id, and a lane never waits on another's uncommitted
row (the client would wait on both, and nothing would ever detect it). The lanes of
one transaction commit together: the helpers first, then the main connection, whose
advisory lock keeps other ingest writers out until all have committed. If the main
connection's own commit then fails, the helpers' shares stay stored and the ingest
fails: as after a crash, sending the input again stores the rest and counts those as
duplicates.
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
        self._raw = raw  # a psycopg connection
        self._copy_sql = copy_sql
        self._lookup_sql = lookup_sql
        self._copying: Any = None

    def start(self, payload: bytes) -> None:
        """Begin copying ``payload``; the server inserts while the caller goes on."""
        self._raw.execute(f"SAVEPOINT {_SAVEPOINT}")
        cursor = self._raw.cursor()
        copying = cursor.copy(self._copy_sql, writer=QueuedLibpqWriter(cursor))
        copying.__enter__().write(payload)
        self._copying = copying

    def finish(self) -> bool:
        """Wait for the COPY: True if stored, False if the unique index refused it
        (then nothing of it stays)."""
        copying, self._copying = self._copying, None
        try:
            copying.__exit__(None, None, None)
        except UniqueViolation:
            self._raw.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            return False
        self._raw.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        return True

    def abandon(self, exc: BaseException) -> None:
        """End a COPY in flight because of ``exc`` elsewhere (the transaction is then
        rolled back as a whole)."""
        copying, self._copying = self._copying, None
        if copying is not None:
            with contextlib.suppress(Exception):  # the first error is the one raised
                copying.__exit__(type(exc), exc, exc.__traceback__)

    def copy(self, payload: bytes) -> None:
        """Copy ``payload`` and wait (a refused chunk's new rows); any error, a
        refusal included, is raised and ends the transaction."""
        self.start(payload)
        copying, self._copying = self._copying, None
        copying.__exit__(None, None, None)
        self._raw.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    def stored(self, event_ids: list[str]) -> list[tuple[Any, ...]]:
        """The stored rows with these ids, as this connection sees them (its own
        uncommitted chunks included)."""
        with self._raw.cursor() as cursor:
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


@contextmanager
def copy_lanes(*, count: int, copy_sql: str, lookup_sql: str) -> Iterator["Lanes"]:
    """The main connection's lane and ``count - 1`` helper connections, closed after.

    Inside a transaction of the caller's there are no helpers: their commits would
    not be the caller's to undo."""
    helpers = []
    if connection.in_atomic_block:
        count = 1
    try:
        for _ in range(count - 1):
            helper = connections.create_connection(DEFAULT_DB_ALIAS)
            helper.ensure_connection()
            helper.connection.autocommit = False
            helpers.append(helper)
        connection.ensure_connection()
        yield Lanes(
            [connection.connection, *(helper.connection for helper in helpers)],
            copy_sql=copy_sql,
            lookup_sql=lookup_sql,
        )
    finally:
        for helper in helpers:
            helper.close()


class Lanes:
    def __init__(self, raws: list[Any], *, copy_sql: str, lookup_sql: str) -> None:
        self.all = [CopyLane(raw, copy_sql=copy_sql, lookup_sql=lookup_sql) for raw in raws]
        self._helpers = raws[1:]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The helpers' transaction, inside the main connection's: committed before
        it (a failed helper commit rolls the main one back), rolled back with it."""
        try:
            yield
        except BaseException:
            for raw in self._helpers:
                raw.rollback()
            raise
        for raw in self._helpers:
            raw.commit()
