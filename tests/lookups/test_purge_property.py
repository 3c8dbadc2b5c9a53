"""Invariant 5: held rows survive the purge; unheld rows past retention are gone.

Holds overlap, expire, get released; the reference decides each row in plain
Python and the purge must agree with it row by row.
"""

import os
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from lookups.holds import hold_place, hold_release
from lookups.ingest import logs_ingest
from lookups.models import PurgeRun, QueryLogEntry
from lookups.readers import array_entries
from lookups.retention import logs_purge
from tests.lookups.helpers import log_entry, utc

pytestmark = pytest.mark.both_databases

EXAMPLES = int(os.environ.get("LEGALOPS_PROPERTY_EXAMPLES", "500")) // 2 or 1
NOW = utc(2026, 12, 1, 12, 0, 0)
CUTOFF = NOW - timedelta(days=30)
HANDLES = ["+14155550100", "+14155550101", "a@example.com", "b@example.com", "+447911123456"]
SECOND = timedelta(seconds=1)

_offset = st.one_of(
    # whole seconds near the cutoff, and a microsecond either side: hold edges land here
    st.sampled_from([k * 1_000_000 + d for k in range(-4, 2) for d in (-1, 0, 1)]),
    st.integers(min_value=-5 * 86_400_000_000, max_value=2 * 86_400_000_000),
)
_moment = _offset.map(lambda us: CUTOFF + timedelta(microseconds=us))
_row = st.tuples(st.sampled_from(HANDLES), st.sampled_from(HANDLES), _moment)
_hold = st.tuples(
    st.lists(st.sampled_from(HANDLES), min_size=1, max_size=3, unique=True),
    _moment,
    st.one_of(st.integers(0, 3), st.integers(min_value=0, max_value=3 * 86_400)),  # seconds
    st.sampled_from(["open", "expired", "future_expiry", "released"]),
)


def _covered(source: str, target: str, moment, holds) -> bool:  # type: ignore[no-untyped-def]
    for handles, start, seconds, state in holds:
        if state in {"expired", "released"}:
            continue
        end_inclusive = start.replace(microsecond=0) + timedelta(seconds=seconds)
        if (source in handles or target in handles) and (
            start.replace(microsecond=0) <= moment < end_inclusive + SECOND
        ):
            return True
    return False


class PurgeProperties(TestCase):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        rows=st.lists(_row, max_size=25),
        holds=st.lists(_hold, max_size=4),
        batch=st.integers(min_value=1, max_value=7),
    )
    def test_purge_keeps_exactly_the_held_and_the_recent(self, rows, holds, batch) -> None:  # type: ignore[no-untyped-def]
        entries = []
        for source, target, moment in rows:
            entries.append(
                log_entry(
                    event_id=str(uuid.uuid4()),
                    source=source,
                    target=target,
                    occurred_at=moment.isoformat(),
                )
            )
        assert logs_ingest(entries=array_entries(entries)).rejected_count == 0
        for handles, start, seconds, state in holds:
            start = start.replace(microsecond=0)
            expires_at = {"expired": NOW - SECOND, "future_expiry": NOW + SECOND}.get(state)
            hold = hold_place(
                identifiers=handles,
                date_from=start,
                date_to=start + timedelta(seconds=seconds),
                reason="test",
                placed_by="property",
                expires_at=expires_at,
            )
            if state == "released":
                hold_release(hold=hold, reason="done", at=NOW - SECOND)

        run = logs_purge(now=NOW, batch_size=batch)

        survivors = {str(e) for e in QueryLogEntry.objects.values_list("event_id", flat=True)}
        expected_deleted = 0
        for entry, (source, target, moment) in zip(entries, rows, strict=True):
            keep = moment >= CUTOFF or _covered(source, target, moment, holds)
            expected_deleted += not keep
            if keep:
                assert entry["event_id"] in survivors, f"held or recent row was purged: {entry}"
            else:
                assert entry["event_id"] not in survivors, f"expired unheld row kept: {entry}"
        assert run.deleted == expected_deleted
        assert run.kept_held == sum(
            1 for s, t, m in rows if m < CUTOFF and _covered(s, t, m, holds)
        )


@pytest.mark.django_db
def test_releasing_one_of_two_overlapping_holds_keeps_the_rows() -> None:
    old = CUTOFF - timedelta(days=2)
    entry = log_entry(source="+14155550100", occurred_at=old.isoformat())
    logs_ingest(entries=array_entries([entry]))
    first = hold_place(
        identifiers=["+1 415 555 0100"],
        date_from=old - timedelta(days=1),
        date_to=old,
        reason="order",
        placed_by="LR-1",
    )
    hold_place(
        identifiers=["friend@example.com"],
        date_from=old,
        date_to=old + SECOND,
        reason="order",
        placed_by="LR-2",
    )
    hold_release(hold=first, reason="closed", at=NOW - SECOND)
    run = logs_purge(now=NOW)
    assert (run.deleted, run.kept_held) == (0, 1)
    assert QueryLogEntry.objects.count() == 1


@pytest.mark.django_db
def test_purge_command_records_its_run(capsys: pytest.CaptureFixture[str]) -> None:
    old = CUTOFF - timedelta(hours=1)
    logs_ingest(
        entries=array_entries(
            [log_entry(occurred_at=old.isoformat()), log_entry(occurred_at=NOW.isoformat())]
        )
    )
    call_command("purge_logs", "--now", NOW.isoformat())
    assert "purged 1 rows" in capsys.readouterr().out
    run = PurgeRun.objects.get()
    assert (run.deleted, run.kept_held, run.as_of) == (1, 0, NOW)
    assert QueryLogEntry.objects.count() == 1
