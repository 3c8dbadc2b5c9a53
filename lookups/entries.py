"""Validate one query-log entry as received and turn it into the row we store.

Every problem is reported per field, in the API's error shape, so the pipeline
that sent a bad row can see exactly what to fix.
"""

import ipaddress
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from django.conf import settings

from lookups.choices import Service
from lookups.normalize import MAX_HANDLE_LENGTH, HandleError, normalize_handle

REQUIRED_FIELDS = (
    "event_id",
    "occurred_at",
    "service",
    "source",
    "target",
    "source_ip",
    "target_reachable",
)
OPTIONAL_FIELDS = ("client",)
ALL_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
_SERVICES = frozenset(Service.values)
_CLIENT_MAX = 200

FieldErrors = dict[str, list[str]]


class LogRow(NamedTuple):
    """A valid entry, normalized; the column order of the stored table."""

    event_id: str  # canonical UUID text
    occurred_at: datetime
    service: str
    source_raw: str
    source: str
    target_raw: str
    target: str
    source_ip: str
    client: str
    target_reachable: bool


class EntryRejected(Exception):
    def __init__(self, errors: FieldErrors) -> None:
        super().__init__(errors)
        self.errors = errors


_FIELD_SET = frozenset(ALL_FIELDS)


def entry_parse(data: Any, *, region: str | None = None) -> LogRow:
    """Return the normalized row for one received entry, or raise ``EntryRejected``.

    This is the definition of a valid entry. Batch ingest runs it only for what
    :class:`EntryFastPath` does not recognize; here too a well-formed entry takes a
    straight-line path, and anything unusual the thorough one, which collects every
    field's error.
    """
    region = region or settings.LOOKUPS_DEFAULT_REGION
    if type(data) is dict and data.keys() <= _FIELD_SET:
        try:
            return LogRow(
                _parse_event_id(data["event_id"], region),
                _parse_occurred_at(data["occurred_at"], region),
                _parse_service(data["service"], region),
                *_parse_handle(data["source"], region),
                *_parse_handle(data["target"], region),
                _parse_ip(data["source_ip"], region),
                _parse_client(data.get("client"), region),
                _parse_reachable(data["target_reachable"], region),
            )
        except (KeyError, ValueError, TypeError):
            pass
    return _entry_parse_thorough(data, region=region)


def _entry_parse_thorough(data: Any, *, region: str) -> LogRow:
    if not isinstance(data, dict):
        raise EntryRejected({"non_field_errors": ["each entry must be a JSON object"]})
    errors: FieldErrors = {}
    for name in REQUIRED_FIELDS:
        if data.get(name) is None:
            errors[name] = ["This field is required."]
    unknown = sorted(set(data) - set(ALL_FIELDS))
    for name in unknown:
        errors[str(name)] = ["Unknown field."]

    values: dict[str, Any] = {}
    for name, parse in _PARSERS.items():
        if name in errors or name not in data:
            continue
        try:
            values[name] = parse(data[name], region)
        except (ValueError, TypeError) as exc:
            errors[name] = [str(exc)]
    if errors:
        raise EntryRejected(errors)
    source_raw, source = values["source"]
    target_raw, target = values["target"]
    return LogRow(
        event_id=values["event_id"],
        occurred_at=values["occurred_at"],
        service=values["service"],
        source_raw=source_raw,
        source=source,
        target_raw=target_raw,
        target=target,
        source_ip=values["source_ip"],
        client=values.get("client", ""),
        target_reachable=values["target_reachable"],
    )


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _parse_event_id(value: Any, region: str | None) -> str:
    """The canonical text form (lower-case 8-4-4-4-12) of a UUID."""
    if not isinstance(value, str):
        raise ValueError("must be a UUID string")
    # A regex check of the canonical spelling is much cheaper than building a UUID
    # object per row; other spellings (upper case, braces) go through the parser.
    if _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value[:60]!r} is not a UUID") from None


def _parse_occurred_at(value: Any, region: str | None) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:60]!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("must carry a UTC offset (e.g. 'Z' or '+00:00')")
    return moment.astimezone(UTC)


def _parse_service(value: Any, region: str | None) -> str:
    if value not in _SERVICES:
        raise ValueError(f"must be one of {', '.join(sorted(_SERVICES))}")
    return value


def _parse_handle(value: Any, region: str | None) -> tuple[str, str]:
    if not isinstance(value, str):
        raise ValueError("must be a phone number or email address string")
    # The raw spelling is stored as received, spaces and all, so it must fit its
    # column too (the normalizer measures the trimmed value).
    if len(value) > MAX_HANDLE_LENGTH:
        raise ValueError(f"{value[:80]!r} is longer than {MAX_HANDLE_LENGTH} characters")
    try:
        return value, normalize_handle(value, region=region).normalized
    except HandleError as exc:
        raise ValueError(f"{value[:80]!r} {exc}") from None


