import pytest
from rest_framework.test import APIClient

from legalops.accounts.roles import Role
from legalops.accounts.services import staff_create, token_revoke
from lookups.api import MAX_ROWS
from lookups.models import QueryLogEntry
from tests.lookups.helpers import jsonl, log_entry

pytestmark = pytest.mark.django_db
URL = "/api/v1/logs/"


def _client(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_json_array_stores_good_rows_and_names_bad_ones(ingest_token: str) -> None:
    body = [log_entry(), log_entry(target="nobody"), log_entry()]
    response = _client(ingest_token).post(URL, body, format="json")
    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert response.json()["duplicates"] == 0
    assert [r["index"] for r in response.json()["rejected"]] == [1]
    assert "target" in response.json()["rejected"][0]["errors"]
    again = _client(ingest_token).post(URL, body, format="json")
    assert again.json()["accepted"] == 0
    assert again.json()["duplicates"] == 2
    assert QueryLogEntry.objects.count() == 2


def test_json_lines_body(ingest_token: str) -> None:
    response = _client(ingest_token).generic(
        "POST", URL, jsonl([log_entry(), log_entry()]), content_type="application/x-ndjson"
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}


def test_too_many_rows_is_413_and_stores_nothing(ingest_token: str) -> None:
    body = jsonl([log_entry()] * (MAX_ROWS + 1))
    response = _client(ingest_token).generic("POST", URL, body, content_type="application/x-ndjson")
    assert response.status_code == 413
    assert "at most" in response.json()["detail"]
    assert QueryLogEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [(b"", "empty"), (b"{not json", "not valid JSON"), (b'{"a": 1}', "JSON array")],
)
def test_malformed_bodies_are_400(ingest_token: str, body: bytes, detail: str) -> None:
    response = _client(ingest_token).generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_only_the_ingest_role_may_write() -> None:
    _, reviewer = staff_create(username="rev", role=Role.REVIEWER)
    assert _client(None).post(URL, [log_entry()], format="json").status_code == 401
    assert _client("lo_wrong").post(URL, [log_entry()], format="json").status_code == 401
    assert _client(reviewer.key).post(URL, [log_entry()], format="json").status_code == 403
    assert QueryLogEntry.objects.count() == 0


def test_revoked_token_is_refused() -> None:
    _, issued = staff_create(username="pipe", role=Role.INGEST)
    token_revoke(token=issued.token)
    response = _client(issued.key).post(URL, [log_entry()], format="json")
    assert response.status_code == 401


def test_route_is_exact_and_errors_are_json(ingest_token: str) -> None:
    response = _client(ingest_token).post("/api/v1/logs", [log_entry()], format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_tokens_are_stored_only_as_hashes() -> None:
    user, issued = staff_create(username="pipe2", role=Role.INGEST)
    stored = user.api_tokens.get()
    assert issued.key not in (stored.key_hash, stored.key_hint)
    assert len(stored.key_hash) == 64


def test_healthz_reports_database_and_broker(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] in {"ok", "in-process"}


def test_schema_publishes_the_ingest_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    from legalops.accounts.services import staff_create as make

    _, issued = make(username="schema-reader", role=Role.REVIEWER)
    response = _client(issued.key).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/logs/" in response.content
