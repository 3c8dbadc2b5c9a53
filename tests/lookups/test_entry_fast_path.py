"""The ingest's fast path (EntryFastPath) against the definition (entry_parse and the
codec's encode): for any entry it either steps aside or gives exactly the encoding
the definition gives, so it never stores a row the definition rejects and an
identical copy is found whichever path each copy took."""

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lookups.batches import Codec, PostgresCodec, SqliteCodec, batches_prepare
from lookups.entries import EntryFastPath, EntryRejected, entry_parse, utc_parts
from lookups.readers import array_entries
from lookups.synthetic import logs_generate
from tests.lookups.helpers import log_entry

EXAMPLES = int(os.environ.get("LEGALOPS_PROPERTY_EXAMPLES", "500"))
CODECS = [SqliteCodec(), PostgresCodec()]


def _definition(entry: Any, codec: Codec) -> Any:
    try:
        return codec.encode(entry_parse(entry, region="US"))
    except EntryRejected:
        return None


def _fast(codec: Codec) -> EntryFastPath:
    return EntryFastPath(region="US", text=codec.text, assemble=codec.assemble)


_moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@st.composite
def _timestamps(draw: st.DrawFn) -> Any:
    moment = draw(_moments)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = draw(
        st.sampled_from(["", ".", ".0", ".000", ".5", ".250", ".000001", ".123456", ".1234567"])
    )
    if fraction in {".5", ".250", ".000001", ".123456"} and draw(st.booleans()):
        fraction = f".{moment.microsecond:06d}"[: len(fraction)]
    zone = draw(st.sampled_from(["Z", "+00:00", "-00:00", "+01:00", "", "z", "+0000"]))
    spelled = draw(
        st.sampled_from(
            [
                f"{base}{fraction}{zone}",
                f"{base[:10]} {base[11:]}{fraction}{zone}",
                f"{base}{fraction}{zone} ",
                f"{base[:8]}30{base[10:]}{fraction}{zone}",  # may be an invalid date
                f"{base[:11]}24{base[13:]}{fraction}{zone}",  # hour 24
            ]
        )
    )
    if draw(st.integers(0, 3)) == 0:  # a character or more cut out before the zone
        cut = draw(st.integers(10, len(base) + len(fraction)))
        spelled = (base + fraction)[:cut] + zone
    return draw(st.one_of(st.just(spelled), st.just(spelled.replace("-", "/")), st.none()))


_handles = (
    st.sampled_from(
        [
            "+14155550100",
            "+1 (415) 555-0100",
            "415.555.0100",
            " +14155550100\t",
            "+44 7911 123456",
            "+1415555",
            "Alice@Example.COM",
            "bob@bücher.example",
            "bob@xn--bcher-kva.example",
            "ѕeo@example.com",  # Cyrillic look-alike
            "tab\t@example.com",
            "back\\slash@example.com",
            "x" * 330,
            "not a handle",
            "",
        ]
    )
    | st.integers()
    | st.none()
)
_ips = (
    st.sampled_from(
        [
            "203.0.113.7",
            " 203.0.113.7 ",
            "2001:0DB8::0001",
            "::ffff:1.2.3.4",
            "fe80::1%eth0",
            "1.2.3",
        ]
    )
    | st.integers()
)
_clients = (
    st.sampled_from(
        ["iPhone15,2 iOS 18.1", "", "tab\there", "back\\slash", "x" * 201, "line\nbreak", "é"]
    )
    | st.none()
    | st.integers()
)
_event_ids = (
    st.uuids().map(str)
    | st.uuids().map(lambda u: str(u).upper())
    | st.sampled_from(["{12345678-1234-5678-1234-567812345678}", "not-a-uuid", ""])
    | st.integers()
)


_usual = {
    "event_id": st.uuids().map(str),
    "occurred_at": _moments.map(lambda m: m.isoformat(timespec="milliseconds")[:-6] + "Z"),
    "service": st.sampled_from(["imessage", "facetime"]),
    "source": st.sampled_from(["+14155550100", "+44 7911 123456", "Alice@Example.COM"]),
    "target": st.sampled_from(["+1 (415) 555-0100", "bob@bücher.example", " x@example.org"]),
    "source_ip": st.sampled_from(["203.0.113.7", "2001:db8::1", "::ffff:1.2.3.4"]),
    "client": st.sampled_from(["iPhone15,2 iOS 18.1", "", "back\\slash"]),
    "target_reachable": st.booleans(),
}
_unusual = {
    "event_id": _event_ids,
    "occurred_at": _timestamps(),
    "service": st.sampled_from(["imessage", "facetime", "sms", ""]) | st.integers(),
    "source": _handles,
    "target": _handles,
    "source_ip": _ips,
    "client": _clients,
    "target_reachable": st.sampled_from([True, False, "true", 1, None]),
}


