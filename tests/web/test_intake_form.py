"""Staff intake of paper process: the API's validation, errors next to their fields,
the signed document stored with the request or nothing stored at all."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from legalops.cases.models import LegalRequest
from tests.cases.pdfs import SIGNED_ORDER
from tests.conftest import Cast
from tests.web.pages import page_text, parse, post_form, signed_in

pytestmark = pytest.mark.django_db


def _paper(cast: Cast, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agency": str(cast.agency_b.id),
        "process_type": "court_order",
        "jurisdiction": "US",
        "legal_authority": "18 U.S.C. 2703(d)",
        "reference": "4:26-mj-00077",
        "issuing_authority": "United States District Court for the Northern District of California",
        "issued_on": "2026-11-20",
        "expires_on": "",
        "identifiers": "(510) 555-0142\nSuspect@Example.com",
        "date_from": "2026-11-01T00:00:00",
        "date_to": "2026-11-19T23:59:59",
        "utc_offset": "-08:00",
        "direction": "outgoing",
        "data_categories": ["query_logs"],
        "nondisclosure_until": "",
        "emergency_justification": "",
        "contact_name": "Det. R. Alvarez",
        "contact_email": "r.alvarez@oaklandpd.example.gov",
        "contact_phone": "+15105550100",
    }
    body.update(overrides)
    return body


def _errors_by_field(response: Any) -> dict[str, str]:
    """Each error message keyed by the id of the input it describes."""
    parser = parse(response)
    described: dict[str, str] = {}
    for _tag, attrs in parser.elements:
        for ref in (attrs.get("aria-describedby") or "").split():
            if ref.endswith("_error"):
                described[ref] = attrs.get("id") or attrs.get("name") or ""
    return described


def test_the_form_has_a_label_for_every_input(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    page = client.get("/requests/new/")
    assert page.status_code == 200
    parser = parse(page)
    labelled = {attrs.get("for") for tag, attrs in parser.elements if tag == "label"}
    inputs = [
        attrs
        for tag, attrs in parser.elements
        if tag in {"input", "select", "textarea"} and attrs.get("type") != "hidden"
    ]
    assert inputs
    for attrs in inputs:
        assert attrs.get("id") in labelled, attrs


def test_paper_process_is_filed_with_its_signed_document(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    upload = SimpleUploadedFile("signed.pdf", SIGNED_ORDER, content_type="application/pdf")
    response = post_form(client, "/requests/new/", {**_paper(cast), "document": upload})
    assert response.status_code == 302, page_text(response)
    created = LegalRequest.objects.get(reference="4:26-mj-00077")
    assert response["Location"] == f"/requests/{created.id}/"
    assert created.agency == cast.agency_b
    assert created.submitted_by == cast.reviewer_1.user
    assert [i.normalized for i in created.identifiers.all()] == [
        "+15105550142",
        "suspect@example.com",
    ]
    # The order's own offset: midnight Pacific is 08:00 UTC.
    assert created.date_from.isoformat() == "2026-11-01T08:00:00+00:00"
    assert created.utc_offset_minutes == -480
    assert created.documents.get().name == "signed.pdf"
    assert not created.findings.filter(code="missing_document").exists()


def test_errors_come_back_next_to_their_fields_and_nothing_is_stored(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    response = post_form(
        client,
        "/requests/new/",
        _paper(
            cast,
            identifiers="+1 415 555 0100\nnot a handle",
            date_from="2026-11-20T00:00:00",
            date_to="2026-11-01T00:00:00",
        ),
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "line 2:" in text  # identifiers named by line
    assert "date_from is after date_to." in text
    described = _errors_by_field(response)
    assert {"id_identifiers_error", "id_date_from_error"} <= set(described)
    assert "There are 2 problems" in text
    assert not LegalRequest.objects.exists()


def test_the_api_field_rules_apply(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    response = post_form(
        client,
        "/requests/new/",
        _paper(cast, jurisdiction="California", contact_email="nobody", data_categories=[]),
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "Use US, US-XX for a state" in text
    assert "Enter a valid email address." in text
    described = _errors_by_field(response)
    expected = {"id_jurisdiction_error", "id_contact_email_error", "id_data_categories_error"}
    assert expected <= set(described)
    assert not LegalRequest.objects.exists()


def test_an_emergency_needs_its_justification(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    response = post_form(client, "/requests/new/", _paper(cast, process_type="emergency"))
    assert response.status_code == 400
    assert "An emergency request must say what danger" in page_text(response)
    assert "id_emergency_justification_error" in _errors_by_field(response)


def test_a_file_that_is_not_a_pdf_stores_nothing(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    upload = SimpleUploadedFile("order.pdf", b"just text", content_type="application/pdf")
    response = post_form(client, "/requests/new/", {**_paper(cast), "document": upload})
    assert response.status_code == 400
    assert "the file is not a PDF" in page_text(response)
    assert "id_document_error" in _errors_by_field(response)
    assert not LegalRequest.objects.exists()


def test_the_same_reference_again_is_refused_in_words(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    assert post_form(client, "/requests/new/", _paper(cast)).status_code == 302
    again = post_form(client, "/requests/new/", _paper(cast))
    assert again.status_code == 400
    assert "This agency already filed this reference." in page_text(again)
    assert LegalRequest.objects.count() == 1


def test_a_bad_offset_is_named(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    response = post_form(client, "/requests/new/", _paper(cast, utc_offset="PST"))
    assert response.status_code == 400
    assert "Write the offset as +HH:MM" in page_text(response)


def test_the_request_page_shows_the_range_in_the_orders_own_offset(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    created = post_form(client, "/requests/new/", _paper(cast))
    assert created.status_code == 302
    text = page_text(client.get(created["Location"]))
    assert "2026-11-01 08:00:00 UTC" in text
    assert (
        "as the order writes it: 2026-11-01 00:00:00 -08:00 to 2026-11-19 23:59:59 -08:00" in text
    )


def test_an_empty_form_names_every_required_field(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    response = post_form(client, "/requests/new/", {})
    assert response.status_code == 400
    described = _errors_by_field(response)
    for name in ("agency", "process_type", "reference", "identifiers", "contact_name"):
        assert f"id_{name}_error" in described, name
    assert not LegalRequest.objects.exists()
