"""Log search: refused without a reason, every search (every page) audited with its
parameters, results capped and paged, no way from the results into a package, and
never an agency."""

from datetime import UTC, timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest
from legalops.web.logsearch import MAX_RESULTS, PAGE_SIZE
from lookups.ingest import logs_ingest
from lookups.readers import array_entries
from tests.conftest import Cast
from tests.lookups.helpers import log_entry
from tests.web.pages import filed_order, page_text, parse, signed_in

pytestmark = pytest.mark.django_db
HANDLE = "+14155550166"


def _seed(count: int, *, source: str = HANDLE) -> None:
    now = timezone.now().replace(microsecond=0)
    logs_ingest(
        entries=array_entries(
            [
                log_entry(
                    source=source,
                    target=f"peer{i}@example.com",
                    occurred_at=(now - timedelta(hours=1, seconds=i)).isoformat(),
                )
                for i in range(count)
            ]
        )
    )


def _query(**fields: str) -> str:
    today = timezone.now().astimezone(UTC).date()
    base = {
        "identifier": "+1 (415) 555-0166",
        "date_from": (today - timedelta(days=2)).isoformat(),
        "date_to": today.isoformat(),
        "direction": "both",
        "request_number": "",
        "justification": "",
    }
    return "/logsearch/?" + urlencode({**base, **fields})


def _recent() -> dict[str, str]:
    """A request range over the last three days, as the searches here use."""
    now = timezone.now().replace(microsecond=0)
    start = (now - timedelta(days=2)).replace(hour=0, minute=0, second=0)
    return {"date_from": start.isoformat(), "date_to": (now - timedelta(minutes=1)).isoformat()}


def test_a_request_justifies_only_a_search_inside_it(cast: Cast) -> None:
    request_id = filed_order(cast, reference="LS-2", identifiers=["+14155550166"], **_recent())
    number = LegalRequest.objects.get(pk=request_id).number
    client = signed_in(cast.reviewer_1)
    other = client.get(_query(identifier="+14155550167", request_number=number))
    assert other.status_code == 400
    assert f"+14155550167 is not one of {number}'s identifiers" in page_text(other)
    today = timezone.now().astimezone(UTC).date()
    wider = client.get(
        _query(request_number=number, date_from=(today - timedelta(days=9)).isoformat())
    )
    assert wider.status_code == 400 and "search inside its range" in page_text(wider)
    LegalRequest.objects.filter(pk=request_id).update(status="rejected")
    settled = client.get(_query(request_number=number))
    assert settled.status_code == 400 and "justifies no more searches" in page_text(settled)
    assert _searches() == []  # refused searches run nothing and leave no search event


def _searches() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="logs.searched").order_by("seq"))


def test_a_search_without_a_request_or_justification_is_refused(cast: Cast) -> None:
    _seed(3)
    client = signed_in(cast.reviewer_1)
    refused = client.get(_query())
    assert refused.status_code == 400
    text = page_text(refused)
    assert "Name the request this search serves, or write the operational justification" in text
    assert "peer0@example.com" not in text
    too_short = client.get(_query(justification="because"))
    assert too_short.status_code == 400
    assert "at least 20 characters" in page_text(too_short)
    unknown = client.get(_query(request_number="LR-2026-999999"))
    assert unknown.status_code == 400
    assert "No request is numbered LR-2026-999999." in page_text(unknown)
    assert _searches() == []


def test_a_search_for_a_request_is_audited_with_its_parameters(cast: Cast) -> None:
    _seed(3)
    _seed(1, source="+14155550167")  # another handle: not a result
    request_id = filed_order(cast, reference="LS-1", identifiers=["+14155550166"], **_recent())
    number = LegalRequest.objects.get(pk=request_id).number
    client = signed_in(cast.reviewer_2)
    found = client.get(_query(request_number=number.lower(), direction="outgoing"))
    assert found.status_code == 200
    text = page_text(found)
    assert "3 rows match" in text
    assert all(f"peer{i}@example.com" in text for i in range(3))
    (event,) = _searches()
    assert event.actor_label == "rev_two"
    assert event.object_type == "cases.legalrequest" and event.object_id == request_id
    today = timezone.now().astimezone(UTC).date()
    assert event.details == {
        "identifier": HANDLE,
        "date_from": (today - timedelta(days=2)).isoformat(),
        "date_to": today.isoformat(),
        "direction": "outgoing",
        "request": number,
        "justification": "",
        "page": 1,
        "rows_total": 3,
        "rows_returned": 3,
    }


def test_a_justified_search_is_audited_with_the_justification(cast: Cast) -> None:
    _seed(2)
    reason = "Checking the ingest of a reported outage for this test number."
    response = signed_in(cast.custodian).get(_query(justification=reason, direction="incoming"))
    assert response.status_code == 200
    assert "No row matches." in page_text(response)  # the handle only ever looked others up
    (event,) = _searches()
    assert event.details["justification"] == reason
    assert event.details["request"] is None and event.details["rows_total"] == 0


def test_results_are_capped_and_paged_and_each_page_is_audited(cast: Cast) -> None:
    _seed(MAX_RESULTS + 5)
    client = signed_in(cast.reviewer_1)
    reason = "Investigating abuse reports against this sender number."
    first = client.get(_query(justification=reason))
    text = page_text(first)
    assert f"{MAX_RESULTS + 5} rows match; only the first {MAX_RESULTS} are shown" in text
    pages = MAX_RESULTS // PAGE_SIZE
    assert f"Page 1 of {pages}" in text
    rows = [e for e in parse(first).elements if e[0] == "tr"]
    assert len(rows) == PAGE_SIZE + 1  # and the header row
    last = client.get(_query(justification=reason, page=str(pages + 3)))  # clamped to the cap
    assert f"Page {pages} of {pages}" in page_text(last)
    assert [e.details["page"] for e in _searches()] == [1, pages]
    assert [e.details["rows_returned"] for e in _searches()] == [PAGE_SIZE, PAGE_SIZE]


def test_results_offer_no_path_into_a_package(cast: Cast) -> None:
    _seed(2)
    response = signed_in(cast.reviewer_1).get(
        _query(justification="Checking the ingest of a reported outage today.")
    )
    parsed = parse(response)
    forms = [attrs for tag, attrs in parsed.elements if tag == "form"]
    assert all((attrs.get("method") or "get").lower() == "get" for attrs in forms[1:])
    links = [attrs.get("href") or "" for tag, attrs in parsed.elements if tag == "a"]
    assert not [href for href in links if "package" in href or "csv" in href or "/api/" in href]
    assert "cannot be exported or added to a package" in page_text(response)
    assert not parsed.inline_scripts and not parsed.styled


def test_agencies_and_admins_never_search(cast: Cast) -> None:
    _seed(1)
    query = _query(justification="An officer trying to look up a number.")
    officer = Client()
    officer.force_login(cast.officer_a.user)
    assert officer.get(query).status_code == 403
    assert signed_in(cast.admin).get(query).status_code == 403
    assert Client().get(query).status_code == 302
    api = cast.officer_a.client().get("/logsearch/")
    assert api.status_code in {302, 403}
    assert _searches() == []


def test_a_link_may_name_the_request_without_searching(cast: Cast) -> None:
    page = signed_in(cast.reviewer_1).get("/logsearch/?request_number=LR-2026-000007")
    assert page.status_code == 200
    assert 'value="LR-2026-000007"' in page.content.decode()
    assert "results-heading" not in page.content.decode()
    assert _searches() == []
