"""The query-log store and the holds that keep rows past retention."""

import uuid
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.db.models.lookups import Exact, In
from django.utils import timezone

from lookups.choices import Direction, Service
from lookups.normalize import MAX_HANDLE_LENGTH

__all__ = ["Direction", "Hold", "HoldIdentifier", "PurgeRun", "QueryLogEntry", "Service"]

# Handles compare byte-wise ("C" collation on PostgreSQL): equality is all the scope
# needs, and it keeps the two hot B-tree indexes cheap to build and to load into.
HANDLE_COLLATION = {"postgresql": "C"}


class HandleField(models.CharField):
    """A normalized handle, compared byte-wise on PostgreSQL."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_length", MAX_HANDLE_LENGTH)
        super().__init__(*args, **kwargs)

    def db_parameters(self, connection):  # type: ignore[no-untyped-def]
        params = super().db_parameters(connection)
        collation = HANDLE_COLLATION.get(connection.vendor)
        if collation and params.get("type"):
            params["collation"] = collation
        return params


# On PostgreSQL the handle indexes hold hashtextextended(handle, 0), a 64-bit key
# (migration 0004). Two handles can share a key, so these lookups match the key,
# which reaches the index, and the handle itself, which keeps exactly its rows; on
# SQLite they are plain equality and IN. The seed is written out, not sent as a
# parameter: the planner uses the index only for this exact expression.
_KEY = "hashtextextended({}, 0)"


@HandleField.register_lookup
class KeyedExact(Exact):
    """``handle__keyed=value``: the handle is ``value``, found through its key."""

    lookup_name = "keyed"

    def as_postgresql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        params = (*lhs_params, *rhs_params)
        return (
            f"({_KEY.format(lhs)} = {_KEY.format(rhs)} AND {lhs} = {rhs})",
            (*params, *params),
        )


@HandleField.register_lookup
class KeyedIn(In):
    """``handle__keyed_in=values``: the handle is one of ``values`` (strings), found
    through their keys."""

    lookup_name = "keyed_in"

    def as_postgresql(self, compiler, connection):  # type: ignore[no-untyped-def]
        exact, exact_params = super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        # each value must be a plain parameter (a handle) to be keyed one by one
        if rhs != "(" + ", ".join(["%s"] * len(rhs_params)) + ")":
            raise TypeError("keyed_in takes a list of handle strings")
        keys = ", ".join([_KEY.format("%s")] * len(rhs_params))
        return (
            f"({_KEY.format(lhs)} IN ({keys}) AND {exact})",
            (*lhs_params, *rhs_params, *exact_params),
        )


class QueryLogEntry(models.Model):
    """One capability lookup: at ``occurred_at``, ``source`` asked about ``target``.

    The key is (event_id, occurred_at), not a surrogate id, so the table can become
    a set of daily partitions on PostgreSQL without changing any code that reads it.
    ``event_id`` is unique on its own too (a constraint, until partitioning moves
    that guarantee to the ingest service's lock). On PostgreSQL both are one B-tree,
    ``PRIMARY KEY (event_id) INCLUDE (occurred_at)`` (migration 0003): uniqueness of
    event_id makes the pair unique, and each row inserted updates one index less.
    Changing either there needs a hand-written migration (see 0003), and ``ON
    CONFLICT`` must name ``(event_id)``.
    """

    pk = models.CompositePrimaryKey("event_id", "occurred_at")
    event_id = models.UUIDField()
    occurred_at = models.DateTimeField()
    service = models.CharField(max_length=16, choices=Service.choices)
    source_raw = models.CharField(max_length=MAX_HANDLE_LENGTH)
    source = HandleField()
    target_raw = models.CharField(max_length=MAX_HANDLE_LENGTH)
    target = HandleField()
    source_ip = models.GenericIPAddressField(unpack_ipv4=False)
    client = models.CharField(max_length=200, blank=True, default="")
    target_reachable = models.BooleanField()

    class Meta:
        verbose_name = "query-log entry"
        verbose_name_plural = "query-log entries"
        constraints = [
            # event_id is the entry's identity: the database itself refuses a second
            # row with it, whatever its time (the key alone would allow that).
            models.UniqueConstraint(fields=["event_id"], name="lookups_qle_event_unique"),
        ]
        # On PostgreSQL these two are on (the handle's key, occurred_at) instead, under
        # other names (migration 0004); changing them there needs a hand-written
        # migration.
        indexes = [
            models.Index(fields=["source", "occurred_at"], name="lookups_qle_source_time"),
            models.Index(fields=["target", "occurred_at"], name="lookups_qle_target_time"),
        ]
        # The purge's time index is made per database in migration 0002: BRIN on
        # PostgreSQL (rows arrive in time order, so it is tiny and nearly free to
        # maintain), a B-tree on SQLite.

    def __str__(self) -> str:
        return f"{self.occurred_at.isoformat()} {self.source} -> {self.target}"


class HoldQuerySet(models.QuerySet["Hold"]):
    def active(self, *, at: datetime | None = None) -> "HoldQuerySet":
        moment = at or timezone.now()
        return self.filter(released_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=moment)
        )


class Hold(models.Model):
    """Identifiers x time range that the retention purge must not delete.

    A hold covers a row when either the row's source or its target is one of the
    identifiers (holding both sides is the safe reading of any request) and
    ``date_from <= occurred_at < date_to + 1 s``. ``expires_at`` null means the hold
    ends only when staff release it (compulsory process); a preservation expires.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    date_from = models.DateTimeField()
    date_to = models.DateTimeField(help_text="Inclusive through the end of this second.")
    reason = models.TextField()
    placed_by = models.CharField(
        max_length=200, help_text="What placed the hold, e.g. the legal request number."
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True, default="")

    objects = HoldQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_from__lte=models.F("date_to")), name="lookups_hold_range_order"
            ),
        ]

    def __str__(self) -> str:
        return f"hold {self.placed_by} {self.date_from:%Y-%m-%d}..{self.date_to:%Y-%m-%d}"

    @property
    def ends_before(self) -> datetime:
        return self.date_to + timedelta(seconds=1)


class HoldIdentifier(models.Model):
    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, related_name="identifiers")
    handle = HandleField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hold", "handle"], name="lookups_hold_handle_unique")
        ]
        indexes = [models.Index(fields=["handle"], name="lookups_holdid_handle")]

    def __str__(self) -> str:
        return self.handle


class PurgeRun(models.Model):
    """What one retention run removed and kept, for the record."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField(help_text="The 'now' the retention window was measured from.")
    cutoff = models.DateTimeField(help_text="Rows before this instant are past retention.")
    deleted = models.BigIntegerField(default=0)
    kept_held = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge {self.as_of:%Y-%m-%d %H:%M}: -{self.deleted} kept {self.kept_held}"
