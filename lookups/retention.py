"""``logs_purge``: delete rows past the retention window, never a held one."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lookups.holds import held_condition, retention_lock
from lookups.models import PurgeRun, QueryLogEntry


def retention_cutoff(*, now: datetime) -> datetime:
    return now - timedelta(days=settings.LOOKUPS_RETENTION_DAYS)


def logs_purge(*, now: datetime | None = None, batch_size: int | None = None) -> PurgeRun:
    """Delete, in batches, every row older than the window that no active hold covers.

    Holds are judged at ``now`` (expired and released ones protect nothing). Each
    batch is its own transaction under the retention lock; the run is recorded.
    """
    as_of = now or timezone.now()
    if as_of.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    size = batch_size or settings.LOOKUPS_PURGE_BATCH_ROWS
    cutoff = retention_cutoff(now=as_of)
    run = PurgeRun.objects.create(as_of=as_of, cutoff=cutoff)
    past_retention = QueryLogEntry.objects.filter(occurred_at__lt=cutoff)
    deletable = past_retention.exclude(held_condition(at=as_of))
    deleted = 0
    while True:
        with transaction.atomic():
            retention_lock()
            keys = list(deletable.values_list("event_id", "occurred_at")[:size])
            if not keys:
                break
            # Re-apply the hold test in the DELETE itself: the batch is decided
            # and removed under one lock, so a hold cannot slip in between.
            count, _ = (
                deletable.filter(event_id__in=[event_id for event_id, _ in keys])
                .exclude(held_condition(at=as_of))
                .delete()
            )
        deleted += count
        if count == 0:  # nothing left that the lock-holding test agrees to delete
            break
    run.deleted = deleted
    run.kept_held = past_retention.count()
    run.finished_at = timezone.now()
    run.save(update_fields=["deleted", "kept_held", "finished_at"])
    return run
