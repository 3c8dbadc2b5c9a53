import logging

from celery import shared_task

from legalops.cases.services import preservations_expire

logger = logging.getLogger(__name__)


@shared_task(name="cases.preservations_expire", soft_time_limit=240, time_limit=300)
def preservations_expire_task() -> None:
    expired = preservations_expire()
    if expired:
        logger.info("%d preservation(s) ended and were marked expired", expired)
