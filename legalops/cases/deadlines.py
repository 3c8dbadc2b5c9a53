"""When a response is due: a configurable period per process type.

Day-based periods end at 17:00 UTC on their last day (the close of business the
agency is told); emergencies count in hours from receipt. A return date on the
process that falls earlier wins, because it is what the court ordered.
"""

from datetime import UTC, datetime, time, timedelta

from django.conf import settings

from legalops.cases.rules import ProcessType

_END_OF_BUSINESS = time(17, 0, tzinfo=UTC)
_RETURN_DATE_TYPES = frozenset({ProcessType.SUBPOENA, ProcessType.COURT_ORDER})


def due_at_compute(
    *, process_type: str, received_at: datetime, expires_on: datetime | None = None
) -> datetime:
    hours = settings.LEGALOPS_DUE_HOURS[process_type]
    if hours < 24:
        return received_at + timedelta(hours=hours)
    last_day = (received_at + timedelta(hours=hours)).astimezone(UTC).date()
    due = datetime.combine(last_day, _END_OF_BUSINESS)
    if process_type in _RETURN_DATE_TYPES and expires_on is not None:
        return_date = datetime.combine(expires_on, _END_OF_BUSINESS)  # type: ignore[arg-type]
        if received_at < return_date < due:
            return return_date
    return due
