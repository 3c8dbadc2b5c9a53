"""The Content-Security-Policy holds on every page: the header on every response,
and no page carries an inline script, a style attribute or block, an inline event
handler or hx-on (each page's HTML parsed, not searched)."""

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from legalops.cases.models import LegalRequest
from legalops.disclosures.models import Package, PackageStatus
from legalops.web.csp import POLICY
from tests.cases.requests import emergency
from tests.conftest import Cast
from tests.web.pages import filed_order, parse, post_form, signed_in

pytestmark = pytest.mark.django_db

EXPECTED = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def _web_pages_without_arguments() -> list[str]:
    """Every page of the staff UI that takes no argument (other areas' pages included)."""
    resolver: URLResolver = next(
        r for r in get_resolver().url_patterns if getattr(r, "namespace", None) == "web"
    )
    paths = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLPattern) and not pattern.pattern.converters:
            route = str(pattern.pattern)
            # Sign-out is POST only; sign-in redirects a signed-in user (checked signed out).
            if route not in {"logout/", "login/"}:
                paths.append("/" + route)
    return paths


def _assert_strict(response: Any, where: str) -> None:
    assert response["Content-Security-Policy"] == POLICY, where
    page = parse(response)
    assert page.inline_scripts == [], (where, page.inline_scripts)
    assert page.styled == [], (where, "style attribute on", page.styled)
    assert page.style_blocks == 0, (where, "<style> block")
    assert page.handlers == [], (where, page.handlers)
    for src in page.script_srcs:
        assert src.startswith("/"), (where, "script from another origin", src)


def test_the_policy_is_the_strict_one() -> None:
    for directive in EXPECTED:
        assert directive in POLICY
    assert "unsafe-inline" not in POLICY and "unsafe-eval" not in POLICY


def test_every_response_carries_the_policy(cast: Cast) -> None:
    assert Client().get("/login/")["Content-Security-Policy"] == POLICY
    assert Client().get("/healthz")["Content-Security-Policy"] == POLICY
    api = cast.reviewer_1.client().get("/api/v1/requests/")
    assert api["Content-Security-Policy"] == POLICY


def test_no_page_has_inline_script_or_style(cast: Cast) -> None:
    request_id = filed_order(cast)
    legal_request = LegalRequest.objects.get(pk=request_id)
    custodian = signed_in(cast.custodian)
    pages = [*_web_pages_without_arguments(), f"/requests/{request_id}/"]
    assert {"/", "/requests/", "/requests/new/", "/password/"} <= set(pages)
    checked = 0
    for path in pages:
        response = custodian.get(path)
        if response.status_code == 405:  # an action's POST-only address, not a page
            continue
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path
        if response["Content-Type"].startswith("text/html"):
            _assert_strict(response, path)
            checked += 1
    assert checked >= 5

    # The pages with state: an emergency's callback form, a form with errors, the package
    # panel while the job runs, the release page, the sign-in page and its errors.
    urgent = cast.officer_a.client().post("/api/v1/requests/", emergency(), format="json").json()
    _assert_strict(custodian.get(f"/requests/{urgent['id']}/"), "emergency")
    refused = post_form(custodian, f"/requests/{request_id}/review/", {"decision": "reject"})
    assert refused.status_code == 400
    _assert_strict(refused, "review errors")
    Package.objects.create(
        request=legal_request, status=PackageStatus.PROCESSING, progress=0.3, bates_prefix="T1"
    )
    _assert_strict(custodian.get(f"/requests/{request_id}/package/"), "package partial")
    Package.objects.filter(request=legal_request).update(status=PackageStatus.READY, rows=1)
    LegalRequest.objects.filter(pk=request_id).update(status="ready")
    release = custodian.get(f"/requests/{request_id}/release/")
    assert release.status_code == 200
    _assert_strict(release, "release")
    anonymous = Client()
    _assert_strict(anonymous.get("/login/"), "sign-in")
    _assert_strict(anonymous.post("/login/", {"username": "x", "password": "y"}), "sign-in errors")
    _assert_strict(signed_in(cast.reviewer_1).get(f"/requests/{request_id}/release/"), "403")


def test_htmx_is_vendored_and_its_indicator_style_is_off() -> None:
    response = Client().get("/login/")
    page = parse(response)
    metas = {a.get("name"): a.get("content") for tag, a in page.elements if tag == "meta"}
    assert metas["htmx-config"] == '{"includeIndicatorStyles":false}'
    assert "/static/vendor/htmx/htmx.min.js" in page.script_srcs
    served = Client().get("/static/vendor/htmx/htmx.min.js")
    assert served.status_code == 200
    stylesheet = Client().get("/static/vendor/uswds/css/uswds.min.css")
    assert stylesheet.status_code == 200


def test_swagger_ui_loads_under_the_policy() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    _assert_strict(response, "swagger")
    page = parse(response)
    # Its start-up script is a file of its own (the split view), served from here too.
    script = next(src for src in page.script_srcs if src.startswith("/api/docs/"))
    served = Client().get(script)
    assert served.status_code == 200
    assert "SwaggerUIBundle" in served.content.decode()
    for src in page.script_srcs:
        if src.startswith("/static/"):
            assert Client().get(src).status_code == 200, src
