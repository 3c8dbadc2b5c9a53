"""The package job and its release: select, render, verify, store, release, deliver.

Contracts:
- ``package_generate`` is safe to run twice and after a crash: it claims the work
  by compare-and-set (request approved -> processing; or an expired lease on a
  package stuck in processing), counts attempts in the database, and after
  ``LEGALOPS_PACKAGE_MAX_ATTEMPTS`` marks the package failed with a reason;
- a package becomes ``ready`` only after the verifier has re-checked every row of
  the finished PDF against the scope; a mismatch fails it (audited);
- release re-renders the certificate in the custodian's name, seals the final PDF
  and records its SHA-256; downloads re-check that hash before streaming.
"""

import hashlib
import io
import logging
import secrets
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.files import File
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from legalops.accounts.roles import user_is_officer
from legalops.api_errors import Conflict
from legalops.audit.services import audit_record
from legalops.cases.models import LegalRequest, Outcome, Status
from legalops.cases.scope import Scope
from legalops.cases.workflow import transition
from legalops.disclosures.chunks import RenderFailed, RowOrderError, RowSpool
from legalops.disclosures.context import (
    acknowledgement_context,
    display_row,
    no_records_context,
    package_context,
)
from legalops.disclosures.fetcher import RenderRefused
from legalops.disclosures.models import Package, PackageKind, PackageStatus
from legalops.disclosures.records import extract_write
from legalops.disclosures.render import RenderInputError, letter_pdf_render, package_pdf_render
from legalops.disclosures.verify_isolated import package_verify_isolated
from lookups.selectors import count_in_scope

logger = logging.getLogger(__name__)


class PackageIntegrityError(Exception):
    """The stored file no longer matches the hash recorded for it."""


def _bates_prefix(request: LegalRequest) -> str:
    # Unique per production: the request number's digits plus a random tail.
    return f"LO{request.number[-6:]}{secrets.token_hex(2).upper()}"


def package_enqueue(*, request: LegalRequest) -> Package:
    """Create the request's one package (idempotent) and queue the job on commit."""
    from legalops.disclosures.tasks import package_generate_task

    package, _ = Package.objects.get_or_create(
        request=request, defaults={"bates_prefix": _bates_prefix(request)}
    )
    request_id = str(request.pk)
    transaction.on_commit(lambda: package_generate_task.delay(request_id))
    return package


def _claim(*, request_id: str) -> Package | None:
    """Take the work, or return None if someone else holds it or it is done."""
    now = timezone.now()
    lease = timedelta(seconds=settings.LEGALOPS_PACKAGE_TIME_LIMIT)
    with transaction.atomic():
        request = LegalRequest.objects.select_for_update().get(pk=request_id)
        package = Package.objects.select_for_update().get(request=request)
        if request.status == Status.APPROVED and package.status in {
            PackageStatus.QUEUED,
            PackageStatus.FAILED,
        }:
            transition(
                request=request,
                action="start_processing",
                actor=None,
                details={"package": str(package.pk)},
            )
        elif not (
            request.status == Status.PROCESSING
            and package.status == PackageStatus.PROCESSING
            and package.started_at is not None
            and package.started_at < now - lease
        ):
            return None  # done, or another worker's lease is still live
        if package.attempts >= settings.LEGALOPS_PACKAGE_MAX_ATTEMPTS:
            _fail(
                request=request,
                package=package,
                reason=(
                    f"Generation was attempted {package.attempts} times and did not finish (the "
                    "worker was killed or timed out each time). Check the worker's memory and time "
                    "limits, then regenerate."
                ),
            )
            return None
        Package.objects.filter(pk=package.pk).update(
            status=PackageStatus.PROCESSING,
            started_at=now,
            attempts=F("attempts") + 1,
            progress=0.0,
            error="",
        )
        package.refresh_from_db()
        return package


def _fail(*, request: LegalRequest, package: Package, reason: str) -> None:
    with transaction.atomic():
        Package.objects.filter(pk=package.pk).update(
            status=PackageStatus.FAILED, error=reason, started_at=None
        )
        transition(request=request, action="fail", actor=None, details={"reason": reason})
    logger.warning("package of %s failed: %s", request.number, reason)


