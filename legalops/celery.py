"""The Celery application. Configuration lives in settings (namespace CELERY_)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalops.settings")

app = Celery("legalops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