@lru_cache(maxsize=131_072)
def canonical_ip(value: str) -> str:
    if "%" in value:
        raise ValueError(f"{value[:60]!r}: zone-scoped addresses are not accepted")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value[:60]!r} is not an IPv4 or IPv6 address") from None
    if address.version == 6 and address.ipv4_mapped:
        # The ORM's spelling (GenericIPAddressField cleans IPv6 with
        # django.utils.ipv6) and PostgreSQL's, where Python's own is ::ffff:102:304.
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _parse_ip(value: Any, region: str | None) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an IP address string")
    return canonical_ip(value.strip())


def _parse_client(value: Any, region: str | None) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > _CLIENT_MAX:
        raise ValueError(f"is longer than {_CLIENT_MAX} characters")
    if not value.isprintable():
        raise ValueError("contains control or invisible characters")
    return value


def _parse_reachable(value: Any, region: str | None) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


# The usual spelling of a UTC timestamp, exactly: ASCII digits only, one to six
# fraction digits, "Z" or "+00:00".
_USUAL_UTC = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.([0-9]{1,6}))?(?:Z|\+00:00)"
)


def utc_parts(value: str) -> tuple[str, str, str] | None:
    """(date, clock, microseconds) of a UTC timestamp spelled
    ``YYYY-MM-DDTHH:MM:SS[.f]`` (one to six fraction digits) with ``Z`` or ``+00:00``,
    the spelling almost every log uses; None for any other spelling, and for an
    invalid date or time. The microseconds are six digits, or empty when zero, as
    ``datetime.isoformat`` and ``str`` print them."""
    usual = _USUAL_UTC.fullmatch(value)
    if usual is None:
        return None
    try:
        datetime.fromisoformat(value)  # the range of every field
    except ValueError:
        return None
    digits = usual[1]
    micro = digits.ljust(6, "0") if digits and digits.strip("0") else ""
    return value[:10], value[11:19], micro


class EntryFastPath:
    """A common entry straight to the encoded row a codec stores, for batch ingest.

    Ingest runs this for every line of a file, and an entry's own values repeat little
    but its handles, address and client repeat a lot: those are checked once and
    remembered. Returns None for anything it does not recognize at once; the caller
    then runs :func:`entry_parse`, which defines what is valid and says what is wrong,
    so this never accepts an entry that ``entry_parse`` rejects, nor encodes one
    differently (``tests/lookups/test_entry_fast_path.py``).
    """

    # Remembered values per kind; a full memory starts again, so it stays bounded.
    CACHE_ENTRIES = 65_536

    def __init__(
        self,
        *,
        region: str,
        text: Callable[[str], str],
        assemble: Callable[..., Any],
    ) -> None:
        self._region = region
        self._text = text
        self._assemble = assemble
        self._handles: dict[str, tuple[str, str]] = {}  # raw -> (text of raw, normalized)
        self._ips: dict[str, str] = {}
        self._clients: dict[str, str] = {}

    def __call__(self, data: Any) -> Any:
        if type(data) is not dict or not data.keys() <= _FIELD_SET:
            return None
        try:
            event_id = data["event_id"]
            moment = data["occurred_at"]
            service = data["service"]
            source = data["source"]
            target = data["target"]
            ip = data["source_ip"]
            reachable = data["target_reachable"]
        except KeyError:
            return None
        client = data.get("client")
        if (
            type(event_id) is not str
            or type(moment) is not str
            or type(service) is not str
            or type(source) is not str
            or type(target) is not str
            or type(ip) is not str
            or type(reachable) is not bool
            or (client is not None and type(client) is not str)
            or service not in _SERVICES
            or not _CANONICAL_UUID.fullmatch(event_id)
        ):
            return None
        when = utc_parts(moment)
        source_parts = self._handles.get(source) or self._handle(source)
        target_parts = self._handles.get(target) or self._handle(target)
        address = self._ips.get(ip) or self._ip(ip)
        client_text = "" if client is None else self._clients.get(client) or self._client(client)
        if None in (when, source_parts, target_parts, address, client_text):
            return None
        return self._assemble(
            event_id,
            *when,
            service,
            *source_parts,
            *target_parts,
            address,
            client_text,
            reachable,
        )

    def _remember(self, memory: dict[str, Any], key: str, value: Any) -> Any:
        if len(memory) >= self.CACHE_ENTRIES:
            memory.clear()
        memory[key] = value
        return value

    def _handle(self, value: str) -> tuple[str, str] | None:
        try:
            raw, normalized = _parse_handle(value, self._region)
        except ValueError:
            return None
        return self._remember(self._handles, value, (self._text(raw), normalized))

    def _ip(self, value: str) -> str | None:
        try:
            return self._remember(self._ips, value, _parse_ip(value, self._region))
        except ValueError:
            return None

    def _client(self, value: str) -> str | None:
        try:
            checked = _parse_client(value, self._region)
        except ValueError:
            return None
        # "" is falsy: an empty client is looked up each time, which is cheap
        return self._remember(self._clients, value, self._text(checked))


_PARSERS = {
    "event_id": _parse_event_id,
    "occurred_at": _parse_occurred_at,
    "service": _parse_service,
    "source": _parse_handle,
    "target": _parse_handle,
    "source_ip": _parse_ip,
    "client": _parse_client,
    "target_reachable": _parse_reachable,
}
