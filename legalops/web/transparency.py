"""The transparency page: the report for a half-year (or any range), charts and CSV."""

from datetime import UTC, date, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from legalops.cases.rules import ProcessType
from legalops.transparency.api import csv_response
from legalops.transparency.selectors import (
    MAX_REPORT_DAYS,
    OUTCOMES,
    ProcessTypeCounts,
    TransparencyReport,
    transparency_report,
)
from legalops.web.access import CASE_ROLES, staff_required
from legalops.web.charts import Chart, stacked_columns, stacked_rows
from legalops.web.forms import UswdsForm

OUTCOME_LABELS = {
    "data_produced": "data produced",
    "no_data": "no data",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "pending": "pending",
}
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def half_year(day: date) -> tuple[date, date]:
    """The half-year (Jan-Jun or Jul-Dec) that ``day`` falls in."""
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30)
    return date(day.year, 7, 1), date(day.year, 12, 31)


def recent_halves(today: date, count: int = 4) -> list[tuple[str, date, date]]:
    halves = []
    first, last = half_year(today)
    for _ in range(count):
        name = f"{'H1' if first.month == 1 else 'H2'} {first.year}"
        halves.append((name, first, last))
        first, last = half_year(first - timedelta(days=1))
    return halves


class ReportRangeForm(UswdsForm):
    date_from = forms.DateField(
        label="From (UTC date)", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To (UTC date, included)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The last day is before the first.")
            elif (end - start).days > MAX_REPORT_DAYS:
                self.add_error("date_to", f"One report covers at most {MAX_REPORT_DAYS} days.")
        return data


def _month_label(month: str, index: int) -> str:
    year, number = month.split("-")
    abbr = MONTH_ABBR[int(number) - 1]
    return f"{abbr} {year}" if index == 0 or number == "01" else abbr


def _charts(report: TransparencyReport) -> dict[str, Chart]:
    labels = {row.process_type: row.label for row in report.by_type}
    by_month = stacked_columns(
        groups=[
            (
                _month_label(m.month, i),
                [
                    *((t, labels[t], n) for t, n in m.by_type.items()),
                    ("preservation", "Preservation", m.preservations),
                ],
            )
            for i, m in enumerate(report.by_month)
        ]
    )
    by_type = stacked_rows(
        groups=[
            (row.label, [(o, OUTCOME_LABELS[o], row.outcomes[o]) for o in OUTCOMES])
            for row in report.by_type
        ]
        + [("Preservation", [("preservation", "preserved", report.preservations.requests)])]
    )
    return {"by_month": by_month, "by_type": by_type}


def _table_line(row: ProcessTypeCounts) -> dict[str, object]:
    """One table row: the counts, and each outcome as (key, words, count)."""
    return {"row": row, "cells": [(o, OUTCOME_LABELS[o], row.outcomes[o]) for o in OUTCOMES]}


def _range(request: HttpRequest) -> tuple[ReportRangeForm, date, date]:
    today = timezone.now().astimezone(UTC).date()
    first, last = half_year(today)
    if "date_from" in request.GET or "date_to" in request.GET:
        form = ReportRangeForm(request.GET)
        if form.is_valid():
            return form, form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        return form, first, last
    return ReportRangeForm(initial={"date_from": first, "date_to": last}), first, last


def _invalid_range(request: HttpRequest, form: Any) -> HttpResponse:
    """The page with the range form's errors next to its fields, and no report."""
    return render(
        request,
        "web/transparency/report.html",
        {"form": form, "report": None, "halves": recent_halves(timezone.now().date())},
        status=400,
    )


@staff_required(*CASE_ROLES)
def transparency_page(request: HttpRequest) -> HttpResponse:
    form, first, last = _range(request)
    if form.is_bound and not form.is_valid():
        return _invalid_range(request, form)
    report = transparency_report(date_from=first, date_to=last)
    series = [(row.process_type, row.label) for row in report.by_type]
    context = {
        "form": form,
        "report": report,
        "table": [_table_line(row) for row in report.by_type],
        "total": _table_line(report.total),
        "months": [
            {
                "month": m.month,
                "cells": [(key, label, m.by_type[key]) for key, label in series]
                + [("preservation", "Preservation request", m.preservations)],
            }
            for m in report.by_month
        ],
        "charts": _charts(report),
        "outcomes": [(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        "series_types": [(row.process_type, row.label) for row in report.by_type]
        + [("preservation", str(ProcessType.PRESERVATION.label))],
        "halves": recent_halves(timezone.now().astimezone(UTC).date()),
    }
    return render(request, "web/transparency/report.html", context)


@staff_required(*CASE_ROLES)
def transparency_csv_download(request: HttpRequest) -> HttpResponse:
    form, first, last = _range(request)
    if form.is_bound and not form.is_valid():
        return _invalid_range(request, form)
    return csv_response(transparency_report(date_from=first, date_to=last))
