import io
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lookups.ingest import logs_ingest
from lookups.models import QueryLogEntry
from lookups.readers import IngestFileError, csv_entries, jsonl_entries
from tests.lookups.helpers import jsonl, log_entry, utc

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


def _ingest(body: bytes, **kwargs: object):  # type: ignore[no-untyped-def]
    return logs_ingest(entries=jsonl_entries(io.BytesIO(body)), **kwargs)  # type: ignore[arg-type]


def test_the_same_file_twice_stores_each_event_once() -> None:
    body = jsonl([log_entry() for _ in range(25)])
    first = _ingest(body, batch_size=7)
    second = _ingest(body, batch_size=7)
    assert (first.accepted, first.duplicates, first.rejected_count) == (25, 0, 0)
    assert (second.accepted, second.duplicates, second.rejected_count) == (0, 25, 0)
    assert QueryLogEntry.objects.count() == 25


def test_stored_row_is_normalized_beside_its_raw_form() -> None:
    entry = log_entry(
        source="+1 (415) 555-0100",
        target="Friend@Bücher.Example",
        source_ip="2001:0DB8:0000::0001",
        occurred_at="2026-11-20T06:03:11.250-08:00",
    )
    assert _ingest(jsonl([entry])).accepted == 1
    row = QueryLogEntry.objects.get()
    assert (row.source_raw, row.source) == ("+1 (415) 555-0100", "+14155550100")
    assert (row.target_raw, row.target) == ("Friend@Bücher.Example", "friend@xn--bcher-kva.example")
    assert row.source_ip == "2001:db8::1"
    assert row.occurred_at == utc(2026, 11, 20, 14, 3, 11, 250000)


def test_bad_rows_are_named_by_line_and_good_rows_are_stored() -> None:
    good = [log_entry() for _ in range(4)]
    missing = log_entry()
    del missing["target"]
    lines = [
        orjson.dumps(good[0]),
        orjson.dumps(log_entry(source="not a handle")),  # line 2
        orjson.dumps(good[1]),
        orjson.dumps(log_entry(source_ip="300.1.2.3")),  # line 4
        orjson.dumps(log_entry(occurred_at="yesterday")),  # line 5
        b"",
        orjson.dumps(missing),  # line 7
        b'{"event_id": "x", broken',  # line 8
        orjson.dumps(good[2]),
        orjson.dumps(log_entry(occurred_at="2026-11-20T14:03:11")),  # line 10: no offset
        orjson.dumps(good[3]),
    ]
    result = _ingest(b"\n".join(lines) + b"\n", batch_size=2)
    assert result.accepted == 4
    assert QueryLogEntry.objects.count() == 4
    by_line = {r.position: r.errors for r in result.rejected}
    assert sorted(by_line) == [2, 4, 5, 7, 8, 10]
    assert "source" in by_line[2]
    assert "source_ip" in by_line[4]
    assert "occurred_at" in by_line[5]
    assert by_line[7] == {"target": ["This field is required."]}
    assert "malformed JSON" in by_line[8]["non_field_errors"][0]
    assert "UTC offset" in by_line[10]["occurred_at"][0]


def test_event_id_reused_with_different_content_is_rejected_not_overwritten() -> None:
    original = log_entry()
    assert _ingest(jsonl([original])).accepted == 1
    changed = dict(original, target="someone.else@example.com")
    again = _ingest(jsonl([original, changed]))
    assert (again.accepted, again.duplicates, again.rejected_count) == (0, 1, 1)
    assert again.rejected[0].errors == {"event_id": ["event_id reused with different content"]}
    assert QueryLogEntry.objects.get().target == "friend@example.com"


def test_event_id_reused_within_one_batch_is_rejected() -> None:
    original = log_entry()
    moved = dict(original, occurred_at="2026-11-21T00:00:00Z")
    result = _ingest(jsonl([original, original, moved]))
    assert (result.accepted, result.duplicates, result.rejected_count) == (1, 1, 1)
    assert result.rejected[0].position == 3


def test_unknown_fields_and_wrong_types_are_rejected() -> None:
    result = _ingest(
        jsonl([log_entry(extra=1), log_entry(target_reachable="yes"), log_entry(service="sms")])
    )
    assert result.accepted == 0
    errors = [r.errors for r in result.rejected]
    assert errors[0] == {"extra": ["Unknown field."]}
    assert "target_reachable" in errors[1]
    assert "service" in errors[2]


def test_values_that_need_copy_escaping_round_trip() -> None:
    entry = log_entry(client='Weird\\Client, "quoted"', source="a\\b@example.com")
    result = _ingest(jsonl([entry]))
    if result.rejected:  # a backslash is not allowed unquoted in a local part
        assert "source" in result.rejected[0].errors
        entry = log_entry(client='Weird\\Client, "quoted"')
        assert _ingest(jsonl([entry])).accepted == 1
    assert QueryLogEntry.objects.get().client == 'Weird\\Client, "quoted"'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "blank"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\xff\xfe\xfa\xfb" * 100, "not UTF-8"),
        (b"event_id,occurred_at,service\n1,2,3\n", "use --format csv"),
    ],
)
def test_unreadable_files_fail_clearly_and_store_nothing(body: bytes, message: str) -> None:
    with pytest.raises(IngestFileError, match=message):
        _ingest(body)
    assert QueryLogEntry.objects.count() == 0


def test_csv_is_read_by_header() -> None:
    entry = log_entry()
    header = "event_id,occurred_at,service,source,target,source_ip,target_reachable,client\n"
    row = (
        f'{entry["event_id"]},{entry["occurred_at"]},imessage,"+1 (415) 555-0100",'
        f'friend@example.com,203.0.113.7,false,"iPhone15,2 iOS 18.1"\n'
    )
    bad = f"{log_entry()['event_id']},2026-11-20T14:03:11Z,imessage,x,y,1.2.3.4,maybe,\n"
    result = logs_ingest(entries=csv_entries(io.BytesIO((header + row + bad).encode())))
    assert result.accepted == 1
    assert [r.position for r in result.rejected] == [3]
    stored = QueryLogEntry.objects.get()
    assert stored.client == "iPhone15,2 iOS 18.1"
    assert stored.target_reachable is False


def test_csv_with_a_wrong_header_fails_before_storing() -> None:
    with pytest.raises(IngestFileError, match="missing columns: source_ip"):
        logs_ingest(
            entries=csv_entries(
                io.BytesIO(b"event_id,occurred_at,service,source,target,target_reachable\n")
            )
        )


def test_command_prints_counts_and_exits_nonzero_on_rejections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl([log_entry() for _ in range(3)]))
    call_command("ingest_logs", str(good))
    assert "accepted 3, duplicate 0, rejected 0" in capsys.readouterr().out
    call_command("ingest_logs", str(good))
    assert "accepted 0, duplicate 3, rejected 0" in capsys.readouterr().out

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(jsonl([log_entry(), log_entry(source="nope")]))
    with pytest.raises(CommandError, match="1 rows were rejected"):
        call_command("ingest_logs", str(mixed))
    captured = capsys.readouterr()
    assert "accepted 1, duplicate 0, rejected 1" in captured.out
    assert "line 2: source:" in captured.err


def test_command_refuses_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match=r"empty.*nothing was stored"):
        call_command("ingest_logs", str(empty))
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest_logs", str(tmp_path / "absent.jsonl"))