def package_timed_out(*, request_id: str) -> None:
    request = LegalRequest.objects.get(pk=request_id)
    package = Package.objects.get(request=request)
    if package.status == PackageStatus.PROCESSING:
        _fail(
            request=request,
            package=package,
            reason=(
                f"Generation took longer than {settings.LEGALOPS_PACKAGE_SOFT_TIME_LIMIT} s and "
                "was stopped. Narrow the scope or raise LEGALOPS_PACKAGE_SOFT_TIME_LIMIT, then "
                "regenerate."
            ),
        )


def _progress(package: Package, value: float) -> None:
    Package.objects.filter(pk=package.pk).update(progress=value)


def _snapshot(*, outermost: bool) -> None:
    """Selection and count must see the same rows: one REPEATABLE READ snapshot.

    Only the outermost transaction can choose its isolation; nested inside another
    (a caller's transaction), the caller's snapshot rules apply.
    """
    if outermost and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _render(
    *,
    request: LegalRequest,
    package: Package,
    scope: Scope,
    workdir: Path,
    custodian: tuple[str, str] | None,
) -> tuple[Path, int, int, str]:
    """Extract and render; returns (pdf, rows, pages, csv sha256) and the expected count."""
    region = request.agency.country
    csv_path = workdir / "records.csv"
    identifiers = set(scope.identifiers)
    offset = request.utc_offset_minutes
    # One pass over the rows feeds both the CSV and the printed records (spooled to
    # disk segment by segment), so the pages, the CSV and the verifier's count come
    # from the same snapshot and this process holds one row at a time.
    spool = RowSpool(workdir / "rows")

    def printed(values: dict[str, str]) -> None:
        spool.add(display_row(values, offset_minutes=offset, identifiers=identifiers))

    outermost = not connection.in_atomic_block
    try:
        with transaction.atomic():
            _snapshot(outermost=outermost)
            extract = extract_write(scope=scope, region=region, path=csv_path, on_row=printed)
            expected = count_in_scope(
                identifiers=scope.identifiers,
                date_from=scope.date_from,
                date_to=scope.date_to,
                direction=scope.direction,
                region=region,
            )
    except RowOrderError as exc:
        raise RenderInputError(str(exc)) from None
    finally:
        spool.close()
    _progress(package, 0.3)
    context = package_context(
        request=request,
        scope=scope,
        bates_prefix=package.bates_prefix,
        per_identifier=extract.per_identifier,
        row_count=extract.rows,
        csv_sha256=extract.sha256,
        custodian=custodian,
    )
    pdf = workdir / "package.pdf"
    if extract.rows == 0:
        letter = no_records_context(request=request, scope=scope, context=context)
        pages = letter_pdf_render(template="pdf/no_records.html", context=letter, out_path=pdf)
        _progress(package, 0.9)
        return pdf, expected, pages, extract.sha256
    pages = package_pdf_render(
        context=context,
        rows=spool,
        csv_path=csv_path,
        out_path=pdf,
        # 0.3 after the extract, 0.9 when the last part is merged
        on_progress=lambda done: _progress(package, 0.3 + 0.6 * done),
    )
    return pdf, expected, pages, extract.sha256


def _render_problem(
    *, request: LegalRequest, package: Package, action: str, problem: str, reason: str
) -> None:
    """Audit why the render stopped and fail the package with words for the staff."""
    with transaction.atomic():
        audit_record(
            actor=None,
            action=action,
            target=request,
            details={"package": str(package.pk), "problem": problem},
        )
        _fail(request=request, package=package, reason=reason)


