"""File ingest with batches prepared in a second process (lookups.parse_process):
the same rows, counts and rejections as in one process, file errors that still
store nothing, and a child that dies or is abandoned never leaves half a story."""

import os
import signal
import sys
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from lookups.ingest import logs_ingest_file
from lookups.models import QueryLogEntry
from lookups.parse_process import ParseProcessError, batches_from_process
from lookups.readers import IngestFileError
from tests.lookups.helpers import jsonl, log_entry

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


@pytest.fixture(autouse=True)
def _always_a_second_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a one-core machine the command would quietly parse in-process; these
    tests are about the second process, so it is always used."""
    import lookups.ingest

    monkeypatch.setattr(lookups.ingest, "batches_process_usable", lambda **_: True)


def _stored() -> list[tuple[object, ...]]:
    fields = [f.name for f in QueryLogEntry._meta.concrete_fields]
    return sorted(QueryLogEntry.objects.values_list(*fields))


def _mixed_file(path: Path) -> Path:
    """Good rows, a bad handle, a malformed line, a copy and a reused event_id."""
    good = [
        log_entry(source=f"+1 415 555 {index:04d}", occurred_at=f"2026-11-20T14:{index:02d}:00Z")
        for index in range(30)
    ]
    good.append(log_entry(target="Friend@Bücher.Example", source_ip="2001:0DB8::0001"))
    lines = [orjson.dumps(entry) for entry in good]
    lines.insert(3, orjson.dumps(log_entry(source="not a handle")))  # line 4
    lines.insert(7, b'{"event_id": broken')  # line 8
    lines.append(orjson.dumps(good[5]))  # an identical copy
    lines.append(orjson.dumps(dict(good[6], client="changed")))  # reused event_id
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize("batch_size", [1, 4, 1000])
def test_a_second_process_stores_exactly_what_one_process_stores(
    tmp_path: Path, batch_size: int
) -> None:
    path = _mixed_file(tmp_path / "mixed.jsonl")
    seen: list[int] = []
    alone = logs_ingest_file(
        path=str(path),
        fmt="jsonl",
        batch_size=batch_size,
        separate_process=False,
        on_rejected=lambda rejection: seen.append(rejection.position),
    )
    rows_alone = _stored()
    QueryLogEntry.objects.all().delete()
    seen_child: list[int] = []
    child = logs_ingest_file(
        path=str(path),
        fmt="jsonl",
        batch_size=batch_size,
        separate_process=True,
        on_rejected=lambda rejection: seen_child.append(rejection.position),
    )
    assert _stored() == rows_alone
    assert len(rows_alone) == 31
    assert (child.accepted, child.duplicates, child.rejected_count) == (31, 1, 3)
    assert (alone.accepted, alone.duplicates, alone.rejected_count) == (31, 1, 3)
    assert child.rejected == alone.rejected
    assert seen_child == seen == [4, 8, 35]


def test_a_second_run_through_the_process_finds_every_row_stored(tmp_path: Path) -> None:
    path = _mixed_file(tmp_path / "mixed.jsonl")
    logs_ingest_file(path=str(path), fmt="jsonl", batch_size=8)
    again = logs_ingest_file(path=str(path), fmt="jsonl", batch_size=8)
    assert (again.accepted, again.duplicates) == (0, 32)
    # the reused event_id is refused against the stored row as well as within the file
    assert sorted(r.position for r in again.rejected) == [4, 8, 35]


def test_csv_through_the_process(tmp_path: Path) -> None:
    path = tmp_path / "logs.csv"
    header = "event_id,occurred_at,service,source,target,source_ip,client,target_reachable\n"
    rows = [
        f"{log_entry()['event_id']},2026-11-20T14:03:11Z,facetime,(415) 555-0101,"
        f"a{index}@example.com,198.51.100.{index},,false\n"
        for index in range(5)
    ]
    path.write_text(header + "".join(rows))
    result = logs_ingest_file(path=str(path), fmt="csv", region="us")
    assert (result.accepted, result.rejected_count) == (5, 0)
    assert set(QueryLogEntry.objects.values_list("source", flat=True)) == {"+14155550101"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x00\x01binary", "binary"),
        (b"event_id,occurred_at\nx,y\n", "not JSON Lines"),
    ],
)
def test_file_errors_come_through_the_process_and_store_nothing(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(IngestFileError, match=message):
        logs_ingest_file(path=str(path), fmt="jsonl", separate_process=True)
    assert not QueryLogEntry.objects.exists()


def test_the_command_reads_standard_input_through_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl([log_entry() for _ in range(7)]))
    with path.open("r") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        call_command("ingest_logs", "-")
    assert "accepted 7, duplicate 0, rejected 0" in capsys.readouterr().out
    assert QueryLogEntry.objects.count() == 7


def test_in_process_flag_gives_the_same_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _mixed_file(tmp_path / "mixed.jsonl")
    with pytest.raises(CommandError, match="3 rows were rejected"):
        call_command("ingest_logs", str(path), "--in-process")
    captured = capsys.readouterr()
    assert "accepted 31, duplicate 1, rejected 3" in captured.out
    assert "line 35: event_id: event_id reused with different content" in captured.err


def _big_file(path: Path, rows: int) -> Path:
    path.write_bytes(jsonl([log_entry(client="x" * 150) for _ in range(rows)]))
    return path


def test_a_child_killed_mid_file_is_an_error_and_stored_batches_stay(tmp_path: Path) -> None:
    path = _big_file(tmp_path / "big.jsonl", 6000)
    stored_before_kill = 0
    with (
        pytest.raises(ParseProcessError, match="before the end of the input"),
        batches_from_process(
            path=str(path), fmt="jsonl", region="US", size=20, vendor=connection.vendor
        ) as batches,
    ):
        for number, batch in enumerate(batches):
            stored_before_kill += len(batch.rows)
            if number == 0:
                os.kill(batches.pid, signal.SIGKILL)
    # the pipe held some frames when the child died; everything after them is lost
    assert 20 <= stored_before_kill < 6000


def test_a_parent_that_stops_reading_leaves_no_child_behind(tmp_path: Path) -> None:
    path = _big_file(tmp_path / "big.jsonl", 6000)
    with batches_from_process(
        path=str(path), fmt="jsonl", region="US", size=20, vendor=connection.vendor
    ) as batches:
        next(iter(batches))
        pid = batches.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not a zombie


def test_a_transaction_of_many_chunks_keeps_every_chunk_when_one_meets_a_stored_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A batch (one transaction) is written as chunks, each under its own savepoint:
    a chunk refused by the unique index is split and rewritten without undoing the
    chunks before it."""
    import lookups.ingest

    monkeypatch.setattr(lookups.ingest, "CHUNK_ROWS", 3)
    entries = [log_entry() for _ in range(10)]
    path = tmp_path / "logs.jsonl"
    path.write_bytes(jsonl([entries[4]]))
    assert logs_ingest_file(path=str(path), fmt="jsonl").accepted == 1
    path.write_bytes(jsonl([*entries, dict(entries[7], client="changed")]))
    for separate_process in (False, True):
        QueryLogEntry.objects.exclude(event_id=entries[4]["event_id"]).delete()
        result = logs_ingest_file(
            path=str(path), fmt="jsonl", batch_size=100, separate_process=separate_process
        )
        assert (result.accepted, result.duplicates, result.rejected_count) == (9, 1, 1)
        assert [r.position for r in result.rejected] == [11]
        assert QueryLogEntry.objects.count() == 10


