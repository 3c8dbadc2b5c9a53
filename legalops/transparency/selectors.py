"""The transparency report (API.md "Transparency"): counted by ``received_at``.

Disclosing process (subpoenas, orders, warrants, emergencies) and preservations
are counted apart: a preservation discloses nothing, so folding it into the
disclosure outcomes would make every half-year look more forthcoming than it was.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count

from legalops.cases.models import LegalRequest, Outcome, Status
from legalops.cases.rules import DISCLOSING, ProcessType

# The outcomes a disclosing request can end in, in the order the report prints them;
# ``pending`` is every request not settled yet (in review, waiting, processing...).
OUTCOMES = ("data_produced", "no_data", "rejected", "withdrawn", "pending")
# The longest range one report covers: past it the month series stops being a chart.
MAX_REPORT_DAYS = 10 * 366


@dataclass
class ProcessTypeCounts:
    process_type: str
    label: str
    requests: int = 0
    identifiers: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))


@dataclass
class PreservationCounts:
    requests: int = 0
    identifiers: int = 0
    active: int = 0  # the hold still stands
    expired: int = 0  # the hold ran out


@dataclass
class MonthCounts:
    month: str  # YYYY-MM
    by_type: dict[str, int]
    preservations: int = 0

    @property
    def disclosures(self) -> int:
        return sum(self.by_type.values())


@dataclass
class TransparencyReport:
    date_from: date
    date_to: date
    by_type: list[ProcessTypeCounts]
    preservations: PreservationCounts
    by_month: list[MonthCounts]

    @property
    def total(self) -> ProcessTypeCounts:
        """Every disclosing process type added up (preservations stay apart)."""
        total = ProcessTypeCounts(process_type="total", label="All disclosing process")
        for row in self.by_type:
            total.requests += row.requests
            total.identifiers += row.identifiers
            for outcome in OUTCOMES:
                total.outcomes[outcome] += row.outcomes[outcome]
        return total


def _months(date_from: date, date_to: date) -> list[str]:
    months, year, month = [], date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _outcome_of(outcome: str | None) -> str:
    return outcome if outcome in OUTCOMES else "pending"


def transparency_report(*, date_from: date, date_to: date) -> TransparencyReport:
    """Requests received from ``date_from`` through ``date_to`` (UTC dates, inclusive).

    Identifiers specified: per request, its distinct normalized identifiers (two
    spellings of one number count once), summed over the requests.
    """
    if date_from > date_to:
        raise ValueError("date_from is after date_to")
    by_type = {
        value: ProcessTypeCounts(process_type=value, label=str(ProcessType(value).label))
        for value in DISCLOSING
    }
    preservations = PreservationCounts()
    months = {
        m: MonthCounts(month=m, by_type=dict.fromkeys(by_type, 0))
        for m in _months(date_from, date_to)
    }
    rows = (
        LegalRequest.objects.filter(
            received_at__date__gte=date_from, received_at__date__lte=date_to
        )
        .annotate(distinct_identifiers=Count("identifiers__normalized", distinct=True))
        .values_list("process_type", "outcome", "status", "received_at", "distinct_identifiers")
        .order_by()
    )
    for process_type, outcome, status, received_at, identifiers in rows.iterator():
        month = months[received_at.strftime("%Y-%m")]
        if process_type == ProcessType.PRESERVATION:
            preservations.requests += 1
            preservations.identifiers += identifiers
            if status == Status.EXPIRED:
                preservations.expired += 1
            elif outcome == Outcome.PRESERVED:
                preservations.active += 1
            month.preservations += 1
            continue
        counts = by_type[process_type]
        counts.requests += 1
        counts.identifiers += identifiers
        counts.outcomes[_outcome_of(outcome)] += 1
        month.by_type[process_type] += 1
    return TransparencyReport(
        date_from=date_from,
        date_to=date_to,
        by_type=list(by_type.values()),
        preservations=preservations,
        by_month=list(months.values()),
    )


CSV_HEADER = ("section", "process_type", "requests", "identifiers_specified", *OUTCOMES)


def transparency_csv(*, report: TransparencyReport) -> str:
    """The report as CSV: one row per process type, the total, then preservations
    (their own columns: active and expired holds) and the months."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period", report.date_from.isoformat(), report.date_to.isoformat()])
    writer.writerow(CSV_HEADER)
    for row in [*report.by_type, report.total]:
        writer.writerow(
            [
                "disclosures",
                row.process_type,
                row.requests,
                row.identifiers,
                *(row.outcomes[o] for o in OUTCOMES),
            ]
        )
    kept = report.preservations
    writer.writerow([])
    writer.writerow(
        ["section", "process_type", "requests", "identifiers_specified", "active", "expired"]
    )
    writer.writerow(
        [
            "preservations",
            "preservation",
            kept.requests,
            kept.identifiers,
            kept.active,
            kept.expired,
        ]
    )
    writer.writerow([])
    writer.writerow(["section", "month", *by_type_names(report), "preservation"])
    for month in report.by_month:
        writer.writerow(["by_month", month.month, *month.by_type.values(), month.preservations])
    return out.getvalue()


def by_type_names(report: TransparencyReport) -> list[str]:
    return [row.process_type for row in report.by_type]