def package_generate(*, request_id: str) -> Package | None:
    package = _claim(request_id=request_id)
    if package is None:
        return None
    request = LegalRequest.objects.select_related("agency").get(pk=request_id)
    scope = Scope.from_json(request.scope)
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        try:
            pdf, expected, pages, csv_sha256 = _render(
                request=request, package=package, scope=scope, workdir=Path(tmp), custodian=None
            )
        except RenderFailed as exc:
            # A part process crashed or was killed: nothing was merged, and the
            # package never becomes ready on a partial document.
            _render_problem(
                request=request,
                package=package,
                action="package.render_failed",
                problem=str(exc),
                reason=(
                    f"Rendering the records failed: {exc}. Nothing was produced; check the "
                    "worker's memory and the log, then regenerate."
                ),
            )
            return None
        except (RenderRefused, RenderInputError) as exc:
            # Deterministic: running it again would fail the same way.
            _render_problem(
                request=request,
                package=package,
                action="package.render_refused",
                problem=str(exc),
                reason=(
                    f"The renderer refused this package: {exc}. Nothing was produced; report "
                    "it to the operators."
                ),
            )
            return None
        verification = package_verify_isolated(pdf=pdf, scope=scope, expected_count=expected)
        if not verification.ok:
            with transaction.atomic():
                audit_record(
                    actor=None,
                    action="package.verification_failed",
                    target=request,
                    details={"package": str(package.pk), "problem": verification.problem},
                )
                _fail(
                    request=request,
                    package=package,
                    reason=(
                        f"The package failed verification and was not released: "
                        f"{verification.problem}. Regenerate it; if it fails again, report it."
                    ),
                )
            return None
        _store(
            request=request,
            package=package,
            pdf=pdf,
            rows=verification.rows,
            pages=pages,
            csv_sha256=csv_sha256,
        )
    package.refresh_from_db()
    return package


def _store(
    *,
    request: LegalRequest,
    package: Package,
    pdf: Path,
    rows: int,
    pages: int,
    csv_sha256: str,
) -> None:
    """Keep the verified draft and mark it ready, with its audit event."""
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    kind = PackageKind.RECORDS if rows else PackageKind.NO_RECORDS
    with transaction.atomic(), pdf.open("rb") as handle:
        stored = Package.objects.select_for_update().get(pk=package.pk)
        stored.file.save(f"{request.number}-{digest[:12]}.pdf", File(handle), save=False)
        Package.objects.filter(pk=package.pk).update(
            file=stored.file.name,
            sha256=digest,
            rows=rows,
            pages=pages,
            csv_sha256=csv_sha256,
            kind=kind,
            progress=1.0,
            started_at=None,
            status=PackageStatus.READY,
            generated_at=timezone.now(),
        )
        details = {
            "package": str(package.pk),
            "sha256": digest,
            "rows": rows,
            "pages": pages,
            "csv_sha256": csv_sha256,
        }
        audit_record(actor=None, action="package.generated", target=request, details=details)
        transition(request=request, action="finish", actor=None, details=details)


def package_release(*, request: LegalRequest, actor: AbstractUser) -> Package:
    """The custodian signs: re-render with the certificate in their name and date,
    verify again, seal, record the final SHA-256; ready -> released."""
    package = Package.objects.get(request=request)
    if request.status != Status.READY or package.status != PackageStatus.READY:
        raise Conflict(
            f"{request.number} has no package ready for release.", code="not_allowed_in_status"
        )
    scope = Scope.from_json(request.scope)
    title = getattr(settings, "LEGALOPS_CUSTODIAN_TITLE", "Custodian of Records")
    name = actor.get_full_name() or actor.username
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        try:
            pdf, expected, pages, csv_sha256 = _render(
                request=request,
                package=package,
                scope=scope,
                workdir=Path(tmp),
                custodian=(name, title),
            )
        except (RenderFailed, RenderRefused, RenderInputError) as exc:
            # The package stays ready and unchanged: say why, and let them try again.
            audit_record(
                actor=actor,
                action="package.release_failed",
                target=request,
                details={"problem": str(exc)},
            )
            raise Conflict(
                f"The package could not be signed and sealed ({exc}); nothing was released. "
                "Try again; if it fails again, regenerate the package.",
                code="not_allowed_in_status",
            ) from exc
        verification = package_verify_isolated(pdf=pdf, scope=scope, expected_count=expected)
        if not verification.ok or csv_sha256 != package.csv_sha256:
            audit_record(
                actor=actor,
                action="package.verification_failed",
                target=request,
                details={"problem": verification.problem or "records changed"},
            )
            raise Conflict(
                "The records no longer match the package that was checked "
                f"({verification.problem or 'the extract changed'}); regenerate it.",
                code="not_allowed_in_status",
            )
        digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
        with transaction.atomic(), pdf.open("rb") as handle:
            locked = Package.objects.select_for_update().get(pk=package.pk)
            if locked.status != PackageStatus.READY:
                raise Conflict("This package was released meanwhile.", code="not_allowed_in_status")
            locked.file.save(f"{request.number}-final-{digest[:12]}.pdf", File(handle), save=False)
            now = timezone.now()
            Package.objects.filter(pk=package.pk).update(
                file=locked.file.name,
                sha256=digest,
                pages=pages,
                status=PackageStatus.RELEASED,
                released_at=now,
                released_by=actor,
            )
            outcome = Outcome.DATA_PRODUCED if verification.rows else Outcome.NO_DATA
            transition(
                request=request,
                action="release",
                actor=actor,
                details={"sha256": digest, "rows": verification.rows, "signed_by": name},
                updates={"outcome": outcome},
            )
            _notify_release(request=request, digest=digest)
    package.refresh_from_db()
    return package


