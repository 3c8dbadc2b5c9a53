"""Log search for legal staff: one handle's lookups over a few days, for a stated reason.

Every search is tied to the request it serves or, rarely, a written operational
justification, and each one (each page of results too) is an audit entry with its
parameters. Results are capped and paged, and the page offers no way to export
them or to add them to a package: disclosure happens only through an approved
request's package, whose scope two people signed off.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from legalops.audit.services import audit_record
from legalops.cases.models import SETTLED_STATUSES, LegalRequest
from legalops.web.access import CASE_ROLES, staff_required
from legalops.web.forms import UswdsForm
from lookups.models import Direction, QueryLogEntry
from lookups.normalize import HandleError, normalize_handle
from lookups.selectors import count_in_scope, rows_in_scope

PAGE_SIZE = 50
MAX_RESULTS = 500  # past this, narrow the search: this is a lookup, not an export
MAX_DAYS = 31
MIN_JUSTIFICATION = 20


class LogSearchForm(UswdsForm):
    identifier = forms.CharField(
        label="Phone number or email address",
        max_length=320,
        help_text="Any spelling: it is normalized.",
    )
    date_from = forms.DateField(
        label="From (UTC date)", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To (UTC date, included)", widget=forms.DateInput(attrs={"type": "date"})
    )
    direction = forms.ChoiceField(
        label="Direction",
        choices=[
            (Direction.BOTH.value, "Both: lookups made by it and of it"),
            (Direction.OUTGOING.value, "Outgoing: lookups it made"),
            (Direction.INCOMING.value, "Incoming: lookups of it"),
        ],
        initial=Direction.BOTH.value,
    )
    request_number = forms.CharField(
        label="Request this search serves",
        required=False,
        max_length=20,
        help_text="Its number, e.g. LR-2026-000042.",
    )
    justification = forms.CharField(
        label="Operational justification",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Only when no request: why this search is needed "
            f"(at least {MIN_JUSTIFICATION} characters)."
        ),
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_identifier(self) -> str:
        raw = self.cleaned_data["identifier"]
        try:
            return normalize_handle(raw).normalized
        except HandleError as exc:
            raise forms.ValidationError(f"{raw!r} {exc}") from exc

    def clean_request_number(self) -> LegalRequest | None:
        number = self.cleaned_data["request_number"].strip().upper()
        if not number:
            return None
        found = LegalRequest.objects.filter(number=number).first()
        if found is None:
            raise forms.ValidationError(f"No request is numbered {number}.")
        return found

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The last day is before the first.")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("date_to", f"Search at most {MAX_DAYS} days at a time.")
        justification = (data.get("justification") or "").strip()
        data["justification"] = justification
        served = data.get("request_number")
        if served is not None and not justification:
            self._check_served(served, data)
        if "request_number" in data and data["request_number"] is None:
            if not justification:
                self.add_error(
                    "justification",
                    "Name the request this search serves, or write the operational "
                    "justification for it: a search without a reason is refused.",
                )
            elif len(justification) < MIN_JUSTIFICATION:
                self.add_error(
                    "justification",
                    f"Write the justification out (at least {MIN_JUSTIFICATION} characters).",
                )
        return data

    def _check_served(self, served: LegalRequest, data: dict) -> None:
        """A request justifies only a search inside it: while it is open, for one of
        its identifiers, within its range. Anything else needs a written reason."""
        elsewhere = " Otherwise write an operational justification."
        if served.status in SETTLED_STATUSES:
            self.add_error(
                "request_number",
                f"{served.number} is {served.status.replace('_', ' ')}: a settled request "
                "justifies no more searches." + elsewhere,
            )
            return
        handle = data.get("identifier")
        identifiers = set(served.identifiers.values_list("normalized", flat=True))
        if handle and handle not in identifiers:
            self.add_error(
                "identifier", f"{handle} is not one of {served.number}'s identifiers." + elsewhere
            )
        start, end = data.get("date_from"), data.get("date_to")
        if served.date_from is None or served.date_to is None or not (start and end):
            return
        first = served.date_from.astimezone(UTC).date()
        last = served.date_to.astimezone(UTC).date()
        if start < first or end > last:
            self.add_error(
                "date_from",
                f"{served.number} covers {first.isoformat()} to {last.isoformat()} (UTC): "
                "search inside its range." + elsewhere,
            )


@dataclass(frozen=True)
class LogSearchResult:
    rows: list[QueryLogEntry]
    total: int
    shown_total: int  # capped at MAX_RESULTS
    page: int
    pages: int

    @property
    def capped(self) -> bool:
        return self.total > self.shown_total


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def logs_search(
    *,
    actor: object,
    handle: str,
    date_from: date,
    date_to: date,
    direction: str,
    request: LegalRequest | None,
    justification: str,
    page: int,
) -> LogSearchResult:
    """Run one page of a search and record it in the audit log, with its parameters,
    in the same transaction: a search that cannot be audited does not run."""
    scope = {
        "identifiers": [handle],
        "date_from": _start(date_from),
        # Inclusive through the last second of the last day (the scope convention).
        "date_to": _start(date_to) + timedelta(days=1) - timedelta(seconds=1),
        "direction": direction,
    }
    with transaction.atomic():
        total = count_in_scope(**scope)
        shown_total = min(total, MAX_RESULTS)
        pages = max(1, -(-shown_total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        offset = (page - 1) * PAGE_SIZE
        stream = rows_in_scope(**scope)
        try:
            rows = list(islice(stream, offset, min(offset + PAGE_SIZE, shown_total)))
        finally:
            stream.close()  # a page ends the read early: let go of the cursor now
        details = {
            "identifier": handle,
            "date_from": date_from,
            "date_to": date_to,
            "direction": direction,
            "request": request.number if request else None,
            "justification": justification,
            "page": page,
            "rows_total": total,
            "rows_returned": len(rows),
        }
        if request is not None:
            audit_record(actor=actor, action="logs.searched", target=request, details=details)
        else:
            audit_record(
                actor=actor,
                action="logs.searched",
                object_type="lookups.querylogentry",
                details=details,
            )
    return LogSearchResult(rows=rows, total=total, shown_total=shown_total, page=page, pages=pages)


def _page_link(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return "?" + query.urlencode()


@staff_required(*CASE_ROLES)
def log_search(request: HttpRequest) -> HttpResponse:
    submitted = "identifier" in request.GET
    today = timezone.now().astimezone(UTC).date()
    if submitted:
        form = LogSearchForm(request.GET)
    else:
        # A link from a request's page may name the request: the form starts tied to it.
        form = LogSearchForm(
            initial={
                "date_from": today - timedelta(days=6),
                "date_to": today,
                "direction": "both",
                "request_number": request.GET.get("request_number", "")[:20],
            }
        )
    result = None
    links = {}
    if submitted and form.is_valid():
        data = form.cleaned_data
        result = logs_search(
            actor=request.user,
            handle=data["identifier"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            direction=data["direction"],
            request=data["request_number"],
            justification=data["justification"],
            page=data["page"] or 1,
        )
        if result.page > 1:
            links["previous"] = _page_link(request, result.page - 1)
        if result.page < result.pages:
            links["next"] = _page_link(request, result.page + 1)
    status = 400 if submitted and not form.is_valid() else 200
    context = {
        "form": form,
        "result": result,
        "links": links,
        "page_size": PAGE_SIZE,
        "max_results": MAX_RESULTS,
    }
    return render(request, "web/logsearch/search.html", context, status=status)
