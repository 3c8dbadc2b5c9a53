"""Tampering past the triggers (as a superuser could) is detected, and the entry named."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from legalops.audit.models import GENESIS_HASH, AuditAnchor, AuditEvent
from legalops.audit.verify import AuditVerification, audit_verify, chain_verify
from tests.audit.helpers import audit_triggers_disabled, forged_event, record_chain

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


def _broken(*, seq: int | None, says: str) -> AuditVerification:
    result = audit_verify()
    assert not result.ok
    assert result.first_bad_seq == seq, result.problem
    assert says in result.problem, result.problem
    return result


def _command_names(seq: int) -> None:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    assert failure.value.returncode == 1
    assert f"entry {seq} " in str(failure.value), str(failure.value)


def test_command_reports_an_intact_chain() -> None:
    record_chain(4)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().strip() == "audit chain intact: 4 entries"


def test_edited_field_is_detected_at_that_entry() -> None:
    record_chain(6)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq=4).update(details={"i": 4, "note": "nothing to see"})

    result = _broken(seq=4, says="its hash does not match its content (edited?)")
    assert result.problem.startswith("entry 4 (request.submitted at 20")
    assert result.checked == 3
    _command_names(4)


def test_edited_actor_is_detected() -> None:
    record_chain(3)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq=2).update(actor_label="someone-else")
    _broken(seq=2, says="does not match its content")


def test_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    record_chain(5)
    with audit_triggers_disabled():
        event = AuditEvent.objects.get(seq=3)
        event.details = {"rewritten": True}
        AuditEvent.objects.filter(pk=event.pk).update(
            details=event.details, hash=event.computed_hash()
        )

    _broken(seq=4, says="its prev_hash does not match the hash of entry 3")
    _command_names(4)


def test_deleted_entry_in_the_middle_is_detected() -> None:
    record_chain(6)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq=3).delete()

    _broken(seq=3, says="entry 3 is missing: the log jumps from entry 2")
    _command_names(3)


def test_deleted_first_entries_are_detected() -> None:
    record_chain(4)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq__lte=2).delete()
    _broken(seq=1, says="entries 1-2 are missing: the log jumps from the start")


def test_deleted_entry_with_renumbering_is_detected() -> None:
    record_chain(5)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq=3).delete()
        for seq in (4, 5):
            AuditEvent.objects.filter(seq=seq).update(seq=seq - 1)
        AuditAnchor.objects.update(seq=4)
    _broken(seq=3, says="moved, replaced or forged?")


def test_forged_entry_inserted_in_the_middle_is_named() -> None:
    events = record_chain(5)
    with audit_triggers_disabled():
        for seq in (5, 4, 3):  # from the top, so seq stays unique at every step
            AuditEvent.objects.filter(seq=seq).update(seq=seq + 1)
        forged_event(seq=3, prev_hash=events[1].hash).save()

    _broken(
        seq=3, says="entry 3 (request.approved at 2026-01-05T12:00:00.000000+00:00) was inserted"
    )
    _command_names(3)


def test_forged_entry_appended_past_the_anchor_is_detected() -> None:
    events = record_chain(4)
    forged_event(seq=5, prev_hash=events[-1].hash).save()  # INSERT is allowed; the anchor is not

    _broken(seq=5, says="lies past the anchored head (entry 4)")
    _command_names(5)


def test_swapped_entries_are_detected_at_the_first() -> None:
    record_chain(6)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq=3).update(seq=1000)
        AuditEvent.objects.filter(seq=4).update(seq=3)
        AuditEvent.objects.filter(seq=1000).update(seq=4)

    _broken(seq=3, says="moved, replaced or forged?")
    _command_names(3)


def test_deleted_newest_entry_is_caught_by_the_anchor() -> None:
    record_chain(5)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq=5).delete()

    result = _broken(
        seq=5, says="entry 5 is missing: the anchor records entry 5 as the newest but the log ends"
    )
    assert result.checked == 4
    _command_names(5)


def test_deleted_newest_three_entries_are_caught_by_the_anchor() -> None:
    record_chain(8)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq__gte=6).delete()
    _broken(seq=6, says="entries 6-8 are missing")


def test_rewritten_newest_entry_differs_from_the_anchor() -> None:
    events = record_chain(3)
    with audit_triggers_disabled():
        AuditEvent.objects.filter(seq=3).delete()
        forged_event(seq=3, prev_hash=events[1].hash).save()
    _broken(seq=3, says="its hash differs from the one the anchor recorded")


def test_anchor_of_an_empty_log_must_be_genesis() -> None:
    AuditAnchor.objects.update(hash="f" * 64)
    _broken(seq=None, says="genesis")
    with pytest.raises(CommandError, match="broken at the anchor") as failure:
        call_command("verify_audit")
    assert failure.value.returncode == 1


# The database's unique seq and ORDER BY never yield these streams; the verifier
# still has to name them if a copy of the log, or a future storage, does.
def _stream(length: int) -> list[AuditEvent]:
    events, prev = [], GENESIS_HASH
    for seq in range(1, length + 1):
        event = forged_event(seq=seq, prev_hash=prev, object_id=f"LR-{seq}")
        events.append(event)
        prev = event.hash
    return events


def test_stream_with_a_duplicate_seq_is_detected() -> None:
    events = _stream(4)
    twin = forged_event(seq=3, prev_hash=events[1].hash, object_id="LR-TWIN")
    stream = [*events[:3], twin, events[3]]
    head = AuditAnchor(seq=4, hash=events[-1].hash)

    result = chain_verify(events=stream, anchor=head)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 3, 3)
    assert "seq 3 is out of place or used twice" in result.problem


def test_stream_out_of_order_is_detected() -> None:
    events = _stream(4)
    stream = [events[0], events[2], events[1], events[3]]
    result = chain_verify(events=stream, anchor=AuditAnchor(seq=4, hash=events[-1].hash))
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "entry 2 is missing" in result.problem


def test_valid_stream_verifies() -> None:
    events = _stream(50)
    result = chain_verify(events=iter(events), anchor=AuditAnchor(seq=50, hash=events[-1].hash))
    assert (result.ok, result.checked) == (True, 50)
