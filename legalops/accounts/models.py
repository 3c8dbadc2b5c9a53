"""Agencies and their officers, and API tokens (only a hash is stored; the key is
shown once, when it is made)."""

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "lo_"  # noqa: S105 (a label, not a secret)


def token_hash(key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash cannot be brute-forced and
    # lookups by hash stay O(1).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Agency(models.Model):
    """A law-enforcement agency. Its officers see only its own requests."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(
        max_length=2, default="US", help_text="ISO 3166-1 alpha-2; reads national numbers."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class Officer(models.Model):
    """Binds a user to exactly one agency: that user is then an agency account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="officer"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="officers")

    def __str__(self) -> str:
        return f"{self.user} ({self.agency})"


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="default")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_hint = models.CharField(
        max_length=12, editable=False, help_text="The first characters, to tell keys apart."
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_hint}… ({self.user})"

    def is_usable(self, *, at: "timezone.datetime | None" = None) -> bool:
        moment = at or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment
