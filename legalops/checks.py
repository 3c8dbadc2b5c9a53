"""Deployment checks of our own, run by ``manage.py check --deploy``."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def broker_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return [
            Warning(
                "CELERY_BROKER_URL is unset, so tasks run in-process without time limits.",
                hint="Set CELERY_BROKER_URL=redis://... and run a worker and beat.",
                id="legalops.W001",
            )
        ]
    return []
