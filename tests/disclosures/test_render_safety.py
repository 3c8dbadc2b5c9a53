"""The renderer fetches nothing but our print assets, whatever a request carries.

DESIGN.md invariant 10. A real TCP listener stands in for any network target: the
kernel completes a TCP handshake into the listen backlog even if we never call
accept(), so "nothing pending" after the render means no connection was attempted.
"""

import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pypdf
import pytest
from pypdf.generic import IndirectObject

from legalops.disclosures.fetcher import ASSETS_BASE_URL, ASSETS_DIR, AssetOnlyFetcher
from legalops.disclosures.render import RenderRefused, _write_pdf, package_pdf_render
from tests.disclosures import make_context, make_rows, page_texts, squash, write_csv


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def assert_no_connection(sock: socket.socket) -> None:
    readable, _, _ = select.select([sock], [], [], 0.3)
    assert readable == [], "the renderer opened a connection to the listener"


def corpus(port: int) -> list[str]:
    return [
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/passwd">',
        f"<style>@import url(http://127.0.0.1:{port}/)</style>",
        f'<span style="background: url(http://127.0.0.1:{port}/x.png)">x</span>',
        '<a rel="attachment" href="file:///etc/passwd">a</a>',
        f'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:{port}/s.png"/></svg>',
        '"><script>alert(1)</script>',
        "{{ request.number }}{% debug %}",  # data is never template source
    ]


def embedded_file_objects(path: Path) -> list[str]:
    """Every embedded-file-like object in the PDF, found by walking all objects.

    ``PdfReader.attachments`` reads only the EmbeddedFiles name tree; a file could also
    hide in a FileAttachment annotation, so count the objects themselves.
    """
    reader = pypdf.PdfReader(path)
    found = []
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(IndirectObject(number, 0, reader))
        except Exception:  # noqa: S112 - free or compressed-away object numbers
            continue
        if hasattr(obj, "get"):
            kind = obj.get("/Type")
            if kind in ("/EmbeddedFile", "/Filespec") or obj.get("/Subtype") == "/FileAttachment":
                found.append(f"{kind}:{obj.get('/F') or obj.get('/UF') or ''}")
    return found


def hostile_context(port: int, rows: list[dict[str, Any]], digest: str) -> dict[str, Any]:
    items = corpus(port)
    every = " ".join(items)
    context = make_context(len(rows), digest)
    request = context["request"]
    for i, key in enumerate(
        (
            "reference",
            "agency_name",
            "contact_name",
            "issuing_authority",
            "legal_authority",
            "jurisdiction",
            "contact_email",
            "process_type_label",
        )
    ):
        request[key] = items[i % len(items)]
    request["issued_on"] = every
    context["identifiers"][0]["raw"] = every
    context["categories"][1]["note"] = every
    context["narrowing"]["reason"] = every
    context["direction_text"] = items[2]
    context["range"]["tz_label"] = items[3]
    context["authentication_contact"]["name"] = items[1]
    context["certificate"]["custodian_name"] = items[0]
    context["bates_prefix"] = items[4]
    for row, item in zip(rows, items * len(rows), strict=False):
        row["target"] = item
        row["client"] = item
        row["local"] = item
    return context


