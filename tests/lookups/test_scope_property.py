"""Invariants 1 and 2: the scope selector returns exactly the rows in scope.

Ground truth does not come from the normalizer: every spelling in the universe
below is tagged with the person it belongs to, so the reference is plain set
membership and time comparison. Decoys are storable handles one step away from a
real one (a digit off, another country code, a Latin look-alike letter); rows sit
on and one microsecond beside both edges of the range.
"""

import os
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from lookups.ingest import logs_ingest
from lookups.normalize import HandleError
from lookups.readers import array_entries
from lookups.selectors import count_in_scope, rows_in_scope
from tests.lookups.helpers import utc

pytestmark = pytest.mark.both_databases

EXAMPLES = int(os.environ.get("LEGALOPS_PROPERTY_EXAMPLES", "500"))

# handle -> spellings that must all be the same handle
PEOPLE: dict[str, list[str]] = {
    "alice_phone": ["+14155550100", "+1 (415) 555-0100", "415.555.0100", "(415) 555-0100"],
    "alice_email": ["alice@example.com", "Alice@Example.COM", " ALICE@example.com"],
    "bob_phone": ["+447911123456", "+44 7911 123456", "+44 (0)7911 123456"],
    "bob_email": ["bob@bücher.example", "Bob@BÜCHER.example", "bob@xn--bcher-kva.example"],
    # decoys: one step from a real handle, and real handles in their own right
    "one_digit_off": ["+14155550101", "415-555-0101"],
    "other_country": ["+33 4 15 55 01 00", "+494155550100"],
    "other_area": ["+1 416 555 0100"],
    "lookalike_latin": ["alıce@example.com"],  # dotless i (Latin), not "alice"
    "lookalike_domain": ["alice@examp1e.com", "alice@exämple.com"],
    "email_plus": ["alice+x@example.com"],
    "carol_email": ["carol@example.org"],
    "carol_phone": ["+4930123456", "+49 30 123456"],
}
PERSONS = sorted(PEOPLE)
REQUESTABLE = [
    "alice_phone",
    "alice_email",
    "bob_phone",
    "bob_email",
    "one_digit_off",
    "carol_phone",
]

DATE_FROM = utc(2026, 11, 10, 8, 0, 0)
DATE_TO = utc(2026, 11, 12, 17, 59, 59)
END = DATE_TO + timedelta(seconds=1)
MICRO = timedelta(microseconds=1)
EDGE_TIMES = [
    DATE_FROM - MICRO,
    DATE_FROM,
    DATE_FROM + MICRO,
    DATE_TO,
    END - MICRO,
    END,
    END + MICRO,
    DATE_FROM - timedelta(days=1),
    END + timedelta(days=1),
]

