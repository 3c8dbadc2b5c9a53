"""Appending: the chain links up, rolls back with its transaction, stores what it hashed."""

import decimal
import enum
import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from legalops.audit.models import GENESIS_HASH, AuditAnchor, AuditEvent
from legalops.audit.selectors import audit_events_for, audit_head
from legalops.audit.services import AuditAnchorMissing, audit_record
from legalops.audit.verify import audit_verify
from tests.audit.helpers import record_chain

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


class Colour(enum.StrEnum):
    RED = "red"


def test_empty_log_verifies() -> None:
    result = audit_verify()
    assert result.ok, result.problem
    assert result.checked == 0
    assert audit_head() is not None
    assert (audit_head().seq, audit_head().hash) == (0, GENESIS_HASH)


def test_chain_links_and_verifies() -> None:
    events = record_chain(5)

    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    for stored in AuditEvent.objects.all():
        assert stored.computed_hash() == stored.hash
    anchor = AuditAnchor.objects.get()
    assert (anchor.seq, anchor.hash) == (5, events[-1].hash)
    result = audit_verify()
    assert (result.ok, result.checked, result.first_bad_seq, result.problem) == (True, 5, None, "")


def test_actor_and_target_are_recorded() -> None:
    user = get_user_model().objects.create_user(username="rhea")

    by_user = audit_record(actor=user, action="account.viewed", target=user)
    by_system = audit_record(actor=None, action="retention.purged", details={"rows": 3})
    by_anonymous = audit_record(actor=AnonymousUser(), action="login.failed")

    assert (by_user.actor_id, by_user.actor_label) == (user.pk, "rhea")
    assert (by_user.object_type, by_user.object_id) == ("auth.user", str(user.pk))
    assert (by_system.actor_id, by_system.actor_label) == (None, "system")
    assert (by_anonymous.actor_id, by_anonymous.actor_label) == (None, "anonymous")
    assert by_user.at.tzinfo is not None
    assert list(audit_events_for(target=user)) == [by_user]
    assert audit_verify().ok


def test_deleting_the_actor_leaves_the_log_alone() -> None:
    user = get_user_model().objects.create_user(username="gone")
    audit_record(actor=user, action="account.viewed")

    user.delete()  # no foreign key: nothing cascades, nothing blocks

    event = AuditEvent.objects.get()
    assert event.actor_label == "gone"
    assert audit_verify().ok


def test_rolled_back_transaction_leaves_no_entry_and_the_anchor_unchanged() -> None:
    record_chain(2)
    head = AuditAnchor.objects.get()

    with pytest.raises(RuntimeError), transaction.atomic():
        get_user_model().objects.create_user(username="never")
        audit_record(actor=None, action="account.created", details={"username": "never"})
        raise RuntimeError("the action fails after its audit entry was written")

    assert AuditEvent.objects.count() == 2
    assert not get_user_model().objects.filter(username="never").exists()
    after = AuditAnchor.objects.get()
    assert (after.seq, after.hash) == (head.seq, head.hash)
    # The next entry takes the seq the rolled-back one had: no gap.
    assert audit_record(actor=None, action="request.submitted").seq == 3
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_rolled_back_outer_transaction_takes_its_entry_along() -> None:
    audit_record(actor=None, action="request.submitted")  # committed (autocommit)
    head = AuditAnchor.objects.get()

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="request.approved")
        audit_record(actor=None, action="package.queued")
        raise RuntimeError("boom")

    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1]
    after = AuditAnchor.objects.get()
    assert (after.seq, after.hash) == (head.seq, head.hash)
    assert audit_verify().ok


def test_details_round_trip_as_plain_json_and_verify() -> None:
    moment = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    details = {
        "when": moment,
        "day": date(2026, 3, 1),
        "clock": time(8, 0),
        "id": ident,
        "amount": decimal.Decimal("1.10"),
        "colour": Colour.RED,
        "pair": (1, "two"),
        "nested": {"list": [moment, None, True], "text": 'Zürich ☃ "quoted" \\'},
        "big": 2**70,
        "floats": [0.1, 1e-7, 1e16, 1.5e300, -0.0, 2.5],
    }

    event = audit_record(actor=None, action="request.submitted", details=details)

    expected = {
        "when": "2026-03-01T14:30:15.123456+00:00",
        "day": "2026-03-01",
        "clock": "08:00:00",
        "id": "12345678-1234-5678-1234-567812345678",
        "amount": "1.10",
        "colour": "red",
        "pair": [1, "two"],
        "nested": {
            "list": ["2026-03-01T14:30:15.123456+00:00", None, True],
            "text": 'Zürich ☃ "quoted" \\',
        },
        "big": 2**70,
        "floats": [0.1, 1e-7, 10**16, 15 * 10**299, 0.0, 2.5],
    }
    assert event.details == expected
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.details == expected
    assert stored.computed_hash() == stored.hash
    assert audit_verify().ok


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"when": datetime(2026, 1, 1)}, "naive datetime"),
        ({"ids": {1, 2}}, "set is not JSON-serializable"),
        ({1: "x"}, "is not a string"),
        ({"x": float("nan")}, "NaN"),
        ({"x": "a\x00b"}, "NUL"),
        ({"user": object()}, "details.user: object"),
    ],
)
def test_unserializable_details_fail_the_action(details: dict, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        audit_record(actor=None, action="request.submitted", details=details)

    assert not AuditEvent.objects.exists()
    assert AuditAnchor.objects.get().seq == 0


@pytest.mark.parametrize(
    "action", ["", "submitted", "Request.Submitted", "request..x", "request." + "x" * 60]
)
def test_action_must_be_a_short_dotted_name(action: str) -> None:
    with pytest.raises(ValueError, match="dotted"):
        audit_record(actor=None, action=action)


def test_target_and_explicit_object_are_exclusive() -> None:
    user = get_user_model().objects.create_user(username="x")
    with pytest.raises(ValueError, match="not both"):
        audit_record(actor=None, action="a.b", target=user, object_type="auth.user")
    with pytest.raises(ValueError, match="unsaved"):
        audit_record(actor=None, action="a.b", target=get_user_model()(username="y"))


def test_missing_anchor_refuses_to_restart_the_chain() -> None:
    record_chain(2)
    AuditAnchor.objects.all().delete()  # the anchor has no trigger: its loss is detected

    with pytest.raises(AuditAnchorMissing):
        audit_record(actor=None, action="request.submitted")

    result = audit_verify()
    assert not result.ok
    assert result.first_bad_seq is None
    assert "anchor row is missing" in result.problem


def test_timestamps_are_utc_and_in_seq_order() -> None:
    events = record_chain(3)
    assert all(e.at.utcoffset() == timedelta(0) for e in AuditEvent.objects.all())
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert events[0].at <= datetime.now(UTC)
