"""The only URL fetcher the PDF renderer may use (DESIGN.md invariant 10).

WeasyPrint resolves every ``url()``, ``<link>``, ``<img>``, ``@import``, font and
attachment reference through one fetcher. The stock :class:`weasyprint.urls.URLFetcher`
opens ``file:``, ``http(s):``, ``ftp:`` and ``data:`` URLs and follows redirects, so
text smuggled into a request could read local files or reach the network. This
fetcher overrides ``fetch()`` whole: it serves regular files inside
``print_assets/`` addressed by ``file://`` URLs under :data:`ASSETS_BASE_URL`, and
refuses everything else.

WeasyPrint 70 catches ordinary exceptions from a fetcher, logs them and carries on
(a broken image is just missing), which would let a refused fetch pass silently.
Two defences, both needed:

* ``fail_on_errors=True`` makes ``weasyprint.urls.fetch`` re-raise any fetcher
  error as ``FatalURLFetchingError`` (a ``BaseException``) that stops the render;
* every refusal is also recorded in :attr:`AssetOnlyFetcher.refused`, because a few
  code paths (drawing an SVG) catch even ``BaseException``; the renderer checks the
  list after rendering and raises :class:`RenderRefused`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSETS_DIR: Path = (Path(__file__).resolve().parent / "print_assets").resolve()
# Relative URLs in the print templates ("package.css") resolve against this.
ASSETS_BASE_URL: str = ASSETS_DIR.as_uri() + "/"

# Assets we ship are CSS and maybe an SVG logo; anything else in the folder is a
# mistake, so an allow-list of types keeps e.g. a stray .py file unservable.
_CONTENT_TYPES: dict[str, str] = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class RenderRefused(Exception):
    """A render tried to fetch something other than our own print assets."""

    def __init__(self, url: str, reason: str = "not a print asset") -> None:
        super().__init__(f"refused fetch of {url!r}: {reason}")
        self.url = url
        self.reason = reason


class AssetOnlyFetcher(URLFetcher):
    """Serve files from ``print_assets/`` only; refuse and record everything else."""

    def __init__(self, assets_dir: Path = ASSETS_DIR) -> None:
        # The base class wires urllib handlers; they stay unused because fetch() is
        # replaced whole, and we still switch off redirects and every protocol in
        # case a future WeasyPrint calls the base machinery directly.
        super().__init__(
            timeout=1, allowed_protocols=(), allow_redirects=False, fail_on_errors=True
        )
        self.assets_dir: Path = assets_dir.resolve()
        self.refused: list[str] = []

    def _refuse(self, url: str, reason: str) -> RenderRefused:
        self.refused.append(url)
        return RenderRefused(url, reason)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Return the asset named by ``url`` or raise :class:`RenderRefused`.

        Signature and return type match ``weasyprint.urls.URLFetcher.fetch`` (v70).
        """
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise self._refuse(url, "malformed URL") from exc
        if parts.scheme.lower() != "file":
            # http(s), ftp, data (could carry an SVG with its own external refs), ...
            raise self._refuse(url, f"scheme {parts.scheme or '(none)'!r} not allowed")
        if parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "remote file host")
        if parts.query:
            raise self._refuse(url, "query not allowed")
        # unquote so "%2e%2e" cannot hide a ".." from the containment check below.
        raw = Path(unquote(parts.path))
        if ".." in raw.parts:
            raise self._refuse(url, "path escapes the asset folder")
        try:
            # strict=True follows symlinks to their real target, so a link that
            # points outside the folder fails the containment check.
            real = raw.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise self._refuse(url, "no such asset") from exc
        if not real.is_relative_to(self.assets_dir) or real == self.assets_dir:
            raise self._refuse(url, "outside the asset folder")
        if not real.is_file():
            raise self._refuse(url, "not a regular file")
        content_type = _CONTENT_TYPES.get(real.suffix.lower())
        if content_type is None:
            raise self._refuse(url, "asset type not allowed")
        body = real.read_bytes()
        headers_out = {"Content-Type": content_type}
        if content_type.startswith("text/"):
            headers_out["Content-Type"] += "; charset=utf-8"
        return URLFetcherResponse(real.as_uri(), body, headers_out, 200)
