"""The holds page: what the purge must spare, why, until when, and what it would take.

Releasing goes through the one hold-release service (the API's path too), with a
reason that lands in the audit log.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from legalops.api_errors import Conflict
from legalops.cases.services import IntakeError, request_hold_release
from legalops.web.access import CASE_ROLES, staff_required
from legalops.web.forms import UswdsForm
from lookups.models import Hold
from lookups.retention import retention_cutoff
from lookups.selectors import count_in_scope


class HoldReleaseForm(UswdsForm):
    reason = forms.CharField(
        label="Reason for releasing",
        error_messages={"required": "Give the reason for releasing the hold."},
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit log, e.g. the matter closed or the order was vacated.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give the reason for releasing the hold.")
        return reason


@dataclass(frozen=True)
class PurgeCountdown:
    """What the purge would do to a hold's rows if the hold were not there."""

    text: str
    urgent: bool  # within a day


def _day(moment: datetime) -> str:
    return f"{moment:%b} {moment.day}"


def hold_purge_countdown(*, hold: Hold, now: datetime) -> PurgeCountdown:
    """The oldest retained day in the hold's range and when its rows would purge.

    A row is purged once it is older than the retention window, so the rows of day
    D are gone by the end of D plus the window: that is the moment shown.
    """
    cutoff = retention_cutoff(now=now)
    if hold.ends_before <= cutoff:
        return PurgeCountdown(
            text="every row in its range is past retention: they exist only while this "
            "hold stands and purge at the first run after it ends",
            urgent=True,
        )
    oldest = max(hold.date_from, cutoff).astimezone(UTC)
    end_of_day = datetime(oldest.year, oldest.month, oldest.day, tzinfo=UTC) + timedelta(days=1)
    purge_at = end_of_day + (now - cutoff)
    hours = max(1, math.ceil((purge_at - now) / timedelta(hours=1)))
    span = f"{hours} h" if hours < 48 else f"{hours // 24} days"
    text = f"rows of {_day(oldest)} purge in {span} unless held"
    if hold.expires_at is not None and hold.expires_at < purge_at:
        text += f" (this hold expires first, on {_day(hold.expires_at.astimezone(UTC))})"
    return PurgeCountdown(text=text, urgent=hours <= 24)


@dataclass(frozen=True)
class HoldRow:
    hold: Hold
    request: object | None
    identifiers: list[str]
    countdown: PurgeCountdown
    form: HoldReleaseForm
    rows_held: int  # rows of its identifiers (either side) in its range, now
    rows_past_retention: int  # of those, the ones only a hold keeps


def _held_counts(*, hold: Hold, identifiers: list[str], now: datetime) -> tuple[int, int]:
    if not identifiers:
        return 0, 0
    # A hold covers both sides of a lookup, like the purge's own test of it.
    scope = {"identifiers": identifiers, "direction": "both", "date_from": hold.date_from}
    held = count_in_scope(**scope, date_to=hold.date_to)
    cutoff = retention_cutoff(now=now)
    if hold.date_from >= cutoff:
        return held, 0
    # The purge takes rows before the cutoff; a scope's date_to is inclusive to its second.
    before_cutoff = min(hold.date_to, cutoff - timedelta(seconds=1))
    past = count_in_scope(**scope, date_to=before_cutoff) if before_cutoff >= hold.date_from else 0
    return held, past


def _rows(*, now: datetime, failed: tuple[str, HoldReleaseForm] | None = None) -> list[HoldRow]:
    holds = Hold.objects.active(at=now).prefetch_related("identifiers", "requests")
    rows = []
    for hold in holds.order_by("created_at"):
        form = (
            failed[1]
            if failed and failed[0] == str(hold.pk)
            else HoldReleaseForm(prefix=str(hold.pk))
        )
        identifiers = [i.handle for i in hold.identifiers.all()]
        held, past = _held_counts(hold=hold, identifiers=identifiers, now=now)
        rows.append(
            HoldRow(
                hold=hold,
                request=next(iter(hold.requests.all()), None),
                identifiers=identifiers,
                countdown=hold_purge_countdown(hold=hold, now=now),
                form=form,
                rows_held=held,
                rows_past_retention=past,
            )
        )
    return rows


def _page(
    request: HttpRequest, *, failed: tuple[str, HoldReleaseForm] | None = None
) -> HttpResponse:
    now = timezone.now()
    context = {
        "rows": _rows(now=now, failed=failed),
        "retention_days": settings.LOOKUPS_RETENTION_DAYS,
        "now": now,
    }
    return render(request, "web/holds/list.html", context, status=400 if failed else 200)


@staff_required(*CASE_ROLES)
def hold_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff_required(*CASE_ROLES)
def hold_release(request: HttpRequest, hold_id: str) -> HttpResponse:
    try:
        hold = Hold.objects.get(pk=hold_id)
    except Hold.DoesNotExist as exc:
        raise Http404("No such hold.") from exc
    form = HoldReleaseForm(request.POST, prefix=str(hold.pk))
    if not form.is_valid():
        return _page(request, failed=(str(hold.pk), form))
    try:
        request_hold_release(hold=hold, actor=request.user, reason=form.cleaned_data["reason"])
    except IntakeError as exc:
        for message in exc.errors.get("reason", []):
            form.add_error("reason", str(message))
        return _page(request, failed=(str(hold.pk), form))
    except Conflict as exc:
        messages.error(request, str(exc.detail))
        return redirect("web:holds")
    messages.success(
        request, f"Released the hold placed by {hold.placed_by}. The purge may now delete its rows."
    )
    return redirect("web:holds")
