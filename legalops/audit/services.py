"""Writes for the audit log: appending an entry is the only one there is."""

import datetime as dt
import decimal
import enum
import json
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models, transaction
from django.utils import timezone

from legalops.audit.models import (
    ANCHOR_PK,
    AuditAnchor,
    AuditEvent,
    canonical_at,
    canonical_json,
    event_hash,
)

SYSTEM_LABEL = "system"
ANONYMOUS_LABEL = "anonymous"
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_MAX_OBJECT_ID = AuditEvent._meta.get_field("object_id").max_length or 255
_MAX_OBJECT_TYPE = AuditEvent._meta.get_field("object_type").max_length or 100
_MAX_ACTION = AuditEvent._meta.get_field("action").max_length or 64
# Python writes integral floats from 1e16 up in exponent form ("1e+16"); jsonb keeps the
# exact number and gives back "10000000000000000", which Python then reads as an int.
_FLOAT_EXPONENT_FROM = 1e16


class AuditAnchorMissing(RuntimeError):
    """The chain head row is gone: appending would restart the chain, so refuse."""


def _text(value: str, *, path: str) -> str:
    # PostgreSQL text and jsonb refuse NUL and lone surrogates; SQLite would store them.
    # Refusing here keeps the two databases identical and the error readable.
    if "\x00" in value:
        raise ValueError(f"audit {path}: NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"audit {path}: not valid Unicode text ({exc.reason})") from None
    return str(value)  # a str subclass (TextChoices) becomes a plain str


def _float(value: float, *, path: str) -> float | int:
    if not math.isfinite(value):
        raise ValueError(f"audit {path}: NaN and infinity are not JSON")
    if value == 0:
        return 0.0  # jsonb has no negative zero
    if value.is_integer() and abs(value) >= _FLOAT_EXPONENT_FROM:
        return int(decimal.Decimal(repr(value)))
    return value


def details_normalize(value: Any, *, path: str = "details") -> Any:
    """Turn ``details`` into plain JSON values that survive storage unchanged.

    The stored JSON and the hashed JSON must be the same document, on SQLite and on
    PostgreSQL's jsonb alike: datetimes (aware, to UTC), dates, times, UUIDs and
    Decimals become strings; enums their value; tuples lists; floats are spelled
    the way jsonb gives them back. Anything else (a model instance, a set, a naive
    datetime, a non-string key) raises TypeError or ValueError naming its path, so
    the action being audited fails rather than committing without its entry.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return details_normalize(value.value, path=path)
    if isinstance(value, str):
        return _text(value, path=path)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float(value, path=path)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"audit {path}: naive datetime {value!r}; use aware UTC")
        return canonical_at(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit {path}: key {key!r} is not a string")
            key = _text(key, path=f"{path} key")
            out[key] = details_normalize(item, path=f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [details_normalize(item, path=f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"audit {path}: {type(value).__name__} is not JSON-serializable")


def _actor(actor: AbstractBaseUser | AnonymousUser | None) -> tuple[int | None, str]:
    if actor is None:
        return None, SYSTEM_LABEL
    if not actor.is_authenticated:
        return None, ANONYMOUS_LABEL
    return int(actor.pk), _text(actor.get_username(), path="actor")


def _object(*, target: models.Model | None, object_type: str, object_id: str) -> tuple[str, str]:
    if target is not None:
        if object_type or object_id:
            raise ValueError("pass either target or object_type/object_id, not both")
        if target.pk is None:
            raise ValueError("cannot audit an unsaved object: it has no primary key yet")
        object_type = f"{target._meta.app_label}.{target._meta.model_name}"
        object_id = str(target.pk)
    if len(object_type) > _MAX_OBJECT_TYPE or len(object_id) > _MAX_OBJECT_ID:
        raise ValueError("audit object_type or object_id is too long")
    return _text(object_type, path="object_type"), _text(object_id, path="object_id")


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry to the chain, inside the caller's transaction.

    Transaction: opens ``transaction.atomic()``, which inside the caller's block is
    a savepoint. The entry therefore commits or rolls back with the action it
    records (R22): call it in the same atomic block as the change, and do not
    swallow its exceptions, or the change could commit unaudited.

    Locking: takes ``SELECT ... FOR UPDATE`` on the anchor row, held until the
    outermost transaction ends, so appends are serialized and the chain never
    forks. Every audited transaction queues on that one row from this call to its
    commit: call it as the last write of the transaction, after the other row locks
    are taken, to keep that window short and the lock order deadlock-free. (SQLite
    ignores FOR UPDATE; there ``BEGIN IMMEDIATE`` already makes writers take turns.)

    Not idempotent: each call appends a new entry. ``actor`` None means the system;
    ``target`` (a saved model instance) sets ``object_type``/``object_id``.
    Raises ValueError/TypeError for bad input and AuditAnchorMissing if the chain
    head row is gone.
    """
    if len(action) > _MAX_ACTION or not ACTION_PATTERN.fullmatch(action):
        raise ValueError(f"audit action {action!r} must be a short dotted name like a.b")
    actor_id, actor_label = _actor(actor)
    object_type, object_id = _object(target=target, object_type=object_type, object_id=object_id)
    normalized = details_normalize(dict(details or {}))
    # Store exactly what was hashed: the parsed canonical text, not the caller's objects.
    stored_details = json.loads(canonical_json(normalized))

    with transaction.atomic():
        anchor = AuditAnchor.objects.select_for_update().filter(pk=ANCHOR_PK).first()
        if anchor is None:
            raise AuditAnchorMissing(
                "the audit anchor row is missing; run verify_audit before writing again"
            )
        # Read the clock under the lock so seq order and time order agree on one host.
        at = timezone.now()
        seq = anchor.seq + 1
        digest = event_hash(
            seq=seq,
            at=at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=stored_details,
            prev_hash=anchor.hash,
        )
        event = AuditEvent.objects.create(
            seq=seq,
            at=at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=stored_details,
            prev_hash=anchor.hash,
            hash=digest,
        )
        AuditAnchor.objects.filter(pk=ANCHOR_PK).update(seq=seq, hash=digest)
    return event
