"""Writes for accounts: staff users, agencies and API tokens. Each is audited."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction
from django.utils import timezone

from legalops.accounts.models import TOKEN_PREFIX, Agency, ApiToken, Officer, token_hash
from legalops.accounts.roles import Role
from legalops.audit.services import audit_record


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only time the plain key exists


@transaction.atomic
def token_issue(
    *, user: AbstractUser, name: str = "default", expires_at: datetime | None = None
) -> IssuedToken:
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=token_hash(key), key_hint=key[:10], expires_at=expires_at
    )
    # The hint, never the key: the audit log must not become a place to steal keys.
    audit_record(
        actor=None,
        action="token.issued",
        target=token,
        details={"user": user.username, "hint": token.key_hint, "expires_at": expires_at},
    )
    return IssuedToken(token=token, key=key)


@transaction.atomic
def token_revoke(*, token: ApiToken) -> bool:
    """Revoke a token; returns False if it was already revoked (compare-and-set)."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit_record(
            actor=None,
            action="token.revoked",
            target=token,
            details={"user": token.user.username, "hint": token.key_hint},
        )
    return updated == 1


@transaction.atomic
def staff_create(
    *, username: str, role: Role, password: str | None = None, email: str = ""
) -> tuple[AbstractUser, IssuedToken]:
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ValueError(f"a user named {username!r} already exists")
    user = user_model.objects.create_user(username=username, email=email, password=password)
    if password is None:
        user.set_unusable_password()
    # Service accounts never get a UI session; staff sign in with their password.
    user.is_staff = role in {Role.ADMIN}
    user.is_superuser = False
    user.save()
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    audit_record(
        actor=None,
        action="staff.created",
        target=user,
        details={"username": username, "role": role.value},
    )
    return user, token_issue(user=user, name=f"{role.value} token")


def token_rotate(*, token: ApiToken) -> IssuedToken:
    """Revoke ``token`` and issue its replacement for the same user, in one step."""
    with transaction.atomic():
        token_revoke(token=token)
        return token_issue(user=token.user, name=token.name, expires_at=token.expires_at)


@transaction.atomic
def agency_create(*, name: str, email: str, country: str = "US") -> tuple[Agency, IssuedToken]:
    """An agency and its first officer (username = email), with the officer's token."""
    country = country.upper()
    if len(country) != 2 or not country.isalpha():
        raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {country!r}")
    if Agency.objects.filter(name=name).exists():
        raise ValueError(f"an agency named {name!r} already exists")
    user_model = get_user_model()
    if user_model.objects.filter(username=email).exists():
        raise ValueError(f"a user {email!r} already exists")
    agency = Agency.objects.create(name=name, country=country)
    user = user_model.objects.create_user(username=email, email=email)
    user.set_unusable_password()  # officers use the API, never the staff UI
    user.save()
    Officer.objects.create(user=user, agency=agency)
    audit_record(
        actor=None,
        action="agency.created",
        target=agency,
        details={"name": name, "country": country, "officer": email},
    )
    return agency, token_issue(user=user, name="officer token")
