"""The staff UI's pages, in the ``web`` namespace, mounted at the site root.

One flat list: each area adds its lines at the end.
"""

from django.urls import path

from legalops.web import auth, dashboard, requests_detail, requests_list

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password-change"),
    path("requests/", requests_list.request_list, name="request-list"),
    path("requests/<uuid:request_id>/", requests_detail.request_detail, name="request-detail"),
    path(
        "requests/<uuid:request_id>/review/",
        requests_detail.request_review_submit,
        name="request-review",
    ),
    path(
        "requests/<uuid:request_id>/verification/",
        requests_detail.request_verification_submit,
        name="request-verification",
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
]