def _notify_release(*, request: LegalRequest, digest: str) -> None:
    def send() -> None:
        send_mail(
            subject=f"[{request.number}] Production released",
            message=(
                f"The production for {request.number} ({request.reference}) is ready to "
                f"download through the API.\nSHA-256: {digest}"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[request.contact_email],
        )

    transaction.on_commit(send)


def package_open(*, request: LegalRequest, actor: AbstractUser) -> tuple[Package, BinaryIO]:
    """Open the PDF for download after re-checking its hash; an agency's first
    download marks the request delivered. Every download is audited."""
    package = Package.objects.get(request=request)
    data = package.file.open("rb").read() if package.file else b""
    if hashlib.sha256(data).hexdigest() != package.sha256:
        audit_record(
            actor=actor,
            action="package.integrity_failed",
            target=request,
            details={"package": str(package.pk), "expected": package.sha256},
        )
        raise PackageIntegrityError(request.number)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="package.downloaded",
            target=request,
            details={
                "sha256": package.sha256,
                "by": "agency" if user_is_officer(actor) else "staff",
            },
        )
        if user_is_officer(actor) and request.status == Status.RELEASED:
            transition(request=request, action="deliver", actor=actor)
    return package, io.BytesIO(data)


def package_regenerate(*, request: LegalRequest, actor: AbstractUser) -> Package:
    """Staff send a failed package back to the queue: failed -> approved, attempts reset."""
    with transaction.atomic():
        transition(request=request, action="regenerate", actor=actor)
        Package.objects.filter(request=request).update(
            status=PackageStatus.QUEUED, attempts=0, error="", progress=0.0
        )
        return package_enqueue(request=request)


def packages_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue packages whose worker's lease expired (the worker died)."""
    from legalops.disclosures.tasks import package_generate_task

    moment = now or timezone.now()
    lease = timedelta(seconds=settings.LEGALOPS_PACKAGE_TIME_LIMIT)
    stuck = list(
        Package.objects.filter(
            status__in=[PackageStatus.PROCESSING], started_at__lt=moment - lease
        ).values_list("request_id", flat=True)
    )
    queued = list(
        Package.objects.filter(
            status=PackageStatus.QUEUED,
            request__status=Status.APPROVED,
            created_at__lt=moment - lease,
        ).values_list("request_id", flat=True)
    )
    for request_id in stuck + queued:
        package_generate_task.delay(str(request_id))
    return len(stuck) + len(queued)


def acknowledgement_issue(*, request: LegalRequest) -> Package:
    """A preservation's acknowledgement letter: nothing is disclosed, so it is issued
    at once (released) for the agency to download."""
    package, created = Package.objects.get_or_create(
        request=request,
        defaults={"bates_prefix": _bates_prefix(request), "kind": PackageKind.ACKNOWLEDGEMENT},
    )
    if not created and package.status == PackageStatus.RELEASED:
        return package
    with tempfile.TemporaryDirectory(prefix="ack-") as tmp:
        pdf = Path(tmp) / "acknowledgement.pdf"
        pages = letter_pdf_render(
            template="pdf/preservation_ack.html",
            context=acknowledgement_context(request=request),
            out_path=pdf,
        )
        digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
        with transaction.atomic(), pdf.open("rb") as handle:
            package.file.save(f"{request.number}-acknowledgement.pdf", File(handle), save=False)
            now = timezone.now()
            Package.objects.filter(pk=package.pk).update(
                file=package.file.name,
                sha256=digest,
                pages=pages,
                rows=0,
                progress=1.0,
                status=PackageStatus.RELEASED,
                generated_at=now,
                released_at=now,
            )
            audit_record(
                actor=None,
                action="package.acknowledgement_issued",
                target=request,
                details={"sha256": digest},
            )
    package.refresh_from_db()
    return package