_time = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.integers(
        min_value=-86_400_000_000,
        max_value=int((END - DATE_FROM).total_seconds() * 1e6) + 86_400_000_000,
    ).map(lambda us: DATE_FROM + timedelta(microseconds=us)),
)
_spelling = st.sampled_from(PERSONS).flatmap(
    lambda person: st.tuples(st.just(person), st.sampled_from(PEOPLE[person]))
)
_row = st.tuples(_spelling, _spelling, _time)
_request = st.tuples(
    st.lists(
        st.sampled_from(REQUESTABLE).flatmap(
            lambda p: st.tuples(st.just(p), st.sampled_from(PEOPLE[p]))
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["outgoing", "incoming", "both"]),
)


def _expected(
    rows: list[tuple[str, str, str, object]], wanted: set[str], direction: str
) -> set[str]:
    keep = set()
    for event_id, source_person, target_person, moment in rows:
        side = (direction in ("outgoing", "both") and source_person in wanted) or (
            direction in ("incoming", "both") and target_person in wanted
        )
        if side and DATE_FROM <= moment < DATE_TO + timedelta(seconds=1):
            keep.add(event_id)
    return keep


class ScopeSelectorProperties(TestCase):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rows=st.lists(_row, min_size=0, max_size=30), request=_request)
    @example(
        rows=[
            (("alice_phone", "+14155550100"), ("carol_email", "carol@example.org"), DATE_FROM),
            (("alice_phone", "415.555.0100"), ("carol_email", "carol@example.org"), END - MICRO),
            (("alice_phone", "+14155550100"), ("carol_email", "carol@example.org"), END),
            (
                ("alice_phone", "+14155550100"),
                ("carol_email", "carol@example.org"),
                DATE_FROM - MICRO,
            ),
            (("one_digit_off", "+14155550101"), ("carol_email", "carol@example.org"), DATE_FROM),
        ],
        request=([("alice_phone", "+1 (415) 555-0100")], "outgoing"),
    )
    def test_selector_matches_the_reference(self, rows, request) -> None:  # type: ignore[no-untyped-def]
        stored = []
        entries = []
        for (source_person, source), (target_person, target), moment in rows:
            event_id = str(uuid.uuid4())
            stored.append((event_id, source_person, target_person, moment))
            entries.append(
                {
                    "event_id": event_id,
                    "occurred_at": moment.isoformat(),
                    "service": "imessage",
                    "source": source,
                    "target": target,
                    "source_ip": "198.51.100.4",
                    "target_reachable": True,
                }
            )
        result = logs_ingest(entries=array_entries(entries))
        assert result.rejected_count == 0, result.rejected

        identifiers, direction = request
        wanted = {person for person, _ in identifiers}
        expected = _expected(stored, wanted, direction)
        scope = {
            "identifiers": [spelling for _, spelling in identifiers],
            "date_from": DATE_FROM,
            "date_to": DATE_TO,
            "direction": direction,
        }
        found = list(rows_in_scope(**scope))
        got = {str(row.event_id) for row in found}
        assert got - expected == set(), "rows outside the scope were selected"
        assert expected - got == set(), "rows inside the scope were left out"
        assert len(found) == len(got), "a row was streamed twice"
        keys = [(row.occurred_at, row.event_id) for row in found]
        assert keys == sorted(keys), "rows out of (occurred_at, event_id) order"
        assert count_in_scope(**scope) == len(expected)


@pytest.mark.django_db
@pytest.mark.parametrize("identifier", ["аlice@example.com", "alice@exаmple.com", "ѕ@example.com"])
def test_lookalike_identifiers_are_refused_not_matched(identifier: str) -> None:
    with pytest.raises(HandleError):
        list(
            rows_in_scope(
                identifiers=[identifier], date_from=DATE_FROM, date_to=DATE_TO, direction="both"
            )
        )


@pytest.mark.django_db
def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        count_in_scope(
            identifiers=["+14155550100"],
            date_from=DATE_FROM.replace(tzinfo=None),
            date_to=DATE_TO,
            direction="both",
        )


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_stream_holds_none_open_and_loses_no_row() -> None:
    """More rows than the first chunk, most at one instant, some between two of the
    identifiers: streamed in autocommit, each comes once, in (occurred_at, event_id)
    order, and no transaction stays open while the caller holds the stream."""
    phone, email = "+14155550100", "alice@example.com"
    sides = [(phone, f"friend{n}@example.com") for n in range(120)]
    sides += [(f"friend{n}@example.com", email) for n in range(60)]
    sides += [(phone, email)] * 50
    sides += [("carol@example.org", "bob@example.org")] * 10  # out of scope
    times = ["2026-11-11T09:00:00Z"] * 200 + ["2026-11-11T09:00:01Z"] * 40
    body = [
        {
            "event_id": str(uuid.uuid4()),
            "occurred_at": occurred_at,
            "service": "imessage",
            "source": source,
            "target": target,
            "source_ip": "198.51.100.4",
            "target_reachable": True,
        }
        for (source, target), occurred_at in zip(sides, times, strict=True)
    ]
    assert logs_ingest(entries=array_entries(body)).accepted == len(body)
    expected = sorted(
        (entry["occurred_at"], entry["event_id"])
        for entry in body
        if entry["source"] in (phone, email) or entry["target"] in (phone, email)
    )
    stream = iter(
        rows_in_scope(
            identifiers=[phone, email], date_from=DATE_FROM, date_to=DATE_TO, direction="both"
        )
    )
    rows = [next(stream)]
    assert not connection.in_atomic_block
    assert connection.get_autocommit()
    rows += list(stream)
    got = [(row.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"), str(row.event_id)) for row in rows]
    assert got == expected
