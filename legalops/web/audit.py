"""The audit viewer for custodians and administrators: the chain, filtered, and its verifier.

Verifying runs ``legalops.audit.verify.audit_verify`` over the whole chain (outside
any transaction, as it requires) and records who ran it and what it found.
"""

import json
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from legalops.audit.models import AuditEvent
from legalops.audit.selectors import audit_head
from legalops.audit.services import audit_record
from legalops.audit.verify import AuditVerification, audit_verify
from legalops.cases.models import LegalRequest
from legalops.web.access import staff_required
from legalops.web.forms import UswdsForm

AUDIT_ROLES = ("custodian", "admin")
PAGE_SIZE = 50


class AuditFilterForm(UswdsForm):
    action = forms.CharField(
        label="Action", required=False, max_length=64, help_text="Or its start, e.g. request."
    )
    actor = forms.CharField(label="Who (username)", required=False, max_length=150)
    subject = forms.CharField(
        label="About", required=False, max_length=255, help_text="A request number or an object id."
    )
    date_from = forms.DateField(
        label="From (UTC date)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To (UTC date)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The last day is before the first.")
        return data


def audit_events_filtered(
    *, action: str = "", actor: str = "", subject: str = "", date_from=None, date_to=None
) -> QuerySet[AuditEvent]:  # type: ignore[no-untyped-def]
    """Newest first. ``subject`` is a request number (its entries and its hold's) or
    any object id."""
    events = AuditEvent.objects.order_by("-seq")
    if action:
        events = events.filter(action__startswith=action.strip())
    if actor:
        events = events.filter(actor_label=actor.strip())
    if subject:
        subject = subject.strip()
        # A request number stands for the request and its hold (placed and released
        # under the hold's own id).
        numbered = LegalRequest.objects.filter(number=subject.upper()).values_list("pk", "hold_id")
        ids = [str(pk) for pair in numbered for pk in pair if pk is not None] or [subject]
        events = events.filter(object_id__in=ids)
    if date_from:
        events = events.filter(at__gte=datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to:
        events = events.filter(
            at__lt=datetime.combine(date_to, time.min, tzinfo=UTC) + timedelta(days=1)
        )
    return events


def _page(request: HttpRequest, *, verification: AuditVerification | None = None) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = (
        audit_events_filtered(**filters)
        if not form.is_bound or form.is_valid()
        else AuditEvent.objects.none()
    )
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        # Shown as stored: the JSON the chain hashes, not Python's spelling of it.
        event.details_json = json.dumps(event.details, indent=2, sort_keys=True, ensure_ascii=False)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "head": audit_head(),
        "verification": verification,
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "web/audit/list.html", context, status=status)


@staff_required(*AUDIT_ROLES)
def audit_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff_required(*AUDIT_ROLES)
def audit_verify_run(request: HttpRequest) -> HttpResponse:
    verification = audit_verify()
    audit_record(
        actor=request.user,
        action="audit.verified",
        details={
            "ok": verification.ok,
            "checked": verification.checked,
            "first_bad_seq": verification.first_bad_seq,
            "problem": verification.problem,
        },
    )
    return _page(request, verification=verification)
