"""The transparency report (API.md "Transparency") over requests filed and settled
through the API: every outcome, preservations apart, the range by received_at."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from legalops.cases.models import LegalRequest
from legalops.cases.services import preservations_expire
from legalops.disclosures.services import package_generate
from legalops.transparency.selectors import transparency_report
from tests.cases.pdfs import SIGNED_ORDER
from tests.cases.requests import court_order, emergency, preservation
from tests.conftest import Cast
from tests.disclosures.flow import seed_logs

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def _file(cast: Cast, body: dict[str, Any], *, signed: bool = True) -> str:
    client = cast.officer_a.client()
    created = client.post("/api/v1/requests/", body, format="json")
    assert created.status_code == 201, created.json()
    request_id = created.json()["id"]
    if signed:
        upload = SimpleUploadedFile("order.pdf", SIGNED_ORDER, content_type="application/pdf")
        added = client.post(
            f"/api/v1/requests/{request_id}/documents/", {"file": upload}, format="multipart"
        )
        assert added.status_code == 201, added.json()
    return request_id


def _review(cast: Cast, request_id: str, decision: str, **body: Any) -> None:
    for reviewer in (
        (cast.reviewer_1, cast.reviewer_2) if decision == "approve" else (cast.reviewer_1,)
    ):
        answer = reviewer.client().post(
            f"/api/v1/requests/{request_id}/review/",
            {"decision": decision, "reason": "Reviewed against the signed order.", **body},
            format="json",
        )
        assert answer.status_code == 200, answer.json()


def _produce(cast: Cast, request_id: str, capture) -> None:  # type: ignore[no-untyped-def]
    package_generate(request_id=request_id)
    with capture(execute=True):
        released = cast.custodian.client().post(f"/api/v1/requests/{request_id}/release/")
    assert released.status_code == 200, released.json()


def _received(request_id: str, at: datetime) -> None:
    # Filing stamps received_at with the clock; the report's range is about when
    # process arrived, so a few filings are moved to the edges being tested.
    LegalRequest.objects.filter(pk=request_id).update(received_at=at)


@pytest.fixture
def filed(cast: Cast, django_capture_on_commit_callbacks) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One request in each outcome, all received today (UTC), plus two outside."""
    seeded = seed_logs(count=5)
    ids: dict[str, str] = {}
    with django_capture_on_commit_callbacks(execute=False):
        ids["produced"] = _file(
            cast,
            court_order(
                reference="TR-ORDER-1",
                # Three spellings, two handles: identifiers specified counts 2.
                identifiers=["+1 (415) 555-0100", "+14155550100", "Target@Example.com"],
                date_from=seeded["start"][0],
                date_to=seeded["end"][0],
            ),
        )
        _review(cast, ids["produced"], "approve")
        ids["no_data"] = _file(
            cast,
            court_order(
                reference="TR-ORDER-2",
                identifiers=["+1 415 555 0199"],
                date_from=seeded["start"][0],
                date_to=seeded["end"][0],
            ),
        )
        _review(cast, ids["no_data"], "approve")
    _produce(cast, ids["produced"], django_capture_on_commit_callbacks)
    _produce(cast, ids["no_data"], django_capture_on_commit_callbacks)

    ids["rejected"] = _file(
        cast,
        court_order(
            reference="TR-SUBP-3",
            process_type="subpoena",
            legal_authority="18 U.S.C. 2703(c)(2)",
            identifiers=["+14155550111", "x.target@example.org"],
        ),
    )
    _review(cast, ids["rejected"], "reject")
    ids["withdrawn"] = _file(
        cast,
        court_order(
            reference="TR-WARRANT-4",
            process_type="search_warrant",
            legal_authority="18 U.S.C. 2703(a)",
            identifiers=["+14155550112"],
        ),
    )
    withdrawn = cast.officer_a.client().post(f"/api/v1/requests/{ids['withdrawn']}/withdraw/")
    assert withdrawn.status_code == 200, withdrawn.json()
    ids["pending_emergency"] = _file(
        cast, emergency(reference="TR-EMERG-5", identifiers=["+14155550113"]), signed=False
    )
    ids["pending_order"] = _file(
        cast, court_order(reference="TR-ORDER-6", identifiers=["a@example.com", "b@example.com"])
    )
    ids["kept"] = _file(
        cast, preservation(reference="TR-PRES-7", identifiers=["+14155550114"]), signed=False
    )
    ids["kept_expired"] = _file(
        cast,
        preservation(reference="TR-PRES-8", identifiers=["+14155550115", "c@example.com"]),
        signed=False,
    )
    # The second preservation's hold ran out (it was received 91 days before).
    expired_at = NOW - timedelta(days=91)
    LegalRequest.objects.get(pk=ids["kept_expired"]).hold.__class__.objects.filter(
        requests__pk=ids["kept_expired"]
    ).update(expires_at=expired_at + timedelta(days=90))
    assert preservations_expire() == 1

    ids["before"] = _file(cast, court_order(reference="TR-OLD-9", identifiers=["+14155550116"]))
    ids["after"] = _file(cast, court_order(reference="TR-NEW-10", identifiers=["+14155550117"]))
    today = NOW.astimezone(UTC).date()
    start_of_today = datetime(today.year, today.month, today.day, tzinfo=UTC)
    _received(ids["before"], start_of_today - timedelta(microseconds=1))
    _received(ids["after"], start_of_today + timedelta(days=1))
    # On the first and last instant of the range: counted.
    _received(ids["pending_order"], start_of_today)
    _received(ids["pending_emergency"], start_of_today + timedelta(days=1, microseconds=-1))
    return ids


