"""Small presentation helpers for the staff pages: clocks, status words and tags."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django import template
from django.utils import timezone

from legalops.cases.models import SETTLED_STATUSES, LegalRequest

register = template.Library()

# USWDS tag colours by status: calm for settled, strong for what needs a person.
_STATUS_TAG = {
    "received": "web-tag--new",
    "in_review": "web-tag--active",
    "awaiting_second_approval": "web-tag--active",
    "info_requested": "web-tag--waiting",
    "approved": "web-tag--active",
    "processing": "web-tag--active",
    "ready": "web-tag--ready",
    "failed": "web-tag--alert",
    "rejected": "web-tag--settled",
    "released": "web-tag--settled",
    "delivered": "web-tag--settled",
    "closed": "web-tag--settled",
    "preserved": "web-tag--settled",
    "expired": "web-tag--settled",
}


@register.filter
def words(value: str | None) -> str:
    """``awaiting_second_approval`` -> ``awaiting second approval``."""
    return (value or "").replace("_", " ")


@register.filter
def status_tag(status: str) -> str:
    return _STATUS_TAG.get(status, "")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.filter
def clock(due_at: datetime | None, paused_at: datetime | None = None) -> str:
    """How long until (or since) a request is due, as a person says it."""
    if due_at is None:
        return ""
    if paused_at is not None:
        return "clock paused (waiting on the agency)"
    now = timezone.now()
    if due_at >= now:
        return f"due in {_span(due_at - now)}"
    return f"overdue by {_span(now - due_at)}"


@register.filter
def request_clock(request: LegalRequest) -> str:
    """A request's clock; a settled request has none left to run."""
    if request.status in SETTLED_STATUSES:
        return "settled"
    return clock(request.due_at, request.clock_paused_at)


@register.filter
def order_time(moment: datetime | None, offset_minutes: int = 0) -> str:
    """A moment as the order wrote it: in its own UTC offset."""
    if moment is None:
        return ""
    zone = dt_timezone(timedelta(minutes=offset_minutes))
    local = moment.astimezone(zone)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{local:%Y-%m-%d %H:%M:%S} {sign}{hours:02d}:{minutes:02d}"
