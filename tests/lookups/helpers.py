"""Small builders for query-log entries as the pipeline sends them."""

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson


def log_entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-20T14:03:11.250Z",
        "service": "imessage",
        "source": "+14155550100",
        "target": "friend@example.com",
        "source_ip": "203.0.113.7",
        "client": "iPhone15,2 iOS 18.1",
        "target_reachable": True,
    }
    entry.update(overrides)
    return entry


def jsonl(entries: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(entry) + b"\n" for entry in entries)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
