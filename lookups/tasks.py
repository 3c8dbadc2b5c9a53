import logging

from celery import shared_task

from lookups.retention import logs_purge

logger = logging.getLogger(__name__)


@shared_task(name="lookups.purge_logs", soft_time_limit=1500, time_limit=1800)
def logs_purge_task() -> None:
    run = logs_purge()
    logger.info("purge as of %s: deleted %d, kept %d held", run.as_of, run.deleted, run.kept_held)
