from django.urls import path

from legalops.cases import api

urlpatterns = [
    path("requests/", api.RequestListView.as_view(), name="requests"),
    path("requests/<uuid:request_id>/", api.RequestDetailView.as_view(), name="request"),
    path(
        "requests/<uuid:request_id>/documents/",
        api.RequestDocumentsView.as_view(),
        name="request-documents",
    ),
    path(
        "requests/<uuid:request_id>/documents/<uuid:document_id>/",
        api.RequestDocumentFileView.as_view(),
        name="request-document",
    ),
    path("requests/<uuid:request_id>/renew/", api.RequestRenewView.as_view(), name="request-renew"),
    path("agencies/", api.AgencyListView.as_view(), name="agencies"),
    path("holds/", api.HoldListView.as_view(), name="holds"),
    path("holds/<uuid:hold_id>/release/", api.HoldReleaseView.as_view(), name="hold-release"),
]