@st.composite
def _entries(draw: st.DrawFn) -> Any:
    """A usual entry with up to three fields drawn from unusual values, one maybe
    missing, one maybe unknown."""
    unusual = draw(st.sets(st.sampled_from(sorted(_usual)), max_size=3))
    entry = {name: draw(_unusual[name] if name in unusual else _usual[name]) for name in _usual}
    if draw(st.integers(0, 9)) == 0:
        entry.pop(draw(st.sampled_from(sorted(entry))))
    if draw(st.integers(0, 9)) == 0:
        entry["extra"] = 1
    return entry


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=_entries())
@example(entry=log_entry(occurred_at="2026-11-20T14:03:11.000Z"))
@example(entry=log_entry(occurred_at="2026-11-20T14:03:11.Z"))
@example(entry=log_entry(occurred_at="2024-01-01T12:34:+00:00"))
@example(entry=log_entry(source=" +14155550100\t", target="x@example.org\r\n"))
@example(entry=log_entry(client="back\\slash\tand tab"))
def test_the_fast_path_steps_aside_or_encodes_as_the_definition(entry: Any) -> None:
    for codec in CODECS:
        fast = _fast(codec)(entry)
        if fast is not None:
            assert fast == _definition(entry, codec)
            assert _fast(codec)(entry) == fast  # and again from its memory


def test_the_fast_path_takes_every_generated_entry() -> None:
    entries = list(logs_generate(rows=3000, seed=5, end=datetime(2026, 11, 1, tzinfo=UTC)))
    for codec in CODECS:
        fast = _fast(codec)
        for entry in entries:
            row = fast(entry)
            assert row is not None, entry
            assert row == _definition(entry, codec)


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("2026-11-20T14:03:11Z", ("2026-11-20", "14:03:11", "")),
        ("2026-11-20T14:03:11.000Z", ("2026-11-20", "14:03:11", "")),
        ("2026-11-20T14:03:11.25+00:00", ("2026-11-20", "14:03:11", "250000")),
        ("2026-11-20T14:03:11.000001Z", ("2026-11-20", "14:03:11", "000001")),
        ("2026-11-20T14:03:11.1234567Z", None),  # more than microseconds
        ("2026-11-20T14:03:11+01:00", None),  # another offset: the definition converts
        ("2026-11-20 14:03:11Z", None),
        ("2026-02-30T14:03:11Z", None),
        ("2026-11-20T24:00:00Z", None),
        ("2026-11-20T14:03:11", None),
        ("2026-11-20T140311.500Z", None),  # basic format: not the usual spelling
        ("20261120T14:03:11.500Z", None),
        ("2024-01-01T12:34:+00:00", None),  # fromisoformat reads 12:34:00; not usual
        ("2024-01-01T12:34:5Z", None),
        ("2026-11-20T14:03:1１Z", None),  # a full-width digit
    ],
)
def test_utc_parts(value: str, parts: tuple[str, str, str] | None) -> None:
    assert utc_parts(value) == parts


def test_a_full_memory_starts_again_and_stays_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EntryFastPath, "CACHE_ENTRIES", 3)
    codec = PostgresCodec()
    fast = _fast(codec)
    for index in range(20):
        entry = log_entry(
            source=f"+1 415 555 {index:04d}",
            source_ip=f"203.0.113.{index}",
            client=f"client {index}",
        )
        assert fast(entry) == _definition(entry, codec)
    assert max(len(fast._handles), len(fast._ips), len(fast._clients)) <= 3


@pytest.mark.parametrize("codec", CODECS, ids=["sqlite", "postgresql"])
def test_copies_are_found_whichever_path_each_took(codec: Codec) -> None:
    """The same instant spelled two ways (the fast path takes "Z", the definition
    "+01:00") is one entry: the second copy is a duplicate; other content under the
    same event_id is a conflict."""
    event_id = str(uuid.uuid4())
    moment = datetime(2026, 11, 20, 14, 3, 11, 250000, tzinfo=UTC)
    first = log_entry(event_id=event_id, occurred_at="2026-11-20T14:03:11.250Z")
    same = dict(first, occurred_at=(moment + timedelta(hours=1)).isoformat()[:-6] + "+01:00")
    other = dict(first, client="changed")
    (batch,) = batches_prepare(
        array_entries([first, same, other]), region="US", size=10, codec=codec
    )
    assert (len(batch.rows), batch.duplicates, batch.conflicts) == (1, 1, [2])
