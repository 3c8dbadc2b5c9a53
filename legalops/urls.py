from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from legalops.health import healthz
from lookups.api import LogIngestView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/logs/", LogIngestView.as_view(), name="logs-ingest"),
]

handler404 = "legalops.api_errors.api_not_found"
handler500 = "legalops.api_errors.api_server_error"
