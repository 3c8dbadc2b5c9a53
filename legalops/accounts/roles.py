"""Staff and service roles, held as Django groups so admins manage them in the admin."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

STAFF_ROLES = ("reviewer", "custodian", "admin")


class Role(models.TextChoices):
    REVIEWER = "reviewer", "Reviewer"
    CUSTODIAN = "custodian", "Custodian of records"
    ADMIN = "admin", "Administrator"
    INGEST = "ingest", "Log ingest (service account)"


def user_has_role(user: AbstractBaseUser | AnonymousUser | None, role: Role) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name=role.value).exists()


def user_is_officer(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(user and user.is_authenticated and hasattr(user, "officer"))


def user_is_reviewing_staff(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Legal staff who see every request: reviewers and custodians (admins manage
    accounts, not cases)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name__in=[Role.REVIEWER.value, Role.CUSTODIAN.value]).exists()
