"""Scopes: what may be disclosed, and the rule that approval only ever narrows it.

A scope is identifiers (normalized) x range (``date_from <= t < date_to + 1 s``)
x direction x categories x fields. The request asks for one; the first approval
may narrow it; the second may narrow it further. Nothing here widens.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from legalops.cases.models import LegalRequest
from lookups.normalize import HandleError, normalize_handle

# What a query-log row can disclose; a scope picks among these.
LOG_FIELDS = (
    "occurred_at",
    "service",
    "source",
    "target",
    "source_ip",
    "client",
    "target_reachable",
)
_DIRECTION_COVERS = {
    "both": {"both", "outgoing", "incoming"},
    "outgoing": {"outgoing"},
    "incoming": {"incoming"},
}


class ScopeError(Exception):
    """A proposed scope that is invalid or wider than allowed; ``errors`` is a 400 body."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Scope:
    identifiers: tuple[str, ...]
    date_from: datetime
    date_to: datetime
    direction: str
    categories: tuple[str, ...]
    fields: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "identifiers": list(self.identifiers),
            "date_from": _iso(self.date_from),
            "date_to": _iso(self.date_to),
            "direction": self.direction,
            "categories": list(self.categories),
            "fields": list(self.fields),
        }

    def same_as(self, other: "Scope") -> bool:
        """Equal as sets: restating a scope in another order narrows nothing."""
        return (
            set(self.identifiers) == set(other.identifiers)
            and (self.date_from, self.date_to, self.direction)
            == (other.date_from, other.date_to, other.direction)
            and set(self.categories) == set(other.categories)
            and set(self.fields) == set(other.fields)
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Scope":
        return cls(
            identifiers=tuple(data["identifiers"]),
            date_from=datetime.fromisoformat(data["date_from"]),
            date_to=datetime.fromisoformat(data["date_to"]),
            direction=data["direction"],
            categories=tuple(data["categories"]),
            fields=tuple(data["fields"]),
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def scope_requested(*, request: LegalRequest, allowed_categories: set[str]) -> Scope:
    """The most a request can get: what it asked for, clipped at receipt, without
    the categories its findings block."""
    date_from = request.date_from
    date_to = request.date_to
    if date_from is None or date_to is None:
        raise ScopeError({"scope": ["The request has no closed date range to approve."]})
    return Scope(
        identifiers=tuple(i.normalized for i in request.identifiers.order_by("position")),
        date_from=date_from,
        date_to=min(date_to, request.received_at),
        direction=request.direction,
        categories=tuple(c for c in request.data_categories if c in allowed_categories),
        fields=LOG_FIELDS,
    )


def scope_propose(*, proposal: dict[str, Any] | None, base: Scope, region: str) -> Scope:
    """Read a reviewer's proposed scope against ``base``: omitted parts keep the
    base; anything wider than the base is a ``ScopeError`` naming the part."""
    if not proposal:
        return base
    errors: dict[str, Any] = {}

    identifiers = base.identifiers
    if "identifiers" in proposal:
        normalized: list[str] = []
        bad: dict[str, list[str]] = {}
        for index, raw in enumerate(proposal["identifiers"] or []):
            try:
                handle = normalize_handle(str(raw), region=region).normalized
            except HandleError as exc:
                bad[str(index)] = [f"{raw!r} {exc}"]
                continue
            if handle not in base.identifiers:
                bad[str(index)] = [f"{handle} is not in the scope being narrowed (widening)."]
            normalized.append(handle)
        if bad:
            errors["identifiers"] = bad
        elif not normalized:
            errors["identifiers"] = ["Keep at least one identifier, or reject the request."]
        identifiers = tuple(dict.fromkeys(normalized))

    date_from = _moment(proposal, "date_from", base.date_from, errors)
    date_to = _moment(proposal, "date_to", base.date_to, errors)
    if "date_from" not in errors and date_from < base.date_from:
        errors["date_from"] = [f"Starts before {_iso(base.date_from)} (widening)."]
    if "date_to" not in errors and date_to > base.date_to:
        errors["date_to"] = [f"Ends after {_iso(base.date_to)} (widening)."]
    if not errors.keys() & {"date_from", "date_to"} and date_from > date_to:
        errors["date_from"] = ["date_from is after date_to."]

    direction = proposal.get("direction", base.direction)
    if direction not in _DIRECTION_COVERS:
        errors["direction"] = ["Use outgoing, incoming or both."]
    elif direction not in _DIRECTION_COVERS[base.direction]:
        errors["direction"] = [f"{base.direction} cannot become {direction} (widening)."]

    categories = tuple(proposal.get("categories", base.categories))
    if extra := [c for c in categories if c not in base.categories]:
        errors["categories"] = [f"{', '.join(extra)} cannot be approved here."]
    elif not categories:
        errors["categories"] = ["Keep at least one category, or reject the request."]

    fields = tuple(proposal.get("fields", base.fields))
    if extra := [f for f in fields if f not in base.fields]:
        errors["fields"] = [f"Not in the scope being narrowed: {', '.join(map(str, extra))}."]
    elif not fields:
        errors["fields"] = ["Keep at least one field."]

    if errors:
        raise ScopeError({"scope": errors})
    return Scope(identifiers, date_from, date_to, direction, categories, fields)


def _moment(
    proposal: dict[str, Any], name: str, default: datetime, errors: dict[str, Any]
) -> datetime:
    if name not in proposal or proposal[name] in (None, ""):
        return default
    value = proposal[name]
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        errors[name] = ["Not an ISO-8601 timestamp."]
        return default
    if moment.tzinfo is None:
        errors[name] = ["Give the time zone offset."]
        return default
    return moment
