from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from legalops.health import healthz
from lookups.api import LogIngestView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file from our static assets: no inline
    # script, no CDN.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/logs/", LogIngestView.as_view(), name="logs-ingest"),
    path("api/v1/", include("legalops.cases.urls")),
    path("api/v1/", include("legalops.disclosures.urls")),
    path("api/v1/", include("legalops.transparency.urls")),
    # The staff UI at the site root (its own namespace, "web").
    path("", include("legalops.web.urls")),
]

handler400 = "legalops.api_errors.api_bad_request"
handler403 = "legalops.api_errors.api_permission_denied"
handler404 = "legalops.api_errors.api_not_found"
handler500 = "legalops.api_errors.api_server_error"
