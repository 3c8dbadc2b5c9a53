import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from legalops.accounts.models import ApiToken, Officer
from legalops.audit.models import AuditEvent
from legalops.audit.verify import audit_verify

pytestmark = pytest.mark.django_db


def test_create_agency_prints_the_token_alone_on_the_last_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    call_command("create_agency", "Berkeley PD", "--email", "det@berkeleypd.example.gov")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("lo_") and " " not in key
    officer = Officer.objects.get(user__username="det@berkeleypd.example.gov")
    assert officer.agency.country == "US"
    stored = ApiToken.objects.get(user=officer.user)
    assert key not in {stored.key_hash, stored.key_hint}
    assert not officer.user.has_usable_password()


def test_create_agency_refuses_a_bad_country_and_duplicates() -> None:
    with pytest.raises(CommandError, match="ISO 3166-1"):
        call_command("create_agency", "X", "--email", "x@x.example", "--country", "USA")
    call_command("create_agency", "Y", "--email", "y@y.example")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_agency", "Y", "--email", "z@y.example")


def test_create_staff_rotate_and_revoke(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("create_staff", "rev", "--role", "reviewer")
    first = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("rotate_token", "rev")
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert first != second
    tokens = ApiToken.objects.filter(user__username="rev")
    assert tokens.filter(revoked_at__isnull=True).count() == 1
    call_command("revoke_token", "rev")
    assert tokens.filter(revoked_at__isnull=True).count() == 0
    with pytest.raises(CommandError, match="no active token"):
        call_command("revoke_token", "rev")


def test_token_events_are_audited_without_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("create_staff", "pipe", "--role", "ingest")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("revoke_token", "pipe")
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["staff.created", "token.issued", "token.revoked"]
    assert all(key not in str(e.details) for e in AuditEvent.objects.all())
    assert audit_verify().ok


def test_staff_role_is_validated(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandError):
        call_command("create_staff", "x", "--role", "superuser")
