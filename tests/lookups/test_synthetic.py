"""The synthetic log generator: deterministic, valid, realistic in shape, streaming."""

import collections
import functools
import io
import ipaddress
import itertools
import os
import random
import subprocess
import sys
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import phonenumbers
import pytest
from django.core.management import CommandError, call_command

from lookups.entries import EntryRejected, LogRow, entry_parse
from lookups.synthetic import _UUID_CLEAR, _UUID_SET, logs_generate

END = datetime(2026, 12, 1, tzinfo=UTC)
FIELDS = [
    "event_id",
    "occurred_at",
    "service",
    "source",
    "target",
    "source_ip",
    "client",
    "target_reachable",
]
REPO = Path(__file__).resolve().parents[2]


@functools.cache
def _phone_region(handle: str) -> str | None:
    if not handle.startswith("+"):
        return None
    return phonenumbers.region_code_for_number(phonenumbers.parse(handle))


def _bytes(**kwargs: object) -> bytes:
    return b"".join(orjson.dumps(entry) + b"\n" for entry in logs_generate(**kwargs))


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(logs_generate(rows=5000, seed=7, end=END))


@pytest.fixture(scope="module")
def parsed(sample: list[dict]) -> list[LogRow]:
    rows = []
    for line, entry in enumerate(sample, start=1):
        try:
            rows.append(entry_parse(entry))
        except EntryRejected as exc:
            pytest.fail(f"row {line} rejected: {exc.errors} ({entry})")
    return rows


def test_same_arguments_give_the_same_bytes() -> None:
    first = _bytes(rows=3000, seed=11, end=END)
    assert first == _bytes(rows=3000, seed=11, end=END)
    assert first != _bytes(rows=3000, seed=12, end=END)
    assert first != _bytes(rows=3000, seed=11, end=END - timedelta(seconds=1))


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    # Iterating a set or dict of strings would make the bytes differ between processes.
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"out{hash_seed}.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "DEBUG": "1"}
        subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
            [
                sys.executable,
                str(REPO / "manage.py"),
                "generate_logs",
                "--rows=2000",
                "--seed=5",
                "--end=2026-12-01T00:00:00Z",
                f"--out={out}",
            ],
            check=True,
            cwd=REPO,
            env=env,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == _bytes(rows=2000, seed=5, end=END)


def test_entries_have_the_api_shape(sample: list[dict]) -> None:
    for entry in sample:
        assert list(entry) == FIELDS
    ids = [entry["event_id"] for entry in sample]
    assert len(set(ids)) == len(ids)
    for event_id in ids[:500]:
        parsed_id = uuid.UUID(event_id)
        assert str(parsed_id) == event_id
        assert parsed_id.version == 4
        assert parsed_id.variant == uuid.RFC_4122
    for entry in sample[:500]:
        # "YYYY-MM-DDTHH:MM:SS.mmmZ", as in API.md
        assert len(entry["occurred_at"]) == 24
        assert entry["occurred_at"].endswith("Z")


def test_event_id_layout_is_uuid4() -> None:
    # The generator formats event ids by hand for speed; they must equal the uuid module's.
    rng = random.Random(0)
    for _ in range(2000):
        number = rng.getrandbits(128)
        assert f"{number & _UUID_CLEAR | _UUID_SET:032x}" == uuid.UUID(int=number, version=4).hex


def test_every_entry_passes_ingest_validation(parsed: list[LogRow]) -> None:
    assert len(parsed) == 5000
    for row in parsed:
        if row.source.startswith("+"):
            assert row.source_raw == row.source  # phones are always sent as E.164


def test_times_are_inside_the_window_and_in_order(parsed: list[LogRow]) -> None:
    times = [row.occurred_at for row in parsed]
    assert times == sorted(times)
    assert END - timedelta(days=30) <= times[0]
    assert times[-1] < END
    # Spread over the whole month, not bunched at one end.
    assert times[0] < END - timedelta(days=29)
    assert times[-1] > END - timedelta(days=1)


@pytest.mark.parametrize(
    "end",
    [
        datetime(2026, 3, 29, 1, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 7, 4, 12, 0, 0, 1, tzinfo=UTC),
    ],
)
def test_window_holds_for_an_end_off_the_millisecond(end: datetime) -> None:
    # Times are emitted in milliseconds; truncation must not cross either edge.
    rows = [entry_parse(entry) for entry in logs_generate(rows=20_000, seed=3, end=end)]
    assert end - timedelta(days=30) <= rows[0].occurred_at
    assert rows[-1].occurred_at < end


def test_daily_rhythm(parsed: list[LogRow]) -> None:
    by_hour = collections.Counter(row.occurred_at.hour for row in parsed)
    assert max(by_hour.values()) > 1.5 * min(by_hour.values())


@pytest.mark.parametrize(("region", "utc_offset"), [("JP", 9), ("US", -6), ("DE", 1)])
def test_accounts_follow_their_own_local_day(region: str, utc_offset: int) -> None:
    local_hours: collections.Counter = collections.Counter()
    for entry in logs_generate(rows=50_000, seed=8, end=END):
        if _phone_region(entry["source"]) == region:
            local_hours[(int(entry["occurred_at"][11:13]) + utc_offset) % 24] += 1
    night = sum(local_hours[hour] for hour in range(2, 6))
    evening = sum(local_hours[hour] for hour in range(18, 22))
    assert evening > 500
    assert night < evening / 4


