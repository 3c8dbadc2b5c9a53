"""Render disclosure packages and one-off letters to PDF (WeasyPrint 70).

Public API (the job and the release service call only these):

* :func:`package_pdf_render` -> page count; writes the package PDF with the CSV
  embedded as ``records.csv`` (and no other file).
* :func:`letter_pdf_render` -> page count; ``pdf/no_records.html`` or
  ``pdf/preservation_ack.html``.
* :class:`RenderRefused` (from :mod:`.fetcher`): the render tried to fetch something
  other than our print assets. Nothing is written to ``out_path``.
* :class:`RenderInputError` (a ``ValueError``): the context or the rows break the
  contract below (missing key, rows out of order, counts or hash that disagree).
  Nothing is written to ``out_path``.

Safety (DESIGN.md invariant 10): HTML comes only from our templates through a
dedicated Django template engine with autoescape on, so every request string reaches
the page as escaped text; a missing template variable fails the render instead of
printing a blank into a court document; the only URL fetcher is
:class:`~.fetcher.AssetOnlyFetcher`. Fonts are the system DejaVu families (no
``@font-face``), so nothing is fetched for text either.

The context contract is the TypedDicts below. Dates and times are strings already
formatted by the caller; the renderer prints them as given.
"""

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import weasyprint
from django.conf import settings
from django.template import Context, Engine
from weasyprint.urls import FatalURLFetchingError

from legalops.disclosures.chunks import (
    PartJob,
    RenderFailed,
    RenderServer,
    RowOrderError,
    RowSpool,
    parts_run,
)
from legalops.disclosures.fetcher import ASSETS_BASE_URL, AssetOnlyFetcher, RenderRefused
from legalops.disclosures.record_lines import LABELS as _FIELD_LABELS
from legalops.disclosures.record_lines import records_pages

__all__ = [
    "ALLOWED_FIELDS",
    "LETTER_TEMPLATES",
    "PACKAGE_TEMPLATES",
    "AuthenticationContact",
    "Category",
    "Certificate",
    "Identifier",
    "LetterIdentifier",
    "Narrowing",
    "NoRecordsContext",
    "PackageContext",
    "PreservationAckContext",
    "RangeInfo",
    "RecordRow",
    "RenderInputError",
    "RenderRefused",
    "RequestInfo",
    "letter_pdf_render",
    "package_pdf_render",
]

# The package is rendered in parts and merged (see package_pdf_render).
PACKAGE_TEMPLATES = {
    "front": "pdf/package_front.html",
    "records": "pdf/package_records.html",
    "back": "pdf/package_back.html",
}
# Also read by the part processes, which run without the project's settings.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
LETTER_TEMPLATES = ("pdf/no_records.html", "pdf/preservation_ack.html")
ATTACHMENT_NAME = "records.csv"

Field = Literal[
    "occurred_at", "service", "source", "target", "source_ip", "client", "target_reachable"
]
# Canonical column order of the printed records (the CSV's order is the job's).
ALLOWED_FIELDS: tuple[str, ...] = (
    "occurred_at",
    "service",
    "source",
    "target",
    "source_ip",
    "client",
    "target_reachable",
)
DEFAULT_PROVIDER_NAME = "the Provider"


# --------------------------------------------------------------------------- contract


class RequestInfo(TypedDict):
    number: str  # our request number, quoted on every page
    reference: str  # their reference / docket
    agency_name: str
    contact_name: str
    contact_email: str
    contact_phone: str
    issuing_authority: str  # court or issuing authority
    legal_authority: str  # e.g. "18 U.S.C. § 2703(d)"
    process_type: str
    process_type_label: str
    jurisdiction: str
    issued_on: str | None
    received_at: str  # UTC, formatted
    expires_on: str | None


class Identifier(TypedDict):
    raw: str  # as received
    normalized: str
    kind: str
    rows: int  # rows found for this identifier


class Category(TypedDict):
    name: str
    label: str
    produced: bool
    note: str  # e.g. "content: none stored"