def test_hostile_request_text_is_escaped_and_fetches_nothing(
    tmp_path: Path, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    rows = make_rows(len(corpus(port)))
    csv_path, digest = write_csv(tmp_path, rows)
    out = tmp_path / "p.pdf"
    package_pdf_render(
        context=hostile_context(port, rows, digest), rows=rows, csv_path=csv_path, out_path=out
    )
    assert_no_connection(listener)
    # the markup is printed as text, not interpreted
    flat = squash("".join(page_texts(out)))
    for item in corpus(port):
        assert squash(item) in flat, item
    # nothing embedded but our CSV, by name and by object
    assert pypdf.PdfReader(out).attachments == {"records.csv": [csv_path.read_bytes()]}
    assert len(embedded_file_objects(out)) == 2  # one Filespec, one EmbeddedFile stream
    assert b"root:" not in out.read_bytes()  # no /etc/passwd content


# ------------------------------------------------------------------ raw HTML through WeasyPrint
# These bypass the templates to prove the fetcher itself stops each kind of fetch,
# including the ones WeasyPrint would otherwise log and skip.


def _raw_html_cases(port: int) -> list[str]:
    http = f"http://127.0.0.1:{port}"
    return [
        '<img src="file:///etc/passwd">',
        f'<link rel="stylesheet" href="{http}/a.css">',
        f"<style>@import url({http}/b.css);</style>",
        f'<p style="background: url({http}/c.png)">x</p>',
        '<link rel="attachment" href="file:///etc/passwd">',
        f'<a rel="attachment" href="{http}/d.txt">d</a>',
        '<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E">',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f'<image href="{http}/e.png" width="10" height="10"/></svg>',
        f"<style>@font-face {{ font-family: X; src: url({http}/f.woff); }}"
        " p { font-family: X; }</style><p>x</p>",
        '<link rel="stylesheet" href="../render.py">',
    ]


@pytest.mark.parametrize("case", range(len(_raw_html_cases(1))))
def test_render_fails_on_any_refused_fetch(
    tmp_path: Path, listener: socket.socket, case: int
) -> None:
    html = (
        f"<html><body><p>hello</p>{_raw_html_cases(listener.getsockname()[1])[case]}</body></html>"
    )
    out = tmp_path / "p.pdf"
    with pytest.raises(RenderRefused):
        _write_pdf(html, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
    assert_no_connection(listener)


def test_our_own_assets_render(tmp_path: Path) -> None:
    html = '<html><head><link rel="stylesheet" href="base.css"></head><body>ok</body></html>'
    assert _write_pdf(html, tmp_path / "p.pdf") == 1


# ------------------------------------------------------------------ the fetcher directly


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "https://example.com/x.css",
        "ftp://127.0.0.1/x",
        "data:text/css,body%7Bcolor:red%7D",
        "file://evil.example/etc/passwd",
        ASSETS_BASE_URL + "../settings.py",
        ASSETS_BASE_URL + "%2e%2e/render.py",
        urljoin(ASSETS_BASE_URL, "../settings.py"),
        urljoin(ASSETS_BASE_URL, "../../settings.py"),  # legalops/settings.py exists
        urljoin(ASSETS_BASE_URL, "missing.css"),
        ASSETS_BASE_URL + "base.css?x=1",
        ASSETS_DIR.as_uri(),  # the folder itself
        "assets:base.css",
    ],
)
def test_fetcher_refuses(url: str) -> None:
    fetcher = AssetOnlyFetcher()
    with pytest.raises(RenderRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_refuses_http_without_connecting(listener: socket.socket) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.png"
    with pytest.raises(RenderRefused):
        AssetOnlyFetcher().fetch(url)
    assert_no_connection(listener)


def test_fetcher_serves_print_assets() -> None:
    response = AssetOnlyFetcher().fetch(ASSETS_BASE_URL + "base.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


def test_fetcher_refuses_symlinks_out_and_unlisted_types(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "ok.css").write_text("p {}")
    (tmp_path / "secret.css").write_text("secret")
    (assets / "link.css").symlink_to(tmp_path / "secret.css")
    (assets / "code.py").write_text("x = 1")
    (assets / "inside.css").symlink_to(assets / "ok.css")
    fetcher = AssetOnlyFetcher(assets_dir=assets)
    assert fetcher.fetch((assets / "ok.css").as_uri()).read() == b"p {}"
    assert fetcher.fetch((assets / "inside.css").as_uri()).read() == b"p {}"
    for name in ("link.css", "code.py"):
        with pytest.raises(RenderRefused):
            fetcher.fetch((assets / name).as_uri())
    with pytest.raises(RenderRefused):
        AssetOnlyFetcher(assets_dir=assets).fetch((tmp_path / "secret.css").as_uri())
