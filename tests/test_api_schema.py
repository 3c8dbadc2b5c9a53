"""The published OpenAPI schema against the running API (API.md, whole contract).

1. Schemathesis fuzzes every operation of ``/api/schema/``, in-process through the
   WSGI application, as agency A, as a reviewer, and as agency B aimed at agency
   A's requests. Every generated call hits the test database with the cast and
   agency A's seeded requests present. Checks: no 5xx, and status code, content
   type and body conform to the schema.
2. Agency B, on every GET endpoint, never receives anything of agency A's.
3. ``/api/docs/`` is Swagger UI from our own static files; ``/api/schema/`` names
   every implemented path of API.md with its error responses.

Bounded for CI: ``LEGALOPS_FUZZ_EXAMPLES`` (default 20) examples per operation and
actor in the fuzzing phase, plus the schema's explicit examples.
"""

import json
import os
import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from legalops.wsgi import application
from tests.cases.pdfs import SIGNED_ORDER
from tests.cases.requests import court_order, preservation
from tests.conftest import Cast

FUZZ_EXAMPLES = int(os.environ.get("LEGALOPS_FUZZ_EXAMPLES", "20"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]

# Loaded from the application itself, as a client would: the served document, not
# a file that could drift from it. The schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Examples (there are few) and fuzzing; the coverage phase enumerates every
# boundary of every field and would not fit a CI budget.
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.generation.update(max_examples=FUZZ_EXAMPLES)
schema.config.checks.update(included_check_names=CHECKS)

ACTORS = ["officer_a", "reviewer", "officer_b_on_a"]


@dataclass
class Seeded:
    """Agency A's requests, filed through the API before any generated call."""

    order: dict[str, Any]
    kept: dict[str, Any]
    document_id: str

    @property
    def request_ids(self) -> list[str]:
        return [self.order["id"], self.kept["id"]]

    @property
    def hold_ids(self) -> list[str]:
        return [r["hold"]["id"] for r in (self.order, self.kept) if r["hold"]]

    def markers(self) -> set[str]:
        """Strings that, in a response to agency B, would disclose agency A's data."""
        found: set[str] = {self.document_id, *self.hold_ids}
        for filed in (self.order, self.kept):
            found |= {filed["id"], filed["number"], filed["reference"], filed["agency"]["id"]}
            found |= {filed["agency"]["name"]}
            for identifier in filed["identifiers"]:
                found |= {identifier["raw"], identifier["normalized"]}
        return found


def _file_for_agency_a(cast: Cast) -> Seeded:
    client = cast.officer_a.client()
    order = client.post(
        "/api/v1/requests/",
        court_order(
            reference="A-ORDER-7731",
            identifiers=["+1 (415) 555-0177", "Alpha.Target@Example.com"],
        ),
        format="json",
    )
    assert order.status_code == 201, order.json()
    kept = client.post(
        "/api/v1/requests/",
        preservation(reference="A-PRES-7732", identifiers=["+14155550178"]),
        format="json",
    )
    assert kept.status_code == 201, kept.json()
    upload = client.post(
        f"/api/v1/requests/{order.json()['id']}/documents/",
        {"file": SimpleUploadedFile("order.pdf", SIGNED_ORDER, content_type="application/pdf")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    with_document = upload.json()
    return Seeded(
        order=with_document, kept=kept.json(), document_id=with_document["documents"][0]["id"]
    )


@pytest.fixture
def seeded(cast: Cast) -> Seeded:
    return _file_for_agency_a(cast)


@pytest.fixture
def in_process_wsgi(db: None) -> Iterator[None]:
    """Let WSGI calls share the test's transaction.

    Django's WSGI handler closes "old" connections at the start and end of every
    request; inside the test's transaction that would close it and lose the cast.
    Django's own test client disconnects the same receiver around each request.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _pick(value: Any, choices: list[str]) -> str:
    """A seeded id chosen by the generated value, so a case stays reproducible."""
    return choices[zlib.crc32(str(value).encode()) % len(choices)]


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


REALISTIC_IDENTIFIERS = [["+1 (415) 555-0190"], ["b.target@example.org", "+442071838750"]]


def _aim(case: schemathesis.Case, actor: str, cast: Cast, seeded: Seeded) -> None:
    """Point generated ids at real objects so calls reach past the 404.

    Agency B is always aimed at agency A's objects. The others keep a malformed
    generated id (the router's 404) and otherwise get a seeded id or, one time in
    three, the random UUID that was generated.
    """
    params = case.path_parameters or {}
    targets = {
        "request_id": seeded.request_ids,
        "document_id": [seeded.document_id],
        "hold_id": seeded.hold_ids,
    }
    for name, ids in targets.items():
        if name not in params:
            continue
        generated = params[name]
        if actor == "officer_b_on_a":
            params[name] = _pick(generated, ids)
        elif _is_uuid(generated):
            params[name] = _pick(generated, [*ids, str(generated)])
    body = case.body
    if case.operation.path == "/api/v1/requests/" and isinstance(body, dict):
        # A random string is almost never a phone number or an email address: give
        # half the filings real ones so the 201 path is exercised too.
        if isinstance(body.get("identifiers"), list) and zlib.crc32(repr(body).encode()) % 2:
            chosen = zlib.crc32(repr(body["identifiers"]).encode()) % len(REALISTIC_IDENTIFIERS)
            body["identifiers"] = list(REALISTIC_IDENTIFIERS[chosen])
        if actor == "reviewer" and _is_uuid(body.get("agency")):
            agencies = [str(cast.agency_a.id), str(cast.agency_b.id)]
            body["agency"] = _pick(body["agency"], [*agencies, str(body["agency"])])


def _token(actor: str, cast: Cast) -> str:
    return {
        "officer_a": cast.officer_a.key,
        "reviewer": cast.reviewer_1.key,
        "officer_b_on_a": cast.officer_b.key,
    }[actor]


def _assert_nothing_of_agency_a(response: Any, seeded: Seeded) -> None:
    if not 200 <= response.status_code < 300:
        return
    text = response.text
    leaked = sorted(marker for marker in seeded.markers() if marker in text)
    assert not leaked, f"agency B received agency A's data {leaked}: {text[:500]}"


@pytest.mark.usefixtures("in_process_wsgi")
@pytest.mark.parametrize("actor", ACTORS)
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_operation_conforms_to_the_schema(
    case: schemathesis.Case, actor: str, cast: Cast, seeded: Seeded
) -> None:
    # One transaction per operation and actor: what one example files stays for the
    # next (a repeated reference is a declared 409, the throttle a declared 429).
    _aim(case, actor, cast, seeded)
    response = case.call_and_validate(headers={"Authorization": f"Token {_token(actor, cast)}"})
    if actor == "officer_b_on_a":
        _assert_nothing_of_agency_a(response, seeded)


# --- 2. Agency B never sees agency A's data ----------------------------------


def _b_get_paths(seeded: Seeded) -> list[str]:
    paths = [
        "/api/v1/requests/",
        "/api/v1/requests/?page_size=200",
        "/api/v1/requests/?page=1&page_size=1",
        "/api/v1/requests/?status=received,preserved,in_review",
        "/api/v1/requests/?process_type=court_order",
        "/api/v1/requests/?process_type=preservation",
        "/api/v1/requests/?received_after=2000-01-01&received_before=2100-12-31",
        "/api/v1/agencies/",
        "/api/v1/holds/",
    ]
    for request_id in seeded.request_ids:
        paths.append(f"/api/v1/requests/{request_id}/")
        paths.append(f"/api/v1/requests/{request_id}/documents/{seeded.document_id}/")
    return paths


@pytest.mark.django_db
def test_agency_b_never_receives_agency_a_data(cast: Cast, seeded: Seeded) -> None:
    client = cast.officer_b.client()
    own = client.post(
        "/api/v1/requests/", court_order(reference="B-ORDER-1", identifiers=["+15105550111"])
    )
    assert own.status_code == 201, own.json()
    for path in _b_get_paths(seeded):
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        assert response["Content-Type"].startswith("application/json"), path
        _assert_nothing_of_agency_a(response, seeded)
        if re.fullmatch(r"/api/v1/requests/[0-9a-f-]{36}/", path):
            # Another agency's request is a 404, not a 403: existence not disclosed.
            assert response.status_code == 404, (path, response.json())
            assert response.json() == {"detail": "Not found."}
    listed = client.get("/api/v1/requests/?page_size=200").json()
    assert [r["id"] for r in listed["results"]] == [own.json()["id"]]
    assert listed["count"] == 1
    # Staff-only lists are refused to an officer outright.
    assert client.get("/api/v1/holds/").status_code == 403
    assert client.get("/api/v1/agencies/").status_code == 403


@pytest.mark.django_db
def test_agency_b_cannot_act_on_agency_a_requests(cast: Cast, seeded: Seeded) -> None:
    client = cast.officer_b.client()
    for request_id in seeded.request_ids:
        renew = client.post(f"/api/v1/requests/{request_id}/renew/")
        assert renew.status_code == 404, renew.json()
        upload = client.post(
            f"/api/v1/requests/{request_id}/documents/",
            {"file": SimpleUploadedFile("x.pdf", SIGNED_ORDER, content_type="application/pdf")},
            format="multipart",
        )
        assert upload.status_code == 404, upload.json()
        _assert_nothing_of_agency_a(upload, seeded)
    # Agency A's documents are untouched and its hold unrenewed.
    mine = cast.officer_a.client().get(f"/api/v1/requests/{seeded.kept['id']}/").json()
    assert mine["hold"]["expires_at"] == seeded.kept["hold"]["expires_at"]
    order = cast.officer_a.client().get(f"/api/v1/requests/{seeded.order['id']}/").json()
    assert len(order["documents"]) == 1


# --- 3. The docs page and the schema's coverage of API.md --------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(values[name] or "")
        self._in_script_without_src = tag == "script" and not values.get("src")
        if any(name.startswith("on") for name, _ in attrs):
            self.inline_scripts.append(f"<{tag} {attrs}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script_without_src = False

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src and data.strip():
            self.inline_scripts.append(data.strip())


def test_docs_render_swagger_ui_from_our_own_static_files(client: Any) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page.lower()
    assert not re.search(r"(?:https?:)?//(?!testserver[/:])[\w.-]+", page), re.findall(
        r"(?:https?:)?//[^\s\"'<>]+", page
    )
    static_prefix = "/" + django_settings.STATIC_URL.lstrip("/")
    assets = _Assets()
    assets.feed(page)
    assert not assets.inline_scripts, assets.inline_scripts
    scripts = [url for url in assets.urls if ".js" in url or "script" in url]
    assert scripts, "the page loads no script at all"
    for url in assets.urls:
        assert url.startswith("/"), f"{url} is not one of our own paths"
        assert not url.startswith("//"), url
        if url.startswith(static_prefix):
            # Shipped with the app (drf-spectacular-sidecar), collected by collectstatic.
            relative = url.removeprefix(static_prefix)
            assert finders.find(relative), f"{url} is not among our static files"
    # The UI's initialising script is a file of ours, and points at our schema.
    own = [url for url in assets.urls if url.startswith("/api/docs/")]
    assert own, assets.urls
    script = client.get(own[0])
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    assert "/api/schema/" in script.content.decode()


# API.md paths implemented so far, their operations, and the error statuses that
# apply to each beyond 401/403/404 (declared everywhere).
IMPLEMENTED: dict[tuple[str, str], set[str]] = {
    ("/api/v1/logs/", "post"): {"400", "413"},
    ("/api/v1/requests/", "get"): {"400"},
    ("/api/v1/requests/", "post"): {"400", "409", "429"},
    ("/api/v1/requests/{request_id}/", "get"): set(),
    ("/api/v1/requests/{request_id}/documents/", "post"): {"400", "413"},
    ("/api/v1/requests/{request_id}/renew/", "post"): {"409"},
    ("/api/v1/agencies/", "get"): set(),
    ("/api/v1/holds/", "get"): set(),
    ("/api/v1/holds/{hold_id}/release/", "post"): {"400", "409"},
}


@pytest.fixture(scope="module")
def served_schema() -> dict[str, Any]:
    from django.test import Client

    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.mark.parametrize(
    ("path", "method"), sorted(IMPLEMENTED), ids=[f"{m} {p}" for p, m in sorted(IMPLEMENTED)]
)
def test_schema_declares_every_implemented_path_with_its_errors(
    served_schema: dict[str, Any], path: str, method: str
) -> None:
    assert path in served_schema["paths"], sorted(served_schema["paths"])
    operation = served_schema["paths"][path].get(method)
    assert operation is not None, f"{method.upper()} {path} is not in the schema"
    declared = set(operation["responses"])
    missing = ({"401", "403", "404"} | IMPLEMENTED[(path, method)]) - declared
    assert not missing, f"{method.upper()} {path} does not declare {sorted(missing)}"
    assert any(code.startswith("2") for code in declared)
    for code in declared - {"200", "201"}:
        content = operation["responses"][code].get("content", {})
        assert "application/json" in content, f"{method.upper()} {path} {code}"