class RangeInfo(TypedDict):
    from_local: str
    to_local: str
    tz_label: str  # the time zone the order used, e.g. "America/Los_Angeles (PDT)"
    from_utc: str
    to_utc: str


class Narrowing(TypedDict):
    basis: str
    basis_label: str
    reason: str


class AuthenticationContact(TypedDict):
    name: str
    email: str
    phone: str


class Certificate(TypedDict):
    signed: bool  # False: rendered as "DRAFT - not signed" (en dash) for the custodian to check
    custodian_name: str
    custodian_title: str
    executed_on: str  # printed only when signed
    csv_sha256: str  # hex SHA-256 of the CSV file; must match csv_path's bytes
    row_count: int
    california: bool  # True: Cal. Evid. Code 1561 affidavit instead of FRE 902(11)/(13)/(14)


class PackageContext(TypedDict):
    request: RequestInfo
    identifiers: list[Identifier]
    categories: list[Category]
    direction: Literal["outgoing", "incoming", "both"]
    direction_text: str
    range: RangeInfo
    narrowing: Narrowing | None
    fields: list[Field]  # subset of ALLOWED_FIELDS; only these columns are printed
    bates_prefix: str  # unique per production; pages are <prefix>-000001, -000002, ...
    row_count: int
    generated_at: str
    authentication_contact: AuthenticationContact
    certificate: Certificate
    retention_days: int
    provider_name: NotRequired[str]  # optional; default settings.LEGALOPS_PROVIDER_NAME


class RecordRow(TypedDict, total=False):
    """One record. ``n`` and ``utc`` are required; other keys matter only if in fields."""

    n: int  # 1..N, consecutive, in time order
    utc: str  # ISO-8601 UTC ("2025-06-02T14:03:22.123456Z" or "+00:00")
    local: str  # the same instant in the order's time zone
    service: str
    source: str
    target: str
    source_ip: str
    client: str
    target_reachable: bool
    third_party: bool  # the identifier is the TARGET (incoming direction)


class LetterIdentifier(TypedDict):
    raw: str
    normalized: str
    # no_records only:
    status: NotRequired[Literal["none_logged", "not_retained", "partly_retained"]]
    retained_from: NotRequired[str]  # optional, partly_retained: first retained instant


class NoRecordsContext(TypedDict):
    request: RequestInfo
    identifiers: list[LetterIdentifier]
    range: RangeInfo
    searched_at: str
    certificate: Certificate  # csv_sha256/row_count unused here
    authentication_contact: NotRequired[AuthenticationContact]
    retention_days: NotRequired[int]
    provider_name: NotRequired[str]


class PreservationAckContext(TypedDict):
    request: RequestInfo
    identifiers: list[LetterIdentifier]
    held_from: str
    held_to: str
    expires_at: str
    renew_by: str
    generated_at: NotRequired[str]  # letter date; default now (UTC)
    authentication_contact: NotRequired[AuthenticationContact]
    retention_days: NotRequired[int]
    provider_name: NotRequired[str]


_PACKAGE_KEYS = tuple(k for k in PackageContext.__required_keys__)
_LETTER_KEYS: dict[str, tuple[str, ...]] = {
    "pdf/no_records.html": ("request", "identifiers", "range", "searched_at", "certificate"),
    "pdf/preservation_ack.html": (
        "request",
        "identifiers",
        "held_from",
        "held_to",
        "expires_at",
        "renew_by",
    ),
}


class RenderInputError(ValueError):
    """The context or rows break the render contract; nothing was written."""


# --------------------------------------------------------------------------- templates


class _MissingVariable(str):
    """``string_if_invalid`` that raises: a blank in a court filing is a silent error.

    Django substitutes ``string_if_invalid % var_name`` when it contains ``%s``; this
    str claims to contain it and raises on the substitution. ``{% if %}`` and
    ``{% for %}`` resolve with ``ignore_failures`` and are unaffected.
    """

    def __contains__(self, item: object) -> bool:
        return True

    def __mod__(self, var: object) -> str:
        raise RenderInputError(f"template variable {var!r} is missing from the context")


