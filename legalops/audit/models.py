"""The audit log's tables and the one definition of an entry's hash.

Write through ``legalops.audit.services.audit_record`` only. The database itself
refuses UPDATE and DELETE on events (triggers installed by migration 0002), and
``legalops.audit.verify.audit_verify`` detects whatever gets past that.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models import Q

GENESIS_HASH = "0" * 64  # the prev_hash of entry 1
ANCHOR_PK = 1


def canonical_json(value: Any) -> str:
    """The one JSON spelling the chain hashes: sorted keys, no spaces, raw UTF-8.

    ``allow_nan=False`` because NaN and Infinity are not JSON: PostgreSQL's jsonb
    would refuse them, so they must never reach a hash either.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_at(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds: ``2026-03-01T09:30:00.000000+00:00``."""
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be aware (UTC)")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """Hex SHA-256 of one entry; the format is a contract with every past entry.

    The input is the canonical JSON (``canonical_json``) of the array
    ``[seq, at, actor_id, actor_label, action, object_type, object_id, details,
    prev_hash]`` encoded as UTF-8, ``at`` spelled by ``canonical_at``. An array
    rather than joined strings, so no field's content can imitate a separator.
    Changing any of this breaks verification of every stored entry.
    """
    payload = [
        seq,
        canonical_at(at),
        actor_id,
        actor_label,
        action,
        object_type,
        object_id,
        details,
        prev_hash,
    ]
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


class AuditEvent(models.Model):
    """One entry of the chain. Append-only: never updated, never deleted.

    ``actor_id`` is a plain integer, not a foreign key: deleting a user must neither
    cascade into the log nor be blocked by it, and the entry must keep naming who
    acted (``actor_label``) after that user is gone.
    """

    seq = models.BigIntegerField(unique=True, help_text="Position in the chain, 1..n.")
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, help_text='Username, or "system".')
    action = models.CharField(max_length=64, help_text="Dotted verb, e.g. request.submitted.")
    object_type = models.CharField(max_length=100, blank=True, help_text="app_label.model_name")
    object_id = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.CheckConstraint(condition=Q(seq__gte=1), name="audit_event_seq_positive"),
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
            models.Index(fields=["action", "at"], name="audit_event_action_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def describe(self) -> str:
        """How the verifier and the command name an entry to a person."""
        return f"entry {self.seq} ({self.action} at {canonical_at(self.at)})"

    def computed_hash(self) -> str:
        return event_hash(
            seq=self.seq,
            at=self.at,
            actor_id=self.actor_id,
            actor_label=self.actor_label,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            details=self.details,
            prev_hash=self.prev_hash,
        )


class AuditAnchor(models.Model):
    """The chain head, kept outside the event table: the single row pk=1.

    Updated in the same transaction as every append, so deleting the newest events
    leaves it pointing past the table's end. Its row lock (SELECT ... FOR UPDATE)
    is also what serializes writers, so two transactions can never fork the chain.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=ANCHOR_PK)
    seq = models.BigIntegerField(default=0, help_text="seq of the newest entry; 0 when empty.")
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=ANCHOR_PK), name="audit_anchor_single_row"),
        ]

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
