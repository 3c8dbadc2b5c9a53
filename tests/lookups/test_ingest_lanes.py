"""PostgreSQL ingest over several connections (lookups.copy_lanes): the same rows,
counts and rejections as over one; an id always on the same connection, so a copy of
it later in the same transaction is found there; a failure leaves nothing of the
transaction on any connection; inside a caller's transaction, one connection only."""

import itertools
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from lookups.copy_lanes import CopyLane, lane_bounds
from lookups.ingest import logs_ingest, logs_ingest_file
from lookups.models import QueryLogEntry
from lookups.readers import array_entries
from tests.lookups.helpers import jsonl, log_entry
from tests.lookups.test_ingest_process import _mixed_file, _stored


def _one_per_lane() -> list[dict[str, Any]]:
    """An entry for each of two connections (first hex digit 0 and f)."""
    return [log_entry(event_id=f"{digit}0000000-0000-4000-8000-000000000001") for digit in "0f"]


@pytest.mark.parametrize("lanes", range(1, 17))
def test_each_id_has_one_lane_and_the_shares_cover_the_chunk(lanes: int) -> None:
    rows = sorted(
        f"{uuid.UUID(int=n * 0x0111_1111_1111_1111_1111_1111_1111_111)}\t" for n in range(15)
    )
    rows += [f"ffffffff-0000-4000-8000-00000000000{n}\t" for n in range(3)]
    bounds = lane_bounds(rows, lanes=lanes)
    assert bounds[0] == 0 and bounds[-1] == len(rows) and bounds == sorted(bounds)
    for lane, (start, end) in enumerate(itertools.pairwise(bounds)):
        for row in rows[start:end]:
            assert int(row[0], 16) * lanes // 16 == lane


