"""The chain verifier: reads the whole log in seq order and names the first bad entry."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from legalops.audit.models import ANCHOR_PK, GENESIS_HASH, AuditAnchor, AuditEvent

CHUNK_SIZE = 2000


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    checked: int  # entries verified before the first problem (all of them when ok)
    first_bad_seq: int | None
    problem: str  # empty when ok; otherwise names the entry, for a person to act on


def _bad(*, checked: int, seq: int | None, problem: str) -> AuditVerification:
    return AuditVerification(ok=False, checked=checked, first_bad_seq=seq, problem=problem)


def _content_ok(event: AuditEvent) -> bool:
    try:
        return event.computed_hash() == event.hash
    except (TypeError, ValueError):  # details no longer JSON (NaN written in by hand)
        return False


def _range(first: int, last: int) -> str:
    return f"entry {first} is" if first == last else f"entries {first}-{last} are"


def chain_verify(*, events: Iterable[AuditEvent], anchor: AuditAnchor | None) -> AuditVerification:
    """Check ``events`` (expected in seq order) against each other and the anchor.

    Pure: no queries, so it can check any stream, including ones the database's
    unique and ordering guarantees would never produce (duplicates, reordering).
    Stops at the first problem. Memory stays flat: only the previous entry is kept.
    """
    expected = 1
    prev: AuditEvent | None = None
    prev_hash = GENESIS_HASH
    # One entry further back: a link that skips the previous entry names it as inserted.
    prev_prev_hash: str | None = None
    checked = 0
    for event in events:
        if event.seq < expected:
            # Sorted by seq, a duplicate shows up as a repeat; unsorted, as a step back.
            problem = (
                f"{event.describe()} comes after {prev.describe() if prev else 'the start'}: "
                f"seq {event.seq} is out of place or used twice (inserted or reordered?)"
            )
            return _bad(checked=checked, seq=event.seq, problem=problem)
        if event.seq > expected:
            after = prev.describe() if prev else "the start"
            problem = (
                f"{_range(expected, event.seq - 1)} missing: the log jumps from {after} "
                f"to {event.describe()} (deleted?)"
            )
            return _bad(checked=checked, seq=expected, problem=problem)
        if anchor is not None and event.seq > anchor.seq:
            problem = (
                f"{event.describe()} lies past the anchored head (entry {anchor.seq}): "
                "it was not appended by audit_record (inserted?)"
            )
            return _bad(checked=checked, seq=event.seq, problem=problem)
        content_ok = _content_ok(event)
        link_ok = event.prev_hash == prev_hash
        before = prev.describe() if prev else "the genesis value"
        if not link_ok and prev is not None and event.prev_hash == prev_prev_hash:
            problem = (
                f"{prev.describe()} was inserted: {event.describe()} links past it to the "
                "entry before (forged?)"
            )
            return _bad(checked=checked - 1, seq=prev.seq, problem=problem)
        if not content_ok and not link_ok:
            problem = (
                f"{event.describe()}: its hash does not match its content and its prev_hash "
                f"does not match {before} (moved, replaced or forged?)"
            )
        elif not content_ok:
            problem = f"{event.describe()}: its hash does not match its content (edited?)"
        elif not link_ok:
            problem = (
                f"{event.describe()}: its prev_hash does not match the hash of {before} "
                "(an entry before it was rewritten, inserted or removed?)"
            )
        else:
            checked += 1
            prev_prev_hash = prev_hash
            prev, prev_hash, expected = event, event.hash, expected + 1
            continue
        return _bad(checked=checked, seq=event.seq, problem=problem)

    last_seq = expected - 1
    if anchor is None:
        problem = "the audit anchor row is missing (deleted?): the newest entries cannot be checked"
        return _bad(checked=checked, seq=None, problem=problem)
    if anchor.seq > last_seq:
        end = prev.describe() if prev else "no entries at all"
        problem = (
            f"{_range(last_seq + 1, anchor.seq)} missing: the anchor records entry "
            f"{anchor.seq} as the newest but the log ends at {end} (newest entries deleted?)"
        )
        return _bad(checked=checked, seq=last_seq + 1, problem=problem)
    if anchor.hash != prev_hash:
        if prev is None:
            problem = "the anchor of the empty log does not hold the genesis hash (edited?)"
            return _bad(checked=checked, seq=None, problem=problem)
        problem = (
            f"{prev.describe()}: its hash differs from the one the anchor recorded for it "
            "(rewritten, with the entries after it?)"
        )
        return _bad(checked=checked, seq=prev.seq, problem=problem)
    return AuditVerification(ok=True, checked=checked, first_bad_seq=None, problem="")


def _read_and_check(*, chunk_size: int) -> AuditVerification:
    anchor = AuditAnchor.objects.filter(pk=ANCHOR_PK).first()
    events = AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size)
    return chain_verify(events=events, anchor=anchor)


def audit_verify(*, chunk_size: int = CHUNK_SIZE) -> AuditVerification:
    """Verify the whole chain and its anchor; read-only, takes no locks on PostgreSQL.

    The anchor and the events must come from one snapshot, or an append committed
    between the two reads would look like a forged or a deleted entry. Called
    outside a transaction, it opens one: on PostgreSQL REPEATABLE READ, READ ONLY
    (writers carry on meanwhile); on SQLite the usual BEGIN IMMEDIATE, which makes
    writers wait while it runs. Called inside a transaction, it reads in that one,
    and under READ COMMITTED an append committed between its two reads can show as
    a false alarm: the command and the nightly job call it outside any transaction.
    Events stream in chunks (a server-side cursor on
    PostgreSQL), so memory stays flat however long the log is.
    """
    if connection.in_atomic_block:
        return _read_and_check(chunk_size=chunk_size)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Must be the transaction's first statement; atomic() sends BEGIN lazily.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _read_and_check(chunk_size=chunk_size)
