"""``Authorization: Token <key>`` against hashed, expiring, revocable API tokens."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

# The scheme's OpenAPI description, registered wherever the scheme itself is loaded
# (every DRF view loads it): not at start-up, which the management commands that need
# no API (ingest, purge) would pay for.
from legalops.accounts import schema as _schema  # noqa: F401
from legalops.accounts.models import ApiToken, token_hash

# Writing last_used_at on every call would turn each read into a write; a minute's
# resolution is enough to answer "is this key still in use?".
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(key)).first()
        now = timezone.now()
        if token is None or not token.is_usable(at=now) or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
