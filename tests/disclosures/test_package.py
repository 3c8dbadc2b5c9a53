"""The package job in-process: generate, verify, release, deliver (invariants 1, 2, 7)."""

import csv
import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest, Status
from legalops.disclosures import records as records_module
from legalops.disclosures.models import Package, PackageStatus
from legalops.disclosures.records import csv_rows, embedded_csv
from legalops.disclosures.services import package_generate
from legalops.disclosures.verify import Verification
from lookups.models import QueryLogEntry
from tests.conftest import Cast
from tests.disclosures.flow import approved_request, seed_logs

pytestmark = pytest.mark.django_db
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def _approve(cast: Cast, capture) -> tuple[str, dict[str, list[str]]]:  # type: ignore[no-untyped-def]
    seeded = seed_logs()
    with capture(execute=False):  # the job is run below, in this process
        request_id = approved_request(cast, start=seeded["start"][0], end=seeded["end"][0])
    return request_id, seeded


def _pdf_text(data: bytes) -> str:
    # Whitespace collapsed: extraction breaks lines wherever the layout wrapped them.
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def test_an_approved_request_becomes_a_verified_released_delivered_package(
    cast: Cast,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    request_id, seeded = _approve(cast, django_capture_on_commit_callbacks)
    assert Package.objects.get(request_id=request_id).status == PackageStatus.QUEUED
    package = package_generate(request_id=request_id)
    assert package is not None and package.status == PackageStatus.READY
    assert package.rows == len(seeded["inside"])
    assert LegalRequest.objects.get(pk=request_id).status == Status.READY

    agency = cast.officer_a.client()
    assert agency.get(f"/api/v1/requests/{request_id}/package/").status_code == 404
    assert agency.get(f"/api/v1/requests/{request_id}/package/pdf").status_code == 404
    staff = cast.reviewer_1.client().get(f"/api/v1/requests/{request_id}/package/").json()
    assert staff["status"] == "ready" and staff["progress"] == 1.0

    draft = cast.reviewer_1.client().get(f"/api/v1/requests/{request_id}/package/pdf")
    assert draft.status_code == 200
    draft_bytes = b"".join(draft.streaming_content)
    assert "DRAFT" in _pdf_text(draft_bytes)

    not_custodian = cast.reviewer_1.client().post(f"/api/v1/requests/{request_id}/release/")
    assert not_custodian.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        released = cast.custodian.client().post(f"/api/v1/requests/{request_id}/release/")
    assert released.status_code == 200, released.json()
    assert released.json()["status"] == "released"
    assert released.json()["outcome"] == "data_produced"

    meta = agency.get(f"/api/v1/requests/{request_id}/package/").json()
    download = agency.get(f"/api/v1/requests/{request_id}/package/pdf")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Cache-Control"] == "no-store"
    body = b"".join(download.streaming_content)
    assert hashlib.sha256(body).hexdigest() == meta["sha256"] == download["X-Content-SHA256"]
    assert LegalRequest.objects.get(pk=request_id).status == Status.DELIVERED

    text = _pdf_text(body)
    request = LegalRequest.objects.get(pk=request_id)
    assert request.number in text and request.reference in text
    assert "I declare under penalty of perjury" in text
    assert "/s/ custodian" in text or "/s/ Custodian" in text
    rows = csv_rows(embedded_csv_from(body))
    by_time = {row["occurred_at_utc"] for row in rows}
    expected = QueryLogEntry.objects.filter(event_id__in=seeded["inside"])
    assert len(rows) == len(seeded["inside"])
    assert by_time == {records_module.utc_text(e.occurred_at) for e in expected}
    for decoy in QueryLogEntry.objects.filter(event_id__in=seeded["decoys"]):
        assert records_module.utc_text(decoy.occurred_at) not in by_time, decoy
    assert {row["source"] for row in rows} == {"+14155550100"}

    actions = list(AuditEvent.objects.filter(object_id=request_id).values_list("action", flat=True))
    for action in (
        "request.start_processing",
        "package.generated",
        "request.finish",
        "request.release",
        "request.deliver",
    ):
        assert actions.count(action) == 1, (action, actions)
    assert actions.count("package.downloaded") == 2  # the staff draft, then the agency


def embedded_csv_from(data: bytes) -> bytes:
    path = Path("/tmp") / f"pkg-{hashlib.sha256(data).hexdigest()[:12]}.pdf"  # noqa: S108
    path.write_bytes(data)
    try:
        return embedded_csv(path)
    finally:
        path.unlink()


def test_running_the_job_twice_leaves_one_package_and_one_generated_event(
    cast: Cast,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    request_id, _ = _approve(cast, django_capture_on_commit_callbacks)
    first = package_generate(request_id=request_id)
    second = package_generate(request_id=request_id)
    assert first is not None and second is None
    assert Package.objects.filter(request_id=request_id).count() == 1
    assert AuditEvent.objects.filter(object_id=request_id, action="package.generated").count() == 1


@pytest.mark.parametrize("mutation", ["extra_row", "missing_row", "second_out_of_range"])
def test_verifier_mutations_never_become_ready(
    cast: Cast,
    django_capture_on_commit_callbacks,
    monkeypatch,
    mutation: str,  # type: ignore[no-untyped-def]
) -> None:
    request_id, _ = _approve(cast, django_capture_on_commit_callbacks)
    real = records_module.extract_write

    def tampered(*, scope, region, path, on_row):  # type: ignore[no-untyped-def]
        extract = real(scope=scope, region=region, path=path)
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if mutation == "extra_row":
            rows.append({**rows[-1], "row": str(len(rows) + 1)})
        elif mutation == "missing_row":
            rows.pop()
        else:  # one second past the inclusive end: outside the scope
            rows[-1]["occurred_at_utc"] = records_module.utc_text(scope.date_to + SECOND)
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
            writer.writeheader()
            writer.writerows(rows)
        # A consistent but wrong extract (the printed rows are the same wrong rows):
        # only the verifier can catch it now.
        for row in rows:
            on_row(row)
        extract.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        extract.rows = len(rows)
        return extract

    monkeypatch.setattr("legalops.disclosures.services.extract_write", tampered)
    assert package_generate(request_id=request_id) is None
    package = Package.objects.get(request_id=request_id)
    assert package.status == PackageStatus.FAILED
    assert "verification" in package.error
    assert LegalRequest.objects.get(pk=request_id).status == Status.FAILED
    assert (
        AuditEvent.objects.filter(
            object_id=request_id, action="package.verification_failed"
        ).count()
        == 1
    )


def test_a_tampered_file_is_refused_and_audited(
    cast: Cast,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    request_id, _ = _approve(cast, django_capture_on_commit_callbacks)
    package = package_generate(request_id=request_id)
    assert package is not None
    with open(package.file.path, "ab") as handle:
        handle.write(b"%tampered")
    response = cast.reviewer_1.client().get(f"/api/v1/requests/{request_id}/package/pdf")
    assert response.status_code == 503
    assert (
        AuditEvent.objects.filter(object_id=request_id, action="package.integrity_failed").count()
        == 1
    )


def test_failed_packages_can_be_regenerated(
    cast: Cast,
    django_capture_on_commit_callbacks,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    request_id, _ = _approve(cast, django_capture_on_commit_callbacks)
    monkeypatch.setattr(
        "legalops.disclosures.services.package_verify_isolated",
        lambda **_: Verification(False, 0, "", "forced"),
    )
    assert package_generate(request_id=request_id) is None
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=False):
        response = cast.reviewer_1.client().post(f"/api/v1/requests/{request_id}/regenerate/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "queued"
    package = package_generate(request_id=request_id)
    assert package is not None and package.status == PackageStatus.READY


def test_a_refused_render_fails_the_package_with_a_reason(
    cast: Cast,
    django_capture_on_commit_callbacks,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from legalops.disclosures.fetcher import RenderRefused

    request_id, _ = _approve(cast, django_capture_on_commit_callbacks)

    def refuse(**_: object) -> int:
        raise RenderRefused("file:///etc/passwd")

    monkeypatch.setattr("legalops.disclosures.services.package_pdf_render", refuse)
    assert package_generate(request_id=request_id) is None
    package = Package.objects.get(request_id=request_id)
    assert package.status == PackageStatus.FAILED
    assert "file:///etc/passwd" in package.error


def test_a_scope_with_no_rows_gets_a_no_responsive_records_letter(
    cast: Cast,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=False):
        request_id = approved_request(
            cast,
            start=(now - timedelta(days=5)).isoformat(),
            end=(now - timedelta(days=1)).isoformat(),
        )
    package = package_generate(request_id=request_id)
    assert package is not None and package.status == PackageStatus.READY
    assert package.rows == 0 and package.kind == "no_records"
    text = _pdf_text(Path(package.file.path).read_bytes())
    assert "+14155550100" in text, text
    lowered = text.lower()
    assert "no account" not in lowered and "no communication" not in lowered
    assert "diligent" in lowered
    cast.custodian.client().post(f"/api/v1/requests/{request_id}/release/")
    assert LegalRequest.objects.get(pk=request_id).outcome == "no_data"


def test_a_preservation_gets_an_acknowledgement_letter(
    cast: Cast,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from legalops.disclosures.services import acknowledgement_issue
    from tests.cases.requests import preservation

    with django_capture_on_commit_callbacks(execute=False):
        created = (
            cast.officer_a.client().post("/api/v1/requests/", preservation(), format="json").json()
        )
    package = acknowledgement_issue(request=LegalRequest.objects.get(pk=created["id"]))
    assert package.status == PackageStatus.RELEASED and package.kind == "acknowledgement"
    download = cast.officer_a.client().get(f"/api/v1/requests/{created['id']}/package/pdf")
    assert download.status_code == 200
    text = _pdf_text(b"".join(download.streaming_content))
    assert created["number"] in text
    assert "to the extent such records exist" in text.lower()
    assert LegalRequest.objects.get(pk=created["id"]).status == Status.PRESERVED
