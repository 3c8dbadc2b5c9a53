from django.urls import path

from legalops.disclosures import api

urlpatterns = [
    path("requests/<uuid:request_id>/package/", api.PackageView.as_view(), name="package"),
    path(
        "requests/<uuid:request_id>/package/pdf", api.PackagePdfView.as_view(), name="package-pdf"
    ),
    path("requests/<uuid:request_id>/release/", api.ReleaseView.as_view(), name="release"),
    path("requests/<uuid:request_id>/regenerate/", api.RegenerateView.as_view(), name="regenerate"),
]
