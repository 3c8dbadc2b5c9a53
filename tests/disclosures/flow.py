"""Take a request from filing to approval through the API, with logs in place."""

from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lookups.ingest import logs_ingest
from lookups.readers import array_entries
from tests.cases.pdfs import SIGNED_ORDER
from tests.cases.requests import court_order
from tests.conftest import Cast
from tests.lookups.helpers import log_entry

TARGET = "+14155550100"


def seed_logs(*, count: int = 40) -> dict[str, list[str]]:
    """Rows in scope, and decoys one step outside it; returns event ids by kind."""
    now = timezone.now().replace(microsecond=0)
    start = now - timedelta(days=10)
    end = now - timedelta(days=2)
    inside, decoys = [], []
    entries = []
    step = (end - start) / (count + 1)
    for index in range(count):
        moment = start + step * (index + 1)
        entry = log_entry(
            source=TARGET, target=f"friend{index}@example.com", occurred_at=moment.isoformat()
        )
        inside.append(entry["event_id"])
        entries.append(entry)
    for decoy in (
        log_entry(source="+14155550101", occurred_at=(start + timedelta(hours=1)).isoformat()),
        log_entry(source=TARGET, occurred_at=(start - timedelta(seconds=1)).isoformat()),
        log_entry(source=TARGET, occurred_at=(end + timedelta(seconds=1)).isoformat()),
        log_entry(
            source="someone@example.com",
            target=TARGET,
            occurred_at=(start + timedelta(hours=2)).isoformat(),
        ),
    ):
        decoys.append(decoy["event_id"])
        entries.append(decoy)
    logs_ingest(entries=array_entries(entries))
    return {
        "inside": inside,
        "decoys": decoys,
        "start": [start.isoformat()],
        "end": [end.isoformat()],
    }


def approved_request(cast: Cast, *, start: str, end: str, **overrides: Any) -> str:
    client = cast.officer_a.client()
    body = court_order(
        identifiers=["+1 (415) 555-0100"],
        date_from=start,
        date_to=end,
        direction="outgoing",
        **overrides,
    )
    created = client.post("/api/v1/requests/", body, format="json").json()
    upload = SimpleUploadedFile("order.pdf", SIGNED_ORDER, content_type="application/pdf")
    client.post(
        f"/api/v1/requests/{created['id']}/documents/", {"file": upload}, format="multipart"
    )
    for reviewer in (cast.reviewer_1, cast.reviewer_2):
        response = reviewer.client().post(
            f"/api/v1/requests/{created['id']}/review/",
            {"decision": "approve", "reason": "Valid."},
            format="json",
        )
        assert response.status_code == 200, response.json()
    return created["id"]