@cache
def _engine() -> Engine:
    # A dedicated engine, not settings.TEMPLATES: autoescape is guaranteed whatever the
    # project settings say, no app directory can shadow pdf/ templates, and no context
    # processor leaks request/user objects into a document.
    return Engine(
        dirs=[str(TEMPLATES_DIR)],
        app_dirs=False,
        autoescape=True,
        debug=False,
        string_if_invalid=_MissingVariable("<missing>"),
    )


def _render_html(template: str, context: Mapping[str, Any]) -> str:
    return _engine().get_template(template).render(Context(dict(context), autoescape=True))


def _provider_name(context: Mapping[str, Any]) -> str:
    return str(
        context.get("provider_name")
        or getattr(settings, "LEGALOPS_PROVIDER_NAME", "")
        or DEFAULT_PROVIDER_NAME
    )


# --------------------------------------------------------------------------- rows


def _columns(context: Mapping[str, Any]) -> list[dict[str, str]]:
    fields = list(context["fields"])
    unknown = [f for f in fields if f not in ALLOWED_FIELDS]
    if unknown or len(set(fields)) != len(fields):
        raise RenderInputError(f"fields must be distinct names from {ALLOWED_FIELDS}: {fields}")
    columns: list[dict[str, str]] = []
    for field in ALLOWED_FIELDS:
        if field not in fields:
            continue
        if field == "occurred_at":
            # One cell, two lines: the authoritative UTC time over the order's zone,
            # so both fit a landscape page without cutting either.
            label = f"Time: UTC / {context['range']['tz_label']}"
        else:
            label = _FIELD_LABELS[field]
        columns.append({"key": field, "label": label, "css": field.replace("_", "-")})
    return columns


def _require(context: Mapping[str, Any], keys: Iterable[str], what: str) -> None:
    missing = [k for k in keys if k not in context]
    if missing:
        raise RenderInputError(f"{what} context is missing {missing}")


# --------------------------------------------------------------------------- PDF


def _laid_out(html: str, fetcher: AssetOnlyFetcher) -> weasyprint.Document:
    """Lay out ``html`` with the asset-only fetcher; any refused fetch fails it."""
    try:
        document = weasyprint.HTML(
            string=html, base_url=ASSETS_BASE_URL, url_fetcher=fetcher
        ).render()
    except FatalURLFetchingError as exc:
        raise _refusal(exc, fetcher) from None
    if fetcher.refused:
        raise RenderRefused(fetcher.refused[0])
    if document.metadata.attachments:
        # Only records.csv may be embedded. Our templates make no rel=attachment
        # links, so refuse before WeasyPrint would fetch one.
        raise RenderRefused('<link rel="attachment">', "the document declares its own attachment")
    return document


def _refusal(exc: FatalURLFetchingError, fetcher: AssetOnlyFetcher) -> RenderRefused:
    # fail_on_errors wraps our RenderRefused; surface it as a normal exception.
    cause = exc.__cause__
    if isinstance(cause, RenderRefused):
        return RenderRefused(cause.url, cause.reason)
    return RenderRefused(fetcher.refused[0] if fetcher.refused else str(exc))


def _layout_pages(html: str) -> int:
    """How many pages ``html`` lays out on (nothing is written)."""
    return len(_laid_out(html, AssetOnlyFetcher()).pages)


