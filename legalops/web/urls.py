"""The staff UI's pages, in the ``web`` namespace, mounted at the site root.

One flat list: each area adds its lines at the end.
"""

from django.urls import path

from legalops.web import auth, dashboard

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password-change"),
]
