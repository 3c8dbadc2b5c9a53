"""Holds: identifiers x time range that the purge must not delete.

Hold writes and purge batches take the same lock, so a hold placed while a purge
runs either lands before a batch (and that batch keeps its rows) or after it.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.utils import timezone

from lookups.models import Hold, HoldIdentifier
from lookups.normalize import normalize_handle

_RETENTION_LOCK_KEY = 0x4C4F_5052  # "LOPR": shared by hold writes and purge batches


def retention_lock() -> None:
    """Serialize with the purge; call inside a transaction (no-op on SQLite,
    whose writers are serialized already)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_RETENTION_LOCK_KEY])


def hold_place(
    *,
    identifiers: Iterable[str],
    date_from: datetime,
    date_to: datetime,
    reason: str,
    placed_by: str,
    expires_at: datetime | None = None,
    region: str | None = None,
) -> Hold:
    """Place a hold. Identifiers are normalized; an invalid one raises ``HandleError``."""
    handles = sorted({normalize_handle(raw, region=region).normalized for raw in identifiers})
    if not handles:
        raise ValueError("a hold needs at least one identifier")
    if date_from > date_to:
        raise ValueError("a hold's date_from must not be after its date_to")
    if not reason.strip():
        raise ValueError("a hold needs a reason")
    with transaction.atomic():
        retention_lock()
        hold = Hold.objects.create(
            date_from=date_from,
            date_to=date_to,
            reason=reason,
            placed_by=placed_by,
            expires_at=expires_at,
        )
        HoldIdentifier.objects.bulk_create(
            HoldIdentifier(hold=hold, handle=handle) for handle in handles
        )
    return hold


def hold_release(*, hold: Hold, reason: str, at: datetime | None = None) -> bool:
    """Release a hold; False if it was released already (compare-and-set)."""
    if not reason.strip():
        raise ValueError("releasing a hold needs a reason")
    updated = Hold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_at=at or timezone.now(), release_reason=reason
    )
    return updated == 1


def held_condition(*, at: datetime) -> Exists:
    """True for a query-log row that an active hold covers at instant ``at``."""
    covering = (
        HoldIdentifier.objects.filter(hold__in=Hold.objects.active(at=at))
        .filter(Q(handle=OuterRef("source")) | Q(handle=OuterRef("target")))
        .annotate(
            hold_ends_before=ExpressionWrapper(
                F("hold__date_to") + timedelta(seconds=1), output_field=DateTimeField()
            )
        )
        .filter(
            hold__date_from__lte=OuterRef("occurred_at"),
            hold_ends_before__gt=OuterRef("occurred_at"),
        )
    )
    return Exists(covering)
