import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class LegalOpsConfig(AppConfig):
    name = "legalops"
    verbose_name = "LegalOps"

    def ready(self) -> None:
        from legalops import checks  # noqa: F401  (registers the deploy checks)

        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.warning(
                "CELERY_BROKER_URL is unset: tasks run in-process, without time limits. "
                "That is for the demo only; production needs Redis and a worker."
            )
