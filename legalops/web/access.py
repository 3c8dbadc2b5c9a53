"""Who may open a staff page: signed-in staff with one of a page's roles.

Officers and the ingest account cannot sign in (legalops.web.auth), but a session
may still exist from before a role changed, so every page checks again.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from legalops.accounts.roles import STAFF_ROLES, Role, user_is_officer

# Reviewers and custodians work on requests; admins manage accounts and read the audit.
CASE_ROLES = (Role.REVIEWER.value, Role.CUSTODIAN.value)


def staff_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    """The staff roles a user holds; empty for officers, the ingest account and strangers."""
    if user is None or not user.is_authenticated or not user.is_active or user_is_officer(user):
        return frozenset()
    cached = getattr(user, "_staff_roles", None)
    if cached is None:
        names = user.groups.filter(name__in=STAFF_ROLES).values_list("name", flat=True)
        cached = frozenset(names)
        user._staff_roles = cached  # type: ignore[union-attr]  # one query per request
    return cached


def user_may_open(user: AbstractBaseUser | AnonymousUser | None, roles: Iterable[str]) -> bool:
    return bool(staff_roles(user) & set(roles))


def _check(request: HttpRequest, roles: Iterable[str]) -> HttpResponse | None:
    if not request.user.is_authenticated:
        if request.headers.get("HX-Request"):
            # A poll from a page whose session ended: send the whole page to the sign-in
            # page instead of swapping the sign-in form into a panel.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(request.get_full_path())["Location"]
            return response
        return redirect_to_login(request.get_full_path())
    if not user_may_open(request.user, roles):
        raise PermissionDenied("This page is for legal staff with another role.")
    return None


def staff_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view: signed out goes to the sign-in page, a wrong role is a 403.

    ``@staff_required()`` admits any staff role; ``@staff_required(*CASE_ROLES)`` or
    ``@staff_required("custodian")`` narrows it.
    """
    allowed = roles or STAFF_ROLES

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = _check(request, allowed)
            return refused if refused is not None else view(request, *args, **kwargs)

        return wrapper

    return decorator


class StaffRequiredMixin:
    """The class-based form of ``staff_required``: set ``allowed_roles`` to narrow it."""

    allowed_roles: tuple[str, ...] = STAFF_ROLES

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = _check(request, self.allowed_roles)
        if refused is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
