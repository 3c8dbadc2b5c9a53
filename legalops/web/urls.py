"""The staff UI's pages, in the ``web`` namespace, mounted at the site root.

One flat list: each area adds its lines at the end.
"""

from django.urls import path

from legalops.web import (
    audit,
    auth,
    dashboard,
    holds,
    intake,
    logsearch,
    requests_detail,
    requests_list,
    transparency,
)

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password-change"),
    path("requests/", requests_list.request_list, name="request-list"),
    path("requests/new/", intake.request_new, name="request-new"),
    path("requests/<uuid:request_id>/", requests_detail.request_detail, name="request-detail"),
    path(
        "requests/<uuid:request_id>/review/",
        requests_detail.request_review_submit,
        name="request-review",
    ),
    path(
        "requests/<uuid:request_id>/claim/",
        requests_detail.request_claim_submit,
        name="request-claim",
    ),
    path(
        "requests/<uuid:request_id>/package/regenerate/",
        requests_detail.request_package_regenerate,
        name="request-package-regenerate",
    ),
    path(
        "requests/<uuid:request_id>/verification/",
        requests_detail.request_verification_submit,
        name="request-verification",
    ),
    path(
        "requests/<uuid:request_id>/nondisclosure/",
        requests_detail.request_nondisclosure_submit,
        name="request-nondisclosure",
    ),
    path(
        "requests/<uuid:request_id>/package/",
        requests_detail.request_package_panel,
        name="request-package",
    ),
    path(
        "requests/<uuid:request_id>/package.pdf",
        requests_detail.request_package_pdf,
        name="request-package-pdf",
    ),
    path(
        "requests/<uuid:request_id>/documents/<uuid:document_id>/",
        requests_detail.request_document_open,
        name="request-document",
    ),
    path(
        "requests/<uuid:request_id>/release/",
        requests_detail.request_release,
        name="request-release",
    ),
    # Holds, log search, transparency and the audit viewer.
    path("holds/", holds.hold_list, name="holds"),
    path("holds/<uuid:hold_id>/release/", holds.hold_release, name="hold-release"),
    path("logsearch/", logsearch.log_search, name="logsearch"),
    path("transparency/", transparency.transparency_page, name="transparency"),
    path("transparency/csv", transparency.transparency_csv_download, name="transparency-csv"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/verify/", audit.audit_verify_run, name="audit-verify"),
]
