"""Entries turned into batches ready to store: parsed, deduplicated within the batch,
put in event_id order and encoded for the database they go to.

The same code runs in the ingesting process (API bodies, small files) or in a second
process that only prepares batches (:mod:`lookups.parse_process`), so the two
produce the same rows byte for byte. A batch is a plain tuple of lists and strings,
which is cheap to pass between processes: on PostgreSQL each row is already its line
of COPY text.

Most entries take :class:`lookups.entries.EntryFastPath` straight to their encoding;
anything else goes through :func:`lookups.entries.entry_parse`, which defines what is
valid, and the codec's ``encode``. Both give the same encoding for the same entry, so
an identical copy is found whichever path each copy took.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from lookups.entries import (
    EntryFastPath,
    EntryRejected,
    FieldErrors,
    LogRow,
    canonical_ip,
    entry_parse,
)
from lookups.readers import Entry

# A row as one database is sent it: a tuple of column values (SQLite) or its line of
# COPY text (PostgreSQL).
EncodedRow = Any


class PreparedBatch(NamedTuple):
    # Rejections found while reading this batch's entries, in input order.
    rejections: list[tuple[int, FieldErrors]]
    # The rows to store, encoded by the codec, one per event_id, in event_id order;
    # ``positions`` holds each row's position in the input, in the same order.
    positions: list[int]
    rows: list[EncodedRow]
    # Identical copies and reused event_ids among this batch's own entries.
    duplicates: int
    conflicts: list[int]


class Codec:
    """How rows are written to, and read back from, one database."""

    def encode(self, row: LogRow) -> EncodedRow:
        raise NotImplementedError

    def assemble(
        self,
        event_id: str,
        day: str,
        clock: str,
        micro: str,
        service: str,
        source_raw: str,
        source: str,
        target_raw: str,
        target: str,
        source_ip: str,
        client: str,
        target_reachable: bool,
    ) -> EncodedRow:
        """What :meth:`encode` gives, from the fast path's values: the time as its UTC
        date, clock and microseconds (see :func:`lookups.entries.utc_parts`), the raw
        handles and the client already passed through :meth:`text`. The codecs take
        the same values as ``*fields``."""
        raise NotImplementedError

    def text(self, value: str) -> str:
        """A free-text value (raw handle, client) as it is written into a row."""
        return value

    def key(self, row: EncodedRow) -> str:
        """The event_id of an encoded row, as encoded."""
        return row[0]

    def payload(self, rows: list[EncodedRow]) -> bytes | None:
        """What the database is sent for ``rows`` when it takes a stream (COPY)."""
        return None

    def stored(self, values: tuple[Any, ...]) -> EncodedRow:
        """A row read back from the table, in the encoding of :meth:`encode`, so that
        an identical copy compares equal."""
        raise NotImplementedError


class SqliteCodec(Codec):
    """The rows as the ORM writes them on SQLite: a UUID as 32 hex digits, a timestamp
    as Django's SQLite adapter writes an aware UTC value (naive, ``str()`` of it). A
    different spelling would lose rows on an inclusive edge to a text comparison, and
    would not compare equal to a stored copy. The ingest writer checks this against
    the connection's own adapter before it stores anything (:func:`sqlite_time_check`).
    """

    def encode(self, row: LogRow) -> EncodedRow:
        return (row.event_id.replace("-", ""), self.time(row.occurred_at), *row[2:])

    def assemble(self, *fields: Any) -> EncodedRow:
        event_id, day, clock, micro, *middle, reachable = fields
        when = f"{day} {clock}.{micro}" if micro else f"{day} {clock}"
        return (event_id.replace("-", ""), when, *middle, reachable)

    @staticmethod
    def time(moment: datetime) -> str:
        return str(moment.astimezone(UTC).replace(tzinfo=None))

    def stored(self, values: tuple[Any, ...]) -> EncodedRow:
        # read with the timestamp cast to its stored text; a stored boolean reads back
        # as 0 or 1, which compares equal to False or True
        return tuple(values)


def sqlite_time_check(adapt: Callable[[datetime], Any]) -> None:
    """Refuse to ingest if ``adapt`` (the connection's datetime adapter) would write a
    timestamp differently from :class:`SqliteCodec` (a database ``TIME_ZONE``, say)."""
    for moment in (
        datetime(2026, 11, 20, 14, 3, 11, 250000, tzinfo=UTC),
        datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC),
    ):
        if adapt(moment) != SqliteCodec.time(moment):
            raise RuntimeError(
                f"the SQLite connection writes {moment.isoformat()} as {adapt(moment)!r}, "
                f"ingest as {SqliteCodec.time(moment)!r}: set no TIME_ZONE on the database"
            )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_line(row: tuple[Any, ...]) -> str:
    # Normalized handles never hold these characters (the normalizer refuses them);
    # only the raw spellings and the client string can, so only they are escaped.
    return (
        f"{row[0]}\t{row[1]}\t{row[2]}\t{_copy_text(row[3])}\t{row[4]}\t"
        f"{_copy_text(row[5])}\t{row[6]}\t{row[7]}\t{_copy_text(row[8])}\t"
        f"{'t' if row[9] else 'f'}\n"
    )


class PostgresCodec(Codec):
    """A row is its line of COPY text: the canonical UUID, the UTC timestamp in ISO
    form, the free text escaped."""

    def encode(self, row: LogRow) -> EncodedRow:
        return _copy_line((row.event_id, row.occurred_at.isoformat(), *row[2:]))

    def assemble(self, *fields: Any) -> EncodedRow:
        event_id, day, clock, micro, *middle, reachable = fields
        when = f"{day}T{clock}.{micro}+00:00" if micro else f"{day}T{clock}+00:00"
        service, source_raw, source, target_raw, target, source_ip, client = middle
        return (
            f"{event_id}\t{when}\t{service}\t{source_raw}\t{source}\t{target_raw}\t"
            f"{target}\t{source_ip}\t{client}\t{'t' if reachable else 'f'}\n"
        )

    def text(self, value: str) -> str:
        return _copy_text(value)

    def key(self, row: EncodedRow) -> str:
        return row[:36]  # the canonical UUID leads the line

    def payload(self, rows: list[EncodedRow]) -> bytes:
        return "".join(rows).encode("utf-8")

    def stored(self, values: tuple[Any, ...]) -> EncodedRow:
        row = LogRow(*values)
        return _copy_line(
            (
                str(row.event_id),
                row.occurred_at.astimezone(UTC).isoformat(),
                *row[2:7],
                # inet prints some addresses unlike Python (::1.2.3.4 for ::102:304)
                canonical_ip(str(row.source_ip)),
                *row[8:],
            )
        )


def codec_for(vendor: str) -> Codec:
    return PostgresCodec() if vendor == "postgresql" else SqliteCodec()


def batches_prepare(
    entries: Iterable[tuple[int, Entry]],
    *,
    region: str,
    size: int,
    codec: Codec,
) -> Iterator[PreparedBatch]:
    """Batches of at most ``size`` valid entries and at most ``size`` rejections (so a
    file of bad lines is reported, and held, a chunk at a time); the last one may hold
    no rows. Within a batch, an identical copy of an entry is counted as a duplicate
    and a reused event_id with other content is a conflict, by input position."""
    fast = EntryFastPath(region=region, text=codec.text, assemble=codec.assemble)
    encode, key = codec.encode, codec.key
    batch = _Gathering()
    for position, entry in entries:
        row = fast(entry)
        if row is None:
            if isinstance(entry, EntryRejected):
                batch.rejections.append((position, entry.errors))
            else:
                try:
                    row = encode(entry_parse(entry, region=region))
                except EntryRejected as exc:
                    batch.rejections.append((position, exc.errors))
        if row is not None:
            batch.parsed += 1
            event_id = key(row)
            seen = batch.first_seen.get(event_id)
            if seen is None:
                batch.first_seen[event_id] = row
                batch.positions.append(position)
            elif seen == row:
                batch.duplicates += 1
            else:
                batch.conflicts.append(position)
        if batch.parsed >= size or len(batch.rejections) >= size:
            yield batch.prepared()
            batch = _Gathering()
    if batch.parsed or batch.rejections:
        yield batch.prepared()


class _Gathering:
    """One batch while its entries are read."""

    def __init__(self) -> None:
        self.rejections: list[tuple[int, FieldErrors]] = []
        # the first row seen for each event_id, in input order; ``positions`` in step
        self.first_seen: dict[str, EncodedRow] = {}
        self.positions: list[int] = []
        self.parsed = 0
        self.duplicates = 0
        self.conflicts: list[int] = []

    def prepared(self) -> PreparedBatch:
        # In event_id order, the batch's inserts into the event_id B-trees walk each
        # index once from left to right instead of touching a random page per row:
        # that is where a random-UUID load spends its time.
        keys = list(self.first_seen)
        rows = list(self.first_seen.values())
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return PreparedBatch(
            rejections=self.rejections,
            positions=[self.positions[i] for i in order],
            rows=[rows[i] for i in order],
            duplicates=self.duplicates,
            conflicts=self.conflicts,
        )


def batch_classify(
    batch: PreparedBatch, existing: dict[str, EncodedRow], *, codec: Codec
) -> tuple[list[EncodedRow], int, list[int]]:
    """Split a batch against stored rows (keyed by ``codec.key``): new rows,
    identical copies, reused ids (in input order)."""
    fresh: list[EncodedRow] = []
    duplicates = 0
    conflicts: list[int] = []
    for position, row in zip(batch.positions, batch.rows, strict=True):
        stored = existing.get(codec.key(row))
        if stored is None:
            fresh.append(row)
        elif stored == row:
            duplicates += 1
        else:
            conflicts.append(position)
    conflicts.sort()
    return fresh, duplicates, conflicts
