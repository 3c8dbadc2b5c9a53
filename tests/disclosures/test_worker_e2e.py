"""End to end through a real Celery worker process on PostgreSQL and Redis."""

import hashlib
import io
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from legalops.audit.models import AuditEvent
from legalops.cases.models import LegalRequest, Status
from legalops.disclosures.models import Package, PackageStatus
from legalops.disclosures.records import csv_rows, utc_text
from legalops.disclosures.services import packages_sweep
from lookups.models import QueryLogEntry
from tests.conftest import Cast
from tests.disclosures.flow import approved_request, seed_logs
from tests.disclosures.worker import celery_worker, wait_for, worker_children

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _status(request_id: str) -> str:
    return LegalRequest.objects.get(pk=request_id).status


def test_file_approve_generate_release_download(cast: Cast, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    seeded = seed_logs(count=60)
    with celery_worker(media_root=tmp_path):
        request_id = approved_request(cast, start=seeded["start"][0], end=seeded["end"][0])
        assert wait_for(lambda: _status(request_id) == Status.READY, timeout=120), (
            _status(request_id),
            Package.objects.get(request_id=request_id).error,
        )
    release = cast.custodian.client().post(f"/api/v1/requests/{request_id}/release/")
    assert release.status_code == 200, release.json()
    download = cast.officer_a.client().get(f"/api/v1/requests/{request_id}/package/pdf")
    body = b"".join(download.streaming_content)
    package = Package.objects.get(request_id=request_id)
    assert hashlib.sha256(body).hexdigest() == package.sha256
    assert package.rows == 60
    text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(body)).pages
    )
    request = LegalRequest.objects.get(pk=request_id)
    assert request.number in text and request.reference in text
    assert "Rows found" in text and "60" in text
    csv_data = PdfReader(io.BytesIO(body)).attachments["records.csv"][0]
    rows = csv_rows(csv_data)
    expected = QueryLogEntry.objects.filter(event_id__in=seeded["inside"])
    assert {r["occurred_at_utc"] for r in rows} == {utc_text(e.occurred_at) for e in expected}
    for decoy in QueryLogEntry.objects.filter(event_id__in=seeded["decoys"]):
        assert utc_text(decoy.occurred_at) not in {r["occurred_at_utc"] for r in rows}
    for row in rows:  # every printed row is on the pages too
        assert row["occurred_at_utc"][:19] in text
    assert _status(request_id) == Status.DELIVERED


def test_a_worker_killed_mid_job_leaves_exactly_one_package(
    cast: Cast,
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings.MEDIA_ROOT = tmp_path
    seeded = seed_logs(count=1500)  # enough rows that the render takes a while
    with celery_worker(media_root=tmp_path) as worker:
        request_id = approved_request(cast, start=seeded["start"][0], end=seeded["end"][0])
        assert wait_for(
            lambda: Package.objects.get(request_id=request_id).status == PackageStatus.PROCESSING,
            timeout=60,
        )
        for pid in worker_children(worker):
            os.kill(pid, signal.SIGKILL)
        # The redelivered message finds the dead worker's lease still live and leaves
        # the work alone; once the lease has run out the sweeper re-enqueues it.
        Package.objects.filter(request_id=request_id).update(
            started_at=timezone.now() - timedelta(hours=2)
        )
        assert packages_sweep() >= 1
        assert wait_for(lambda: _status(request_id) == Status.READY, timeout=180), (
            _status(request_id),
            Package.objects.get(request_id=request_id).error,
        )
    package = Package.objects.get(request_id=request_id)
    assert Package.objects.filter(request_id=request_id).count() == 1
    assert package.attempts == 2
    generated = AuditEvent.objects.filter(object_id=request_id, action="package.generated")
    assert generated.count() == 1
    assert package.rows == 1500
