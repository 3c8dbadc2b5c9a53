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
    path(
        "requests/<uuid:request_id>/review/", api.RequestReviewView.as_view(), name="request-review"
    ),
    path("requests/<uuid:request_id>/claim/", api.RequestClaimView.as_view(), name="request-claim"),
    path(
        "requests/<uuid:request_id>/withdraw/",
        api.RequestWithdrawView.as_view(),
        name="request-withdraw",
    ),
    path(
        "requests/<uuid:request_id>/verification/",
        api.RequestVerificationView.as_view(),
        name="request-verification",
    ),
    path(
        "requests/<uuid:request_id>/extension/",
        api.RequestExtensionView.as_view(),
        name="request-extension",
    ),
    path(
        "requests/<uuid:request_id>/nondisclosure/",
        api.RequestNondisclosureView.as_view(),
        name="request-nondisclosure",
    ),
    path("agencies/", api.AgencyListView.as_view(), name="agencies"),
    path("holds/", api.HoldListView.as_view(), name="holds"),
    path("holds/<uuid:hold_id>/release/", api.HoldReleaseView.as_view(), name="hold-release"),
]