def _today() -> str:
    return NOW.astimezone(UTC).date().isoformat()


def _counts(requests: int, identifiers: int, **outcomes: int) -> dict[str, Any]:
    names = ("data_produced", "no_data", "rejected", "withdrawn", "pending")
    return {
        "requests": requests,
        "identifiers_specified": identifiers,
        "outcomes": {name: outcomes.get(name, 0) for name in names},
    }


def test_every_outcome_is_counted_by_process_type(cast: Cast, filed: dict[str, str]) -> None:
    answer = cast.reviewer_2.client().get(f"/api/v1/transparency/?from={_today()}&to={_today()}")
    assert answer.status_code == 200, answer.json()
    report = answer.json()
    assert report["from"] == report["to"] == _today()
    by_type = {row.pop("process_type"): row for row in report["process_types"]}
    assert by_type == {
        "subpoena": _counts(1, 2, rejected=1),
        "court_order": _counts(3, 5, data_produced=1, no_data=1, pending=1),
        "search_warrant": _counts(1, 1, withdrawn=1),
        "emergency": _counts(1, 1, pending=1),
    }
    total = report["total"]
    assert total.pop("process_type") == "total"
    assert total == _counts(6, 9, data_produced=1, no_data=1, rejected=1, withdrawn=1, pending=2)
    # Preservations disclose nothing: counted apart, never among the outcomes above.
    assert report["preservations"] == {
        "requests": 2,
        "identifiers_specified": 3,
        "active": 1,
        "expired": 1,
    }
    month = _today()[:7]
    assert report["by_month"] == [
        {
            "month": month,
            "by_type": {"subpoena": 1, "court_order": 3, "search_warrant": 1, "emergency": 1},
            "preservations": 2,
        }
    ]


def test_a_wider_range_takes_in_the_edges_and_lists_every_month(
    cast: Cast, filed: dict[str, str]
) -> None:
    today = NOW.astimezone(UTC).date()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # last month's 1st
    last = today + timedelta(days=1)
    report = transparency_report(date_from=first, date_to=last)
    months = [m.month for m in report.by_month]
    assert months == sorted(
        {first.strftime("%Y-%m"), today.strftime("%Y-%m"), last.strftime("%Y-%m")}
    )
    assert report.total.requests == 8  # the one received just before today, and after it
    assert sum(m.disclosures for m in report.by_month) == 8
    assert sum(m.preservations for m in report.by_month) == 2


def test_the_csv_carries_the_same_counts(cast: Cast, filed: dict[str, str]) -> None:
    answer = cast.custodian.client().get(f"/api/v1/transparency/csv?from={_today()}&to={_today()}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert f'filename="transparency-{_today()}-{_today()}.csv"' in answer["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == ["period", _today(), _today()]
    header = rows[1]
    table = {row[1]: dict(zip(header, row, strict=True)) for row in rows[2:7]}
    assert table["court_order"]["requests"] == "3"
    assert table["court_order"]["identifiers_specified"] == "5"
    assert table["court_order"]["data_produced"] == "1"
    assert table["total"]["pending"] == "2"
    preservations = rows[rows.index([]) + 2]
    assert preservations == ["preservations", "preservation", "2", "3", "1", "1"]
    month = rows[-1]
    assert month == ["by_month", _today()[:7], "1", "3", "1", "1", "2"]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("to=2026-06-30", "from", "first (from=) date"),
        ("from=2026-01-01", "to", "last (to=) date"),
        ("from=2026-13-01&to=2026-06-30", "from", "'2026-13-01' is not a date"),
        ("from=2026-01-01&to=yesterday", "to", "'yesterday' is not a date"),
        ("from=2026-07-01&to=2026-06-30", "to", "to (2026-06-30) is before from (2026-07-01)"),
        ("from=1990-01-01&to=2026-06-30", "to", "at most"),
    ],
)
def test_a_bad_range_is_a_400_naming_the_parameter(
    cast: Cast, query: str, field: str, words: str
) -> None:
    for path in ("/api/v1/transparency/", "/api/v1/transparency/csv"):
        answer = cast.reviewer_1.client().get(f"{path}?{query}")
        assert answer.status_code == 400, answer.content
        body = answer.json()
        assert list(body) == [field], body
        assert words in body[field][0], body


def test_only_legal_staff_see_the_report(cast: Cast) -> None:
    query = "?from=2026-06-01&to=2026-11-30"
    for path in ("/api/v1/transparency/", "/api/v1/transparency/csv"):
        for actor in (cast.officer_a, cast.officer_b, cast.ingest, cast.admin):
            refused = actor.client().get(path + query)
            assert refused.status_code == 403, (actor.user.username, refused.content)
            assert refused.json()["detail"]
        assert cast.anonymous().get(path + query).status_code == 401
        assert cast.reviewer_1.client().get(path + query).status_code == 200


def test_an_empty_half_year_is_all_zeroes(cast: Cast) -> None:
    report = transparency_report(date_from=date(2026, 1, 1), date_to=date(2026, 6, 30))
    assert [m.month for m in report.by_month] == [f"2026-0{n}" for n in range(1, 7)]
    assert report.total.requests == 0 and report.preservations.requests == 0
    assert all(m.disclosures == 0 for m in report.by_month)
