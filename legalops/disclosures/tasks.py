"""Thin tasks: an id in, one service call. Time limits are explicit; the attempt
counter lives in the database (a worker killed mid-job is redelivered by acks_late,
and the counter ends a job that always kills its worker)."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from legalops.cases.models import LegalRequest
from legalops.disclosures.services import (
    acknowledgement_issue,
    package_generate,
    package_timed_out,
    packages_sweep,
)

logger = logging.getLogger(__name__)


@shared_task(
    name="disclosures.package_generate",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.LEGALOPS_PACKAGE_SOFT_TIME_LIMIT,
    time_limit=settings.LEGALOPS_PACKAGE_TIME_LIMIT,
)
def package_generate_task(request_id: str) -> None:
    try:
        package = package_generate(request_id=request_id)
    except SoftTimeLimitExceeded:
        package_timed_out(request_id=request_id)
        return
    if package is not None:
        logger.info("package for %s: %s, %s rows", request_id, package.status, package.rows)


@shared_task(name="disclosures.packages_sweep", soft_time_limit=60, time_limit=120)
def packages_sweep_task() -> None:
    swept = packages_sweep()
    if swept:
        logger.warning("re-enqueued %d package job(s) whose worker stopped", swept)


@shared_task(name="disclosures.acknowledgement_issue", soft_time_limit=120, time_limit=180)
def acknowledgement_issue_task(request_id: str) -> None:
    acknowledgement_issue(request=LegalRequest.objects.get(pk=request_id))
