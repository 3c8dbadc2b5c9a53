"""The scope selector: exactly the rows inside an approved scope, and nothing else.

A row is in scope when its handle on the scope's side is one of the identifiers
(``outgoing``: the source; ``incoming``: the target; ``both``: either) and
``date_from <= occurred_at < date_to + 1 s``. Identifiers are normalized here with
the same function that normalized the stored rows, so any spelling of a handle
finds it and no spelling finds a look-alike.
"""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from lookups.models import Direction, QueryLogEntry
from lookups.normalize import normalize_handle

_END_OF_SECOND = timedelta(seconds=1)
STREAM_CHUNK_ROWS = 2_000


def scope_range_end(date_to: datetime) -> datetime:
    """The exclusive end of an inclusive ``date_to``: through the end of its second."""
    return date_to + _END_OF_SECOND


def _scope_queryset(
    *,
    identifiers: Iterable[str],
    date_from: datetime,
    date_to: datetime,
    direction: Direction | str,
    region: str | None,
) -> QuerySet[QueryLogEntry]:
    for name, moment in (("date_from", date_from), ("date_to", date_to)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    handles = sorted({normalize_handle(raw, region=region).normalized for raw in identifiers})
    direction = Direction(direction)
    if not handles or date_from > date_to:
        return QueryLogEntry.objects.none()
    sides = Q()
    if direction in (Direction.OUTGOING, Direction.BOTH):
        sides |= Q(source__in=handles)
    if direction in (Direction.INCOMING, Direction.BOTH):
        sides |= Q(target__in=handles)
    return QueryLogEntry.objects.filter(
        sides, occurred_at__gte=date_from, occurred_at__lt=scope_range_end(date_to)
    )


def rows_in_scope(
    *,
    identifiers: Iterable[str],
    date_from: datetime,
    date_to: datetime,
    direction: Direction | str,
    fields: Sequence[str] | None = None,
    region: str | None = None,
) -> Iterator[QueryLogEntry]:
    """Stream the rows in scope in time order, ``STREAM_CHUNK_ROWS`` at a time.

    ``fields`` limits the columns loaded (the scope's allowed fields); the keys and
    ``occurred_at`` are always loaded so each row can be re-checked. An invalid
    identifier raises ``HandleError``: it is never silently dropped.
    """
    queryset = _scope_queryset(
        identifiers=identifiers,
        date_from=date_from,
        date_to=date_to,
        direction=direction,
        region=region,
    ).order_by("occurred_at", "event_id")
    if fields is not None:
        queryset = queryset.only("event_id", "occurred_at", "source", "target", *fields)
    return queryset.iterator(chunk_size=STREAM_CHUNK_ROWS)


def count_in_scope(
    *,
    identifiers: Iterable[str],
    date_from: datetime,
    date_to: datetime,
    direction: Direction | str,
    region: str | None = None,
) -> int:
    """How many rows ``rows_in_scope`` would stream: the reviewer's dry run."""
    return _scope_queryset(
        identifiers=identifiers,
        date_from=date_from,
        date_to=date_to,
        direction=direction,
        region=region,
    ).count()
