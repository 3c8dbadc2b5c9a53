"""The transparency page: this half-year by default or any range, the table by
process type, month and type charts as inline SVG with no inline script or style,
and the CSV."""

import csv
import io
import re
from datetime import UTC, date

import pytest
from django.test import Client
from django.utils import timezone

from legalops.cases.models import LegalRequest
from legalops.web.charts import stacked_columns, stacked_rows
from legalops.web.transparency import half_year, recent_halves
from tests.cases.requests import preservation
from tests.conftest import Cast
from tests.web.pages import filed_order, page_text, parse, signed_in

pytestmark = pytest.mark.django_db


def _cells(response, process_type: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The table row of one process type: each cell's data-cell key -> its text."""
    html = response.content.decode()
    start = html.index(f'data-process-type="{process_type}"')
    row = html[start : html.index("</tr>", start)]
    cells = re.findall(r'<td[^>]*data-cell="([^"]+)"[^>]*>(.*?)</td>', row, re.S)
    return {label: text.strip() for label, text in cells}


def test_half_years() -> None:
    assert half_year(date(2026, 12, 1)) == (date(2026, 7, 1), date(2026, 12, 31))
    assert half_year(date(2026, 6, 30)) == (date(2026, 1, 1), date(2026, 6, 30))
    names = [name for name, _, _ in recent_halves(date(2026, 3, 4), count=3)]
    assert names == ["H1 2026", "H2 2025", "H1 2025"]


def test_the_default_is_this_half_year_and_counts_what_arrived(cast: Cast) -> None:
    filed_order(cast, reference="TV-1", identifiers=["+14155550191", "tv@example.com"])
    kept = cast.officer_a.client().post(
        "/api/v1/requests/",
        preservation(reference="TV-2", identifiers=["+14155550192"]),
        format="json",
    )
    assert kept.status_code == 201
    page = signed_in(cast.reviewer_1).get("/transparency/")
    assert page.status_code == 200
    first, last = half_year(timezone.now().astimezone(UTC).date())
    assert f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" in page_text(page)
    order = _cells(page, "court_order")
    assert order["requests"] == "1" and order["identifiers"] == "2"
    assert order["pending"] == "1" and order["data_produced"] == "0"
    assert _cells(page, "total")["requests"] == "1"  # the preservation is counted apart
    html = page.content.decode()
    assert html.count('<svg class="web-chart"') == 2
    assert 'class="web-series-court_order"' in html and 'class="web-series-pending"' in html
    assert 'class="web-series-preservation"' in html
    parsed = parse(page)
    assert not parsed.inline_scripts and not parsed.styled and not parsed.style_blocks
    assert not parsed.handlers
    assert "/transparency/csv?date_from=" in html


def test_any_range_and_a_bad_one(cast: Cast) -> None:
    request_id = filed_order(cast, reference="TV-3", identifiers=["+14155550193"])
    LegalRequest.objects.filter(pk=request_id).update(
        received_at=timezone.now().replace(year=2025, month=3, day=15)
    )
    client = signed_in(cast.custodian)
    march = client.get("/transparency/?date_from=2025-03-01&date_to=2025-03-31")
    assert _cells(march, "court_order")["requests"] == "1"
    april = client.get("/transparency/?date_from=2025-04-01&date_to=2025-04-30")
    assert _cells(april, "court_order")["requests"] == "0"
    inverted = client.get("/transparency/?date_from=2025-04-30&date_to=2025-04-01")
    assert inverted.status_code == 400
    assert "The last day is before the first." in page_text(inverted)
    garbage = client.get("/transparency/?date_from=soon&date_to=2025-04-01")
    assert garbage.status_code == 400
    assert "Enter a valid date." in page_text(garbage)


def test_the_csv_download(cast: Cast) -> None:
    filed_order(cast, reference="TV-4", identifiers=["+14155550194"])
    today = timezone.now().astimezone(UTC).date().isoformat()
    response = signed_in(cast.reviewer_2).get(
        f"/transparency/csv?date_from={today}&date_to={today}"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    court = next(row for row in rows if row[:2] == ["disclosures", "court_order"])
    assert court[2:4] == ["1", "1"]


def test_officers_and_admins_never_see_the_report(cast: Cast) -> None:
    officer = Client()
    officer.force_login(cast.officer_a.user)
    for path in ("/transparency/", "/transparency/csv"):
        assert officer.get(path).status_code == 403
        assert signed_in(cast.admin).get(path).status_code == 403
        assert Client().get(path).status_code == 302


def test_chart_geometry_stacks_to_the_totals() -> None:
    chart = stacked_columns(
        groups=[("Jan", [("a", "A", 2), ("b", "B", 2)]), ("Feb", [("a", "A", 1), ("b", "B", 0)])]
    )
    jan = [bar for bar in chart.bars if bar.title.startswith("Jan")]
    feb = [bar for bar in chart.bars if bar.title.startswith("Feb")]
    assert len(jan) == 2 and len(feb) == 1  # a zero draws nothing
    assert jan[1].y + jan[1].height == pytest.approx(jan[0].y)  # stacked, no gap
    assert sum(b.height for b in jan) == pytest.approx(4 * feb[0].height)
    assert jan[0].y + jan[0].height == pytest.approx(chart.plot_bottom)
    assert "Jan: 2 A" in [bar.title for bar in chart.bars]
    many = stacked_columns(groups=[(f"m{i}", [("a", "A", 1)]) for i in range(24)])
    month_labels = [label.text for label in many.labels if label.text.startswith("m")]
    assert month_labels == [f"m{i}" for i in range(0, 24, 3)]
    rows = stacked_rows(groups=[("Court order", [("x", "X", 3), ("y", "Y", 1)])])
    assert rows.bars[0].width == pytest.approx(3 * rows.bars[1].width)