def test_variety_of_services_addresses_and_countries(parsed: list[LogRow]) -> None:
    services = collections.Counter(row.service for row in parsed)
    assert services["imessage"] > services["facetime"] > 0

    versions = collections.Counter(ipaddress.ip_address(row.source_ip).version for row in parsed)
    assert versions[4] > 0
    assert versions[6] > 0

    regions = {_phone_region(handle) for row in parsed for handle in (row.source, row.target)}
    assert {"US", "GB", "DE", "FR", "IN", "BR", "JP"} <= regions

    clients = {row.client for row in parsed}
    assert any(client.startswith("iPhone") for client in clients)
    assert any(client.startswith("Mac") for client in clients)
    assert any(client.startswith("iPad") for client in clients)

    reachable = sum(row.target_reachable for row in parsed) / len(parsed)
    assert 0.6 < reachable < 1.0


def test_emails_include_idn_and_mixed_case_spellings(parsed: list[LogRow]) -> None:
    emails = [
        (raw, normalized)
        for row in parsed
        for raw, normalized in ((row.source_raw, row.source), (row.target_raw, row.target))
        if "@" in normalized
    ]
    assert emails
    idn = [pair for pair in emails if "xn--" in pair[1]]
    assert idn
    assert any(not raw.isascii() for raw, _ in idn)  # sent in Unicode, stored as IDNA
    assert all(normalized.split("@")[1].isascii() for _, normalized in idn)
    mixed = [raw for raw, normalized in emails if raw.lower() != raw]
    share = len(mixed) / len(emails)
    assert 0.01 < share < 0.15


def test_a_few_sources_make_most_lookups() -> None:
    rows = 200_000
    counts = collections.Counter(
        entry["source"].lower() for entry in logs_generate(rows=rows, seed=2, end=END)
    )
    ranked = sorted(counts.values(), reverse=True)
    assert len(ranked) >= 500
    assert sum(ranked[: len(ranked) // 100]) / rows > 0.15  # top 1%: 15x their share
    assert sum(ranked[: len(ranked) // 10]) / rows > 0.5
    assert ranked[0] / rows < 0.1  # heavy users, not one bot drowning everyone


def test_targets_come_mostly_from_each_sources_contacts() -> None:
    by_source: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for entry in logs_generate(rows=20_000, seed=4, end=END):
        by_source[entry["source"].lower()][entry["target"].lower()] += 1
    busiest = max(by_source.values(), key=lambda targets: targets.total())
    assert busiest.total() > 500
    top_ten = sum(count for _, count in busiest.most_common(10))
    assert top_ten / busiest.total() > 0.5


def test_streams_without_building_all_rows() -> None:
    # 10M rows held in memory would take minutes and gigabytes; the first few are instant.
    head = list(itertools.islice(logs_generate(rows=10_000_000, seed=1, end=END), 1000))
    assert len(head) == 1000
    first = entry_parse(head[0]).occurred_at
    last = entry_parse(head[-1]).occurred_at
    assert END - timedelta(days=30) <= first <= last < END - timedelta(days=29)


def test_memory_stays_flat_while_streaming() -> None:
    entries = logs_generate(rows=20_000, seed=1, end=END)
    next(entries)  # builds the population
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        for _ in entries:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - baseline < 2_000_000


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rows"):
        logs_generate(rows=0, seed=0, end=END)
    with pytest.raises(ValueError, match="aware"):
        logs_generate(rows=10, seed=0, end=datetime(2026, 12, 1))


def test_command_writes_rows_to_out(tmp_path: Path) -> None:
    out = tmp_path / "logs.jsonl"
    stdout = io.StringIO()
    call_command(
        "generate_logs",
        "--rows=1234",
        "--seed=9",
        "--end=2026-12-01T01:00:00+01:00",
        f"--out={out}",
        stdout=stdout,
    )
    data = out.read_bytes()
    assert data == _bytes(rows=1234, seed=9, end=END)
    lines = data.splitlines()
    assert len(lines) == 1234
    assert all(entry_parse(orjson.loads(line)) for line in lines[:100])
    assert "1234" in stdout.getvalue()


def test_command_writes_to_stdout() -> None:
    stdout = io.StringIO()
    call_command(
        "generate_logs", "--rows=50", "--end=2026-12-01T00:00:00Z", "--out=-", stdout=stdout
    )
    assert stdout.getvalue().encode() == _bytes(rows=50, seed=0, end=END)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows=0"], "--rows"),
        (["--rows=-5"], "--rows"),
        (["--rows=10", "--end=2026-12-01T00:00:00"], "offset"),
        (["--rows=10", "--end=2026-12-01"], "offset"),
        (["--rows=10", "--end=yesterday"], "ISO-8601"),
        (["--rows=10", "--seed=-1"], "--seed"),
    ],
)
def test_command_refuses_bad_arguments(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "never.jsonl"
    with pytest.raises(CommandError, match=message):
        call_command("generate_logs", *args, f"--out={out}")
    assert not out.exists()
