"""Sign-in for legal staff only: officers and the ingest account are refused with no
session, repeated failures lock out, an idle session ends, CSRF is enforced."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from legalops.audit.models import AuditEvent
from tests.conftest import Cast
from tests.web.pages import PASSWORD, page_text, signed_in

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str = PASSWORD) -> object:
    return client.post("/login/", {"username": username, "password": password})


def test_signed_out_visitor_is_sent_to_the_sign_in_page() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"
    page = Client().get("/login/")
    assert page.status_code == 200
    text = page_text(page)
    assert "Sign in" in text and "Username" in text and "Password" in text


def test_staff_sign_in_lands_on_the_dashboard_and_is_audited(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Waiting for me" in page_text(dashboard)
    assert AuditEvent.objects.filter(action="staff.signed_in", actor_label="rev_one").exists()


def test_an_officer_cannot_sign_in(cast: Cast) -> None:
    officer = cast.officer_a.user
    # Officers have no usable password by design; give this one a password to show
    # that even the right password does not open the staff UI.
    officer.set_password(PASSWORD)
    officer.save()
    client = Client()
    response = _sign_in(client, officer.username)
    assert response.status_code == 200
    assert "This sign-in is for legal staff only" in page_text(response)
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_the_ingest_account_cannot_sign_in(cast: Cast) -> None:
    client = Client()
    response = _sign_in(client, cast.ingest.user.username)
    assert "This sign-in is for legal staff only" in page_text(response)
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_says_so_next_to_the_form(cast: Cast) -> None:
    response = _sign_in(Client(), "rev_one", "not the password")
    assert response.status_code == 200
    assert "The username or password is not right" in page_text(response)


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(cast: Cast) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "rev_one", "guess").status_code == 200
    # The failure that reaches the limit is already answered with the lockout page.
    assert _sign_in(client, "rev_one", "guess").status_code == 429
    locked = _sign_in(client, "rev_one", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in page_text(locked)
    assert "_auth_user_id" not in client.session
    # Another staff member from the same address is not locked out by rev_one's failures.
    assert _sign_in(Client(), "rev_two").status_code == 302


def test_an_idle_session_ends(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    assert client.get("/").status_code == 200
    assert settings.SESSION_COOKIE_AGE == settings.LEGALOPS_SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    # Move the stored expiry back past the idle limit, as if nobody had clicked since.
    from django.contrib.sessions.models import Session

    session = Session.objects.get(session_key=client.session.session_key)
    session.expire_date = timezone.now() - timezone.timedelta(seconds=1)
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_each_request_pushes_the_idle_expiry_forward(cast: Cast) -> None:
    from django.contrib.sessions.models import Session

    client = signed_in(cast.reviewer_1)
    key = client.session.session_key
    soon = timezone.now() + timezone.timedelta(seconds=30)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    client.get("/")
    assert Session.objects.get(session_key=key).expire_date > soon


def test_csrf_is_enforced_on_sign_in_and_on_actions(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"username": "rev_one", "password": PASSWORD}).status_code == 403
    signed = signed_in(cast.reviewer_1)
    assert signed.post("/logout/").status_code == 403  # no token
    assert signed.get("/").status_code == 200  # still signed in


def test_sign_out_is_post_only_and_ends_the_session(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    assert client.get("/logout/").status_code == 405
    token = client.cookies["csrftoken"].value
    response = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_password_change(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    token = client.cookies["csrftoken"].value
    new = "a much longer passphrase 77"
    short = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "short",
            "new_password2": "short",
            "csrfmiddlewaretoken": token,
        },
    )
    assert short.status_code == 200
    assert "There is a problem" in page_text(short) or "problems" in page_text(short)
    response = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": new,
            "new_password2": new,
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert get_user_model().objects.get(username="rev_one").check_password(new)
    assert AuditEvent.objects.filter(action="staff.password_changed").exists()


def test_an_admin_signs_in_but_request_pages_are_for_case_staff(cast: Cast) -> None:
    client = signed_in(cast.admin)
    assert client.get("/").status_code == 200
    assert client.get("/requests/").status_code == 403


def test_an_unknown_page_is_a_page_and_an_unknown_api_path_is_json(cast: Cast) -> None:
    client = signed_in(cast.reviewer_1)
    page = client.get("/requests/00000000-0000-0000-0000-000000000000/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert "Page not found" in page_text(page)
    api = client.get("/api/v1/nothing-here/")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not found."}


def test_a_poll_after_the_session_ended_sends_the_page_to_sign_in(cast: Cast) -> None:
    response = Client().get(
        "/requests/00000000-0000-0000-0000-000000000000/package/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/?next=")