def test_prepared_chunks_never_exceed_their_size() -> None:
    from lookups.batches import SqliteCodec, batches_prepare
    from lookups.readers import array_entries

    entries = array_entries([log_entry() for _ in range(25)] + ["not an object"])
    sizes = [
        len(batch.rows)
        for batch in batches_prepare(entries, region="US", size=4, codec=SqliteCodec())
    ]
    assert sizes == [4, 4, 4, 4, 4, 4, 1]


def test_ingest_refuses_a_sqlite_adapter_that_writes_times_differently() -> None:
    from datetime import timedelta

    from lookups.batches import sqlite_time_check

    if connection.vendor == "sqlite":
        sqlite_time_check(connection.ops.adapt_datetimefield_value)  # as configured
    with pytest.raises(RuntimeError, match="set no TIME_ZONE"):
        sqlite_time_check(lambda moment: str((moment + timedelta(hours=1)).replace(tzinfo=None)))


def _children() -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def test_a_child_killed_during_ingest_fails_the_command_and_keeps_what_was_committed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import lookups.ingest

    monkeypatch.setattr(lookups.ingest, "CHUNK_ROWS", 50)
    entries = [log_entry() for _ in range(3000)]
    entries[10] = log_entry(source="not a handle")  # reported after the first commit
    path = tmp_path / "logs.jsonl"
    path.write_bytes(jsonl(entries))
    killed: list[int] = []

    def kill_the_child(rejection: object) -> None:
        for pid in _children():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with pytest.raises(ParseProcessError, match="killed by signal 9"):
        logs_ingest_file(path=str(path), fmt="jsonl", batch_size=50, on_rejected=kill_the_child)
    assert killed
    stored = QueryLogEntry.objects.count()
    # the first transaction (one chunk of 50 rows and a rejection) is committed; the
    # pipe may have held a few more chunks when the child died, not the rest
    assert stored % 50 == 0
    assert 50 <= stored < 2999


