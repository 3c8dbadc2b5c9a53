"""Helpers for the staff UI tests: sign in through the form, file an order through
the API as an agency would, and read a page's HTML back with a real parser."""

from html.parser import HTMLParser
from typing import Any

from django.test import Client

from tests.cases.pdfs import SIGNED_ORDER
from tests.cases.requests import court_order
from tests.cases.review_helpers import pdf_upload
from tests.conftest import Actor, Cast

PASSWORD = "correct horse 42!"  # the cast's staff password (tests/conftest.py)


def signed_in(actor: Actor) -> Client:
    """A browser session made through the sign-in form, CSRF checks on."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        {"username": actor.user.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def post_form(client: Client, path: str, data: dict[str, Any]) -> Any:
    """POST as the page's form would: with the CSRF token the page carried."""
    token = client.cookies["csrftoken"].value
    return client.post(path, {**data, "csrfmiddlewaretoken": token})


def filed_order(cast: Cast, *, signed: bool = True, **overrides: Any) -> str:
    """An officer of agency A files a court order (and its signed PDF); its id."""
    api = cast.officer_a.client()
    response = api.post("/api/v1/requests/", court_order(**overrides), format="json")
    assert response.status_code == 201, response.json()
    request_id = response.json()["id"]
    if signed:
        uploaded = api.post(
            f"/api/v1/requests/{request_id}/documents/",
            pdf_upload(SIGNED_ORDER),
            format="multipart",
        )
        assert uploaded.status_code == 201, uploaded.json()
    return request_id


class PageParser(HTMLParser):
    """Collects what the CSP tests look at: scripts, style attributes and blocks,
    inline event handlers, and every element's attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline_scripts: list[str] = []
        self.script_srcs: list[str] = []
        self.styled: list[str] = []
        self.handlers: list[str] = []
        self.style_blocks = 0
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_script = False
        self._script_has_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if "style" in attributes:
            self.styled.append(tag)
        self.handlers += [
            f"{tag}[{name}]" for name in attributes if name.startswith(("on", "hx-on"))
        ]
        if tag == "style":
            self.style_blocks += 1
        if tag == "script":
            self._in_script = True
            self._script_has_src = bool(attributes.get("src"))
            if self._script_has_src:
                self.script_srcs.append(attributes["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and not self._script_has_src and data.strip():
            self.inline_scripts.append(data.strip())
        elif not self._in_script:
            self.text.append(data)


def parse(response: Any) -> PageParser:
    parser = PageParser()
    parser.feed(response.content.decode())
    return parser


def page_text(response: Any) -> str:
    return " ".join(" ".join(parse(response).text).split())