def _write_pdf(
    html: str,
    out_path: Path,
    *,
    attachment: tuple[bytes, str] | None = None,
) -> int:
    """Lay out ``html`` with the asset-only fetcher and write it atomically.

    The PDF appears at ``out_path`` only if no fetch was refused, so a failed render
    never leaves a file a later step could pick up.
    """
    fetcher = AssetOnlyFetcher()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".render-", suffix=".pdf", dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        document = _laid_out(html, fetcher)
        attachments = []
        if attachment is not None:
            data, description = attachment
            attachments.append(
                weasyprint.Attachment(
                    string=data,
                    name=ATTACHMENT_NAME,
                    description=description,
                    relationship="Data",
                    url_fetcher=fetcher,
                )
            )
        try:
            document.write_pdf(tmp, attachments=attachments)
        except FatalURLFetchingError as exc:
            raise _refusal(exc, fetcher) from None
        # Some WeasyPrint paths (drawing SVG) swallow even fatal errors: check again.
        if fetcher.refused:
            raise RenderRefused(fetcher.refused[0])
        os.replace(tmp, out_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return len(document.pages)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_pdf_render(
    *,
    context: PackageContext | Mapping[str, Any],
    rows: Iterable[RecordRow | Mapping[str, Any]] | RowSpool,
    csv_path: Path,
    out_path: Path,
    on_progress: Callable[[float], None] | None = None,
) -> int:
    """Render the disclosure package to ``out_path`` and return its page count.

    Order: cover letter, records, notes, certificate. Every page carries the request
    number, "Confidential: produced pursuant to legal process", a Bates number
    ``<bates_prefix>-000001`` (continuous from the first page) and "Page X of Y".
    The CSV at ``csv_path`` is embedded as ``records.csv``, the only embedded file.

    ``rows`` is any iterable of rows (spooled to disk here, one row in memory at a
    time) or a :class:`~.chunks.RowSpool` the caller filled while streaming. The
    records are rendered in parts by separate processes, at most two at once, and
    merged; ``on_progress`` is called with the fraction of parts done (0..1).

    Raises :class:`RenderInputError` if rows are not numbered 1..N in time order, if
    N differs from ``row_count`` or ``certificate.row_count``, or if the CSV's SHA-256
    differs from ``certificate.csv_sha256``; :class:`RenderRefused` on any fetch that
    is not one of our print assets; :class:`~.chunks.RenderFailed` if a part process
    fails. Nothing is written to ``out_path`` in any of these cases.
    """
    _require(context, _PACKAGE_KEYS, "package")
    _require(context["certificate"], Certificate.__required_keys__, "certificate")
    digest = _file_sha256(csv_path)
    if digest != str(context["certificate"]["csv_sha256"]).lower():
        # The certificate swears to this hash; it must be the file we embed.
        raise RenderInputError(
            f"certificate.csv_sha256 {context['certificate']['csv_sha256']} "
            f"does not match {csv_path} ({digest})"
        )
    columns = _columns(context)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parts-", dir=out_path.parent) as tmp:
        workdir = Path(tmp)
        # One render server for every part of this package, the merge included: it
        # imports WeasyPrint once instead of once per part, and does so while this
        # process spools and lays out the cover letter and the notes.
        with RenderServer(workdir) as server:
            spool = rows if isinstance(rows, RowSpool) else _spooled(rows, workdir / "rows")
            if not spool.closed:
                raise RenderInputError("the row spool must be closed before rendering")
            counts = {spool.count, context["row_count"], context["certificate"]["row_count"]}
            if len(counts) != 1:
                raise RenderInputError(
                    f"row counts disagree: {spool.count} rows given, row_count="
                    f"{context['row_count']}, certificate.row_count="
                    f"{context['certificate']['row_count']}"
                )
            has_third_party = context["direction"] in ("incoming", "both") or spool.third_party
            shared = {
                **context,
                "provider_name": _provider_name(context),
                "columns": columns,
                # notes about a field appear only when that field is produced
                "printed_fields": {field: field in context["fields"] for field in ALLOWED_FIELDS},
                "has_third_party_column": has_third_party,
            }
            # Pages are counted before anything is written: the cover letter and the
            # notes with the certificate by laying them out here (a few pages, and the
            # page numbers in the margins do not change the layout), the records from
            # the row count alone (fixed rows per page).
            probe = {**shared, "first_page": 1, "total_pages": 0}
            front = _layout_pages(_render_html(PACKAGE_TEMPLATES["front"], probe))
            back = _layout_pages(_render_html(PACKAGE_TEMPLATES["back"], probe))
            records = records_pages(spool.count)
            total = front + records + back
            layout = {
                "fields": list(context["fields"]),
                "tz_label": context["range"]["tz_label"],
                "row_count": spool.count,
                "has_third_party": has_third_party,
            }
            parts: list[PartJob] = []
            first_page, first_row = front + 1, 1
            for index, segments in enumerate(spool.parts() or [[_empty_segment(workdir)]]):
                rows_in_part = sum(_lines(path) for path in segments)
                parts.append(
                    PartJob(
                        name=f"records-{index:04d}",
                        job={
                            "kind": "records",
                            "rows": [str(path) for path in segments],
                            "out": str(workdir / f"records-{index:04d}.pdf"),
                            "first_page": first_page,
                            "first_row": first_row,
                            "total_pages": total,
                            "layout": layout,
                            "request_number": context["request"]["number"],
                            "bates_prefix": context["bates_prefix"],
                        },
                    )
                )
                first_page += records_pages(rows_in_part)
                first_row += rows_in_part
            description = (
                f"Records produced for request {context['request']['number']}; SHA-256 {digest}"
            )
            documents = [
                {
                    "template": PACKAGE_TEMPLATES[name],
                    "context": {**shared, "first_page": start, "total_pages": total},
                    "out": str(workdir / f"{name}.pdf"),
                    "attachment": attachment,
                }
                for name, start, attachment in (
                    ("front", 1, {"path": str(csv_path), "description": description}),
                    ("back", front + records + 1, None),
                )
            ]
            # The records parts are the long ones: they start first, and the short
            # documents fill in behind them.
            parts.append(
                PartJob(name="documents", job={"kind": "documents", "documents": documents})
            )
            done: list[str] = []

            def progress(part: PartJob, pages: int) -> None:
                done.append(part.name)
                if on_progress is not None:
                    on_progress(len(done) / len(parts))

            pages = parts_run(parts, workdir=workdir, on_done=progress, server=server)
            if pages["documents"] != front + back:
                raise RenderFailed(
                    f"the cover letter, notes and certificate have {pages['documents']} pages, "
                    f"{front + back} expected"
                )
            merged = parts_run(
                [
                    PartJob(
                        name="merge",
                        job={
                            "kind": "merge",
                            "parts": [
                                documents[0]["out"],
                                *(part.job["out"] for part in parts[:-1]),
                                documents[1]["out"],
                            ],
                            "out": str(out_path),
                            "pages": total,
                        },
                    )
                ],
                workdir=workdir,
                parallel=1,
                server=server,
            )
    return merged["merge"]


def _spooled(rows: Iterable[Mapping[str, Any]], directory: Path) -> RowSpool:
    spool = RowSpool(directory)
    try:
        for row in rows:
            spool.add(row)
    except RowOrderError as exc:
        raise RenderInputError(str(exc)) from None
    finally:
        spool.close()
    return spool


def _empty_segment(workdir: Path) -> Path:
    """The records part of a package without rows: one page saying "No rows."."""
    path = workdir / "no-rows.jsonl"
    path.touch()
    return path


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def letter_pdf_render(
    *,
    template: str,
    context: NoRecordsContext | PreservationAckContext | Mapping[str, Any],
    out_path: Path,
) -> int:
    """Render a one-off letter (``pdf/no_records.html`` or ``pdf/preservation_ack.html``).

    Returns the page count. Letters embed no file.
    """
    if template not in LETTER_TEMPLATES:
        raise RenderInputError(f"unknown letter template {template!r}; use {LETTER_TEMPLATES}")
    _require(context, _LETTER_KEYS[template], template)
    template_context: dict[str, Any] = {
        "authentication_contact": None,
        "retention_days": 30,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        **context,
        "provider_name": _provider_name(context),
    }
    if template == "pdf/no_records.html":
        for ident in context["identifiers"]:
            if ident.get("status") not in ("none_logged", "not_retained", "partly_retained"):
                raise RenderInputError(f"identifier {ident.get('raw')!r}: bad status")
    html = _render_html(template, template_context)
    return _write_pdf(html, Path(out_path))