def test_rejections_are_reported_in_input_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A reused event_id is known only once its chunk is written, after the parse
    errors of that chunk (and of later ones) were read: the report is still in line
    order."""
    import lookups.ingest

    monkeypatch.setattr(lookups.ingest, "CHUNK_ROWS", 3)
    stored = log_entry()
    path = tmp_path / "logs.jsonl"
    path.write_bytes(jsonl([stored]))
    logs_ingest_file(path=str(path), fmt="jsonl")
    entries = [
        dict(stored, client="changed"),  # line 1: reused, against the stored row
        log_entry(source="not a handle"),  # line 2
        log_entry(),
        log_entry(),
        log_entry(),
        log_entry(source_ip="nowhere"),  # line 6, in the second chunk
    ]
    path.write_bytes(jsonl(entries))
    for separate_process in (True, False):
        seen: list[int] = []
        logs_ingest_file(
            path=str(path),
            fmt="jsonl",
            separate_process=separate_process,
            on_rejected=lambda rejection, seen=seen: seen.append(rejection.position),
        )
        assert seen == [1, 2, 6]


def test_a_file_of_bad_lines_is_reported_a_chunk_at_a_time() -> None:
    from lookups.batches import SqliteCodec, batches_prepare
    from lookups.readers import array_entries

    entries = array_entries([log_entry(source="not a handle") for _ in range(10)])
    batches = list(batches_prepare(entries, region="US", size=4, codec=SqliteCodec()))
    assert [len(batch.rejections) for batch in batches] == [4, 4, 2]
    assert all(not batch.rows for batch in batches)


def test_an_error_while_taking_the_next_chunk_is_raised_not_swallowed() -> None:
    """On PostgreSQL the next chunk is taken while the server inserts; if that fails
    while the chunk in flight also meets a stored row, the failure must still end the
    ingest (a commit here would silently drop the rest of the input)."""
    from lookups.batches import batches_prepare, codec_for
    from lookups.ingest import _always, _ingest, logs_ingest
    from lookups.readers import array_entries

    stored = log_entry()
    logs_ingest(entries=array_entries([stored]))
    (first,) = batches_prepare(
        array_entries([stored, log_entry()]),
        region="US",
        size=10,
        codec=codec_for(connection.vendor),
    )

    def chunks():  # type: ignore[no-untyped-def]
        yield first
        raise RuntimeError("the input broke")

    with pytest.raises(RuntimeError, match="the input broke"):
        _ingest(chunks(), commit_rows=1000, ready=_always, on_rejected=None)
    assert QueryLogEntry.objects.count() == 1  # the transaction in flight rolled back


def test_ipv4_mapped_addresses_are_duplicates_not_conflicts_when_sent_again(
    tmp_path: Path,
) -> None:
    entries = [
        log_entry(source_ip="::ffff:192.0.2.1"),
        log_entry(source_ip="::192.0.2.2"),
        log_entry(source_ip="2001:DB8:0:0::1"),
    ]
    path = tmp_path / "logs.jsonl"
    path.write_bytes(jsonl(entries))
    assert logs_ingest_file(path=str(path), fmt="jsonl").accepted == 3
    again = logs_ingest_file(path=str(path), fmt="jsonl")
    assert (again.accepted, again.duplicates, again.rejected_count) == (0, 3, 0)
    if connection.vendor == "sqlite":  # PostgreSQL stores inet and prints its own way
        field = QueryLogEntry._meta.get_field("source_ip")
        assert sorted(QueryLogEntry.objects.values_list("source_ip", flat=True)) == sorted(
            field.get_prep_value(entry["source_ip"]) for entry in entries
        )


def test_a_handle_padded_past_its_column_is_a_rejected_line(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    path.write_bytes(jsonl([log_entry(source=" " * 400 + "+14155550100"), log_entry()]))
    result = logs_ingest_file(path=str(path), fmt="jsonl")
    assert (result.accepted, result.rejected_count) == (1, 1)
    assert "longer than 320 characters" in result.rejected[0].errors["source"][0]
