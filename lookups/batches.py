"""Entries turned into batches ready to store: parsed, deduplicated within the batch,
put in event_id order and encoded for the database they go to.

The same code runs in the ingesting process (API bodies, small files) or in a second
process that only prepares batches (:mod:`lookups.parse_process`), so the two
produce the same rows byte for byte. A batch is a plain tuple of lists and strings,
which is cheap to pass between processes.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from lookups.entries import EntryRejected, FieldErrors, LogRow, canonical_ip, entry_parse
from lookups.readers import Entry

EncodedRow = tuple[Any, ...]


class PreparedBatch(NamedTuple):
    # Rejections found while reading this batch's entries, in input order.
    rejections: list[tuple[int, FieldErrors]]
    # The rows to store, encoded, one per event_id, in event_id order; ``positions``
    # holds each row's position in the input, in the same order.
    positions: list[int]
    rows: list[EncodedRow]
    # What the database is sent for ``rows`` when it takes a stream (COPY), else None.
    payload: bytes | None
    # Identical copies and reused event_ids among this batch's own entries.
    duplicates: int
    conflicts: list[int]


class Codec:
    """How rows are written to, and read back from, one database."""

    def encode(self, row: LogRow) -> EncodedRow:
        raise NotImplementedError

    def payload(self, rows: list[EncodedRow]) -> bytes | None:
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


def _copy_line(row: EncodedRow) -> str:
    # Normalized handles never hold these characters (the normalizer refuses them);
    # only the raw spellings and the client string can, so only they are escaped.
    line = (
        f"{row[0]}\t{row[1]}\t{row[2]}\t{row[3]}\t{row[4]}\t{row[5]}\t{row[6]}\t"
        f"{row[7]}\t{row[8]}\t{'t' if row[9] else 'f'}\n"
    )
    if line.count("\t") == 9 and line.count("\n") == 1 and "\\" not in line and "\r" not in line:
        return line
    return (
        f"{row[0]}\t{row[1]}\t{row[2]}\t{_copy_text(row[3])}\t{row[4]}\t"
        f"{_copy_text(row[5])}\t{row[6]}\t{row[7]}\t{_copy_text(row[8])}\t"
        f"{'t' if row[9] else 'f'}\n"
    )


class PostgresCodec(Codec):
    """COPY text: the canonical UUID, the UTC timestamp in ISO form."""

    def encode(self, row: LogRow) -> EncodedRow:
        return (row.event_id, row.occurred_at.isoformat(), *row[2:])

    def payload(self, rows: list[EncodedRow]) -> bytes:
        return "".join([_copy_line(row) for row in rows]).encode("utf-8")

    def stored(self, values: tuple[Any, ...]) -> EncodedRow:
        row = LogRow(*values)
        return (
            str(row.event_id),
            row.occurred_at.astimezone(UTC).isoformat(),
            *row[2:7],
            # inet prints some addresses unlike Python (::1.2.3.4 for ::102:304)
            canonical_ip(str(row.source_ip)),
            *row[8:],
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
    no rows."""
    rejections: list[tuple[int, FieldErrors]] = []
    parsed: list[tuple[int, LogRow]] = []
    for position, entry in entries:
        if isinstance(entry, EntryRejected):
            rejections.append((position, entry.errors))
        else:
            try:
                parsed.append((position, entry_parse(entry, region=region)))
            except EntryRejected as exc:
                rejections.append((position, exc.errors))
        if len(parsed) >= size or len(rejections) >= size:
            yield _batch(rejections, parsed, codec)
            rejections, parsed = [], []
    if parsed or rejections:
        yield _batch(rejections, parsed, codec)


def _batch(
    rejections: list[tuple[int, FieldErrors]], parsed: list[tuple[int, LogRow]], codec: Codec
) -> PreparedBatch:
    first_seen: dict[str, LogRow] = {}
    unique: list[tuple[int, LogRow]] = []
    duplicates = 0
    conflicts: list[int] = []
    for position, row in parsed:
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
    encode = codec.encode
    rows = [encode(row) for _, row in unique]
    return PreparedBatch(
        rejections=rejections,
        positions=[position for position, _ in unique],
        rows=rows,
        payload=codec.payload(rows),
        duplicates=duplicates,
        conflicts=conflicts,
    )


def _by_event_id(item: tuple[int, LogRow]) -> str:
    return item[1].event_id


def batch_classify(
    batch: PreparedBatch, existing: dict[Any, EncodedRow]
) -> tuple[list[EncodedRow], int, list[int]]:
    """Split a batch against stored rows (keyed by their first value, the event_id):
    new rows, identical copies, reused ids (in input order)."""
    fresh: list[EncodedRow] = []
    duplicates = 0
    conflicts: list[int] = []
    for position, row in zip(batch.positions, batch.rows, strict=True):
        stored = existing.get(row[0])
        if stored is None:
            fresh.append(row)
        elif stored == row:
            duplicates += 1
        else:
            conflicts.append(position)
    conflicts.sort()
    return fresh, duplicates, conflicts
