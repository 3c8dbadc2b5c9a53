"""Reads of the audit log for request code (history views, reports, tests)."""

from django.db import models
from django.db.models import QuerySet

from legalops.audit.models import ANCHOR_PK, AuditAnchor, AuditEvent


def audit_events_for(
    *, target: models.Model | None = None, object_type: str = "", object_id: str = ""
) -> QuerySet[AuditEvent]:
    """The entries about one object, oldest first: ``target``, or its type and id."""
    if target is not None:
        object_type = f"{target._meta.app_label}.{target._meta.model_name}"
        object_id = str(target.pk)
    if not object_type:
        raise ValueError("pass target, or object_type (and object_id)")
    events = AuditEvent.objects.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events.order_by("seq")


def audit_head() -> AuditAnchor | None:
    """The anchored chain head (seq 0 and the genesis hash while the log is empty)."""
    return AuditAnchor.objects.filter(pk=ANCHOR_PK).first()
