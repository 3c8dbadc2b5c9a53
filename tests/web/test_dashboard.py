"""The dashboard (emergencies and overdue first, what waits for me, counts by status)
and the request list (filters, search, pages, sort by due date)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from legalops.cases.models import LegalRequest
from tests.cases.requests import emergency
from tests.conftest import Cast
from tests.web.pages import filed_order, page_text, parse, post_form, signed_in

pytestmark = pytest.mark.django_db


def _section(response: object, heading_id: str) -> str:
    """The text of one <section>, found by its heading's id."""
    html = response.content.decode()  # type: ignore[attr-defined]
    start = html.index(f'id="{heading_id}"')
    end = html.find("<section", start)
    fragment = html[start : end if end != -1 else None]
    from tests.web.pages import PageParser

    parser = PageParser()
    parser.feed(fragment)
    return " ".join(" ".join(parser.text).split())


def _approve(actor: object, request_id: str) -> None:
    client = signed_in(actor)  # type: ignore[arg-type]
    values = {"decision": "approve"}
    page = parse(client.get(f"/requests/{request_id}/"))
    for tag, attrs in page.elements:
        if tag == "input" and attrs.get("name") in {"date_from", "date_to"}:
            values[attrs["name"]] = attrs["value"] or ""
    legal_request = LegalRequest.objects.get(pk=request_id)
    response = post_form(
        client,
        f"/requests/{request_id}/review/",
        {
            **values,
            "identifiers": [i.normalized for i in legal_request.identifiers.all()],
            "direction": legal_request.direction,
        },
    )
    assert response.status_code == 302


def test_emergencies_and_overdue_requests_come_first_with_their_clocks(cast: Cast) -> None:
    calm = filed_order(cast)
    late = filed_order(cast)
    LegalRequest.objects.filter(pk=late).update(due_at=timezone.now() - timedelta(hours=3))
    urgent = cast.officer_a.client().post("/api/v1/requests/", emergency(), format="json").json()
    client = signed_in(cast.reviewer_1)
    response = client.get("/")
    top = _section(response, "urgent-heading")
    numbers = {pk: LegalRequest.objects.get(pk=pk).number for pk in (calm, late, urgent["id"])}
    assert numbers[late] in top and numbers[urgent["id"]] in top
    assert numbers[calm] not in top
    assert "overdue by 3 h" in top or "overdue by 2 h 59 min" in top
    assert "due in 3 h" in top or "due in 4 h" in top  # the emergency's clock (4 h)
    # Soonest due first: the overdue order before the emergency.
    assert top.index(numbers[late]) < top.index(numbers[urgent["id"]])


def test_waiting_for_me_shows_second_approvals_and_my_first_ones(cast: Cast) -> None:
    request_id = filed_order(cast)
    number = LegalRequest.objects.get(pk=request_id).number
    _approve(cast.reviewer_1, request_id)
    mine = _section(signed_in(cast.reviewer_1).get("/"), "mine-heading")
    assert number in mine.split("You gave the first approval")[1]
    theirs = _section(signed_in(cast.reviewer_2).get("/"), "mine-heading")
    assert number in theirs.split("You gave the first approval")[0]


def test_ready_for_release_is_listed_for_custodians_only(cast: Cast) -> None:
    request_id = filed_order(cast)
    LegalRequest.objects.filter(pk=request_id).update(status="ready")
    number = LegalRequest.objects.get(pk=request_id).number
    assert number in _section(signed_in(cast.custodian).get("/"), "mine-heading")
    assert "Packages ready for release" not in page_text(signed_in(cast.reviewer_1).get("/"))


def test_counts_by_status(cast: Cast) -> None:
    filed_order(cast)
    filed_order(cast)
    counts = _section(signed_in(cast.reviewer_1).get("/"), "counts-heading")
    assert "2 received" in counts
    assert "0 released" in counts


def test_the_list_filters_searches_pages_and_sorts(cast: Cast) -> None:
    ids = [filed_order(cast, reference=f"LIST-{index}") for index in range(3)]
    requests = {pk: LegalRequest.objects.get(pk=pk) for pk in ids}
    LegalRequest.objects.filter(pk=ids[0]).update(
        due_at=timezone.now() + timedelta(days=1), status="rejected"
    )
    LegalRequest.objects.filter(pk=ids[2]).update(due_at=timezone.now() + timedelta(days=30))
    client = signed_in(cast.reviewer_1)
    everything = page_text(client.get("/requests/"))
    assert all(r.number in everything for r in requests.values())

    rejected = page_text(client.get("/requests/?status=rejected"))
    assert requests[ids[0]].number in rejected and requests[ids[1]].number not in rejected

    found = page_text(client.get(f"/requests/?q={requests[ids[1]].reference}"))
    assert requests[ids[1]].number in found and requests[ids[2]].number not in found
    by_number = page_text(client.get(f"/requests/?q={requests[ids[2]].number.lower()}"))
    assert requests[ids[2]].number in by_number and requests[ids[0]].number not in by_number

    soonest = page_text(client.get("/requests/?sort=due"))
    order = [soonest.index(requests[pk].number) for pk in (ids[0], ids[1], ids[2])]
    assert order == sorted(order)
    latest = page_text(client.get("/requests/?sort=-due"))
    order = [latest.index(requests[pk].number) for pk in (ids[0], ids[1], ids[2])]
    assert order == sorted(order, reverse=True)

    today = timezone.now().date()
    assert "3 requests" in page_text(client.get(f"/requests/?received_after={today}"))
    assert "0 requests" in page_text(
        client.get(f"/requests/?received_before={today - timedelta(days=1)}")
    )
    assert "0 requests" in page_text(client.get(f"/requests/?agency={cast.agency_b.id}"))
    assert "0 requests" in page_text(client.get("/requests/?process_type=subpoena"))


def test_the_list_pages(cast: Cast) -> None:
    from legalops.web.requests_list import PAGE_SIZE

    for index in range(PAGE_SIZE + 1):
        filed_order(cast, signed=False, reference=f"PAGE-{index}")
    client = signed_in(cast.reviewer_1)
    first = page_text(client.get("/requests/"))
    assert f"{PAGE_SIZE + 1} requests, page 1 of 2" in first
    second = client.get("/requests/?page=2")
    assert "page 2 of 2" in page_text(second)
    links = [a.get("href") or "" for tag, a in parse(second).elements if tag == "a"]
    details = [h for h in links if h.startswith("/requests/") and h.count("-") == 4]  # uuids
    assert len(details) == 1


def test_a_bad_filter_is_named(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    response = client.get("/requests/?received_after=yesterday")
    assert "Enter a valid date." in page_text(response)