@pytest.fixture
def lanes_seen(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[int]:
    """The server process of each COPY started, with two connections configured."""
    if connection.vendor != "postgresql":
        pytest.skip("several connections are a PostgreSQL ingest")
    import lookups.copy_lanes

    settings.LOOKUPS_INGEST_CONNECTIONS = 2
    monkeypatch.setattr(lookups.copy_lanes, "SPLIT_MIN_ROWS", 1)
    seen: list[int] = []
    start = CopyLane.start

    def spy(self: CopyLane, payload: bytes) -> None:
        seen.append(self.raw.info.backend_pid)
        start(self, payload)

    monkeypatch.setattr(CopyLane, "start", spy)
    return seen


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_connections_store_exactly_what_one_stores(
    tmp_path: Path, lanes_seen: list[int], settings: Any
) -> None:
    path = _mixed_file(tmp_path / "mixed.jsonl")
    results = []
    for connections_count in (1, 2):
        QueryLogEntry.objects.all().delete()
        settings.LOOKUPS_INGEST_CONNECTIONS = connections_count
        lanes_seen.clear()
        result = logs_ingest_file(path=str(path), fmt="jsonl", separate_process=False)
        assert len(set(lanes_seen)) == connections_count
        rerun = logs_ingest_file(path=str(path), fmt="jsonl", separate_process=False)
        assert (rerun.accepted, rerun.duplicates) == (0, result.accepted + result.duplicates)
        results.append(
            (
                result.accepted,
                result.duplicates,
                [(r.position, r.errors) for r in result.rejected],
                _stored(),
            )
        )
    assert results[0] == results[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_copy_later_in_the_transaction_is_found_on_its_own_connection(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lanes_seen: list[int]
) -> None:
    """Ids from both halves, each sent again two chunks later in the same transaction
    (one identical, one changed): each later copy meets the first on the connection
    that holds it uncommitted, and is told apart there. Were it looked up elsewhere
    it would be taken for new; were it sent elsewhere, that connection would wait for
    the other's commit, and the ingest for ever."""
    import lookups.ingest

    monkeypatch.setattr(lookups.ingest, "CHUNK_ROWS", 2)
    low = log_entry(event_id="00000000-0000-4000-8000-000000000001")
    high = log_entry(event_id="ffffffff-0000-4000-8000-000000000001")
    entries = [low, high, log_entry(), log_entry(), dict(low), dict(high, client="changed")]
    path = tmp_path / "logs.jsonl"
    path.write_bytes(jsonl(entries))
    finished: list[Any] = []
    worker = threading.Thread(
        target=lambda: finished.append(
            logs_ingest_file(path=str(path), fmt="jsonl", separate_process=False)
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    assert finished, "ingest did not finish: one connection waited on the other"
    (result,) = finished
    assert (result.accepted, result.duplicates) == (4, 1)
    assert [r.position for r in result.rejected] == [6]
    assert len(set(lanes_seen)) == 2
    assert QueryLogEntry.objects.count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_a_failure_leaves_nothing_of_the_transaction_on_any_connection(
    lanes_seen: list[int], failure: type[BaseException]
) -> None:
    from lookups.batches import batches_prepare, codec_for
    from lookups.ingest import _always, _ingest

    entries = _one_per_lane()
    (first,) = batches_prepare(
        array_entries(entries), region="US", size=10, codec=codec_for(connection.vendor)
    )

    def chunks():  # type: ignore[no-untyped-def]
        yield first
        raise failure("the input broke")

    outcome = _in_thread(
        lambda: _ingest(chunks(), commit_rows=1000, ready=_always, on_rejected=None)
    )
    assert outcome, "ingest hung: a COPY was left in flight"
    assert isinstance(outcome[0], failure) and "the input broke" in str(outcome[0])
    assert len(set(lanes_seen)) == 2  # both had started their share
    assert QueryLogEntry.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_one_connection_does_it_all(
    lanes_seen: list[int],
) -> None:
    entries = _one_per_lane()
    with transaction.atomic():
        assert logs_ingest(entries=array_entries(entries)).accepted == 2
        transaction.set_rollback(True)
    assert len(set(lanes_seen)) == 1
    assert QueryLogEntry.objects.count() == 0  # the caller's rollback undid all of it


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_small_transaction_opens_no_second_connection(
    monkeypatch: pytest.MonkeyPatch, lanes_seen: list[int]
) -> None:
    import lookups.copy_lanes

    monkeypatch.setattr(lookups.copy_lanes, "SPLIT_MIN_ROWS", 3)
    opened: list[object] = []
    create = lookups.copy_lanes.connections.create_connection
    monkeypatch.setattr(
        lookups.copy_lanes.connections,
        "create_connection",
        lambda alias: opened.append(alias) or create(alias),
    )
    entries = _one_per_lane()
    assert logs_ingest(entries=array_entries(entries)).accepted == 2
    assert len(set(lanes_seen)) == 1 and not opened


def _in_thread(work: Any, *, seconds: float = 60) -> list[Any]:
    """Run ``work``; what it returned or raised, or [] if it hung."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # reported to the test, an interrupt too
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    return outcome


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broken_lane", [0, 1])
def test_a_server_error_on_one_connection_ends_every_copy_and_stores_nothing(
    lanes_seen: list[int], broken_lane: int
) -> None:
    """A COPY that fails for another reason than a stored row (here a timestamp the
    server cannot read) fails the ingest on either connection, and the other
    connection's COPY is ended, not left holding it: its rollback would wait for ever."""
    from lookups.batches import batches_prepare, codec_for
    from lookups.ingest import _always, _ingest

    entries = _one_per_lane()
    (batch,) = batches_prepare(
        array_entries(entries), region="US", size=10, codec=codec_for(connection.vendor)
    )
    rows = list(batch.rows)
    fields = rows[broken_lane].split("\t")
    fields[1] = "not a time"
    rows[broken_lane] = "\t".join(fields)
    broken = batch._replace(rows=rows)
    outcome = _in_thread(
        lambda: _ingest(iter([broken]), commit_rows=1000, ready=_always, on_rejected=None)
    )
    assert outcome, "ingest hung: a COPY was left in flight"
    assert isinstance(outcome[0], Exception) and "not a time" in str(outcome[0])
    assert len(set(lanes_seen)) == 2
    assert QueryLogEntry.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_caller_without_autocommit_gets_one_connection(lanes_seen: list[int]) -> None:
    entries = _one_per_lane()
    transaction.set_autocommit(False)
    try:
        assert logs_ingest(entries=array_entries(entries)).accepted == 2
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert len(set(lanes_seen)) == 1
    assert QueryLogEntry.objects.count() == 0
