"""Sign-in, sign-out and password change for legal staff.

Only staff roles (reviewer, custodian, admin) may sign in: officers use the API
with their agency's token and the ingest account is a service. They are refused
before any session exists. Failed attempts are counted by django-axes, which
locks a username at one address out after LEGALOPS_SIGNIN_FAILURE_LIMIT failures.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse_lazy

from legalops.audit.services import audit_record
from legalops.web.access import StaffRequiredMixin, staff_roles
from legalops.web.forms import UswdsFormMixin

NOT_STAFF = (
    "This sign-in is for legal staff only. Officers use the API with their agency's "
    "token; service accounts cannot sign in here."
)


class StaffAuthenticationForm(UswdsFormMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "The username or password is not right. Check both and try again; after "
            "several failed attempts sign-in is locked for a while."
        ),
        "not_staff": NOT_STAFF,
    }

    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        super().confirm_login_allowed(user)
        if not staff_roles(user):
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")


class StaffPasswordChangeForm(UswdsFormMixin, PasswordChangeForm):
    pass


class SignInView(auth_views.LoginView):
    template_name = "web/auth/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: StaffAuthenticationForm) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            audit_record(actor=form.get_user(), action="staff.signed_in", target=form.get_user())
        return response


class SignOutView(auth_views.LogoutView):
    """POST only (Django's own rule): a link or an image cannot sign anyone out."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        with transaction.atomic():
            if user.is_authenticated:
                audit_record(actor=user, action="staff.signed_out", target=user)
            response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class PasswordChangeView(StaffRequiredMixin, auth_views.PasswordChangeView):
    template_name = "web/auth/password_change.html"
    form_class = StaffPasswordChangeForm
    success_url = reverse_lazy("web:dashboard")

    def form_valid(self, form: StaffPasswordChangeForm) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            audit_record(actor=self.request.user, action="staff.password_changed", target=form.user)
        messages.success(self.request, "Your password is changed.")
        return response
