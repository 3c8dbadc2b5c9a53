"""Staff and service roles, held as Django groups so admins manage them in the admin."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class Role(models.TextChoices):
    REVIEWER = "reviewer", "Reviewer"
    CUSTODIAN = "custodian", "Custodian of records"
    ADMIN = "admin", "Administrator"
    INGEST = "ingest", "Log ingest (service account)"


def user_has_role(user: AbstractBaseUser | AnonymousUser | None, role: Role) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name=role.value).exists()
