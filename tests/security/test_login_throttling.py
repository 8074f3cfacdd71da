"""Login throttling with django-axes: 5 failures per username and address lock for 15 minutes."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from integrations.services.tokens import api_token_create

from .conftest import PASSWORD

WRONG = "not-the-password"
LOCKED = 429


def attempt(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def fail_limit_times(client, username: str, address: str = "127.0.0.1") -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, username, WRONG, address)


def test_lockout_settings():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_four_failures_still_allow_login(client, sdr):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "sdr", WRONG).status_code == 200
    response = attempt(client, "sdr", PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(sdr.pk)


def test_failed_login_rerenders_form(client, sdr):
    response = attempt(client, "sdr", WRONG)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert "Please enter a correct username and password" in response.content.decode()


def test_sixth_attempt_locked_with_right_password(client, sdr):
    fail_limit_times(client, "sdr")
    response = attempt(client, "sdr", PASSWORD)
    page = response.content.decode()
    assert response.status_code == LOCKED
    assert SESSION_KEY not in client.session
    assert 'data-testid="locked-out"' in page
    assert "5 failed sign-in attempts" in page
    assert "for 15 minutes" in page
    assert "<strong>sdr</strong>" in page


def test_lockout_page_has_security_headers(client, sdr):
    fail_limit_times(client, "sdr")
    response = attempt(client, "sdr", PASSWORD)
    assert response.status_code == LOCKED
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_lockout_escapes_username(client, db):
    username = "<script>alert(1)</script>"
    fail_limit_times(client, username)
    response = attempt(client, username, WRONG)
    page = response.content.decode()
    assert response.status_code == LOCKED
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_other_user_same_address_not_locked(client, sdr, manager):
    fail_limit_times(client, "sdr")
    response = attempt(client, "manager", PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(manager.pk)


def test_same_user_other_address_not_locked(client, sdr):
    fail_limit_times(client, "sdr", address="192.0.2.10")
    response = attempt(client, "sdr", PASSWORD, address="192.0.2.20")
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(sdr.pk)


def test_lock_lifts_after_cooloff(client, sdr):
    fail_limit_times(client, "sdr")
    assert attempt(client, "sdr", PASSWORD).status_code == LOCKED
    # Age the recorded failures past the cool-off instead of waiting for it.
    expired = AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=expired)
    response = attempt(client, "sdr", PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(sdr.pk)


def test_success_resets_failure_count(client, sdr):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "sdr", WRONG)
    assert attempt(client, "sdr", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "sdr", WRONG)
    assert attempt(client, "sdr", PASSWORD).status_code == 302


def test_admin_login_shares_lockout(client, make_user):
    make_user(None, username="admin-user", is_staff=True, is_superuser=True)
    fail_limit_times(client, "admin-user")
    response = client.post(reverse("admin:login"), {"username": "admin-user", "password": PASSWORD})
    assert response.status_code == LOCKED
    assert SESSION_KEY not in client.session


def test_ajax_lockout_returns_json(client, sdr):
    fail_limit_times(client, "sdr")
    response = client.post(
        reverse("login"),
        {"username": "sdr", "password": PASSWORD},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    body = response.json()
    assert response.status_code == LOCKED
    assert body["failure_limit"] == 5
    assert body["username"] == "sdr"


def test_api_token_unaffected_by_lockout(client, sdr):
    # Tokens are not passwords: a locked sign-in form does not block the API.
    _, key = api_token_create(user=sdr, name="lockout test", scopes=["read"])
    fail_limit_times(client, "sdr")
    assert attempt(client, "sdr", PASSWORD).status_code == LOCKED
    response = client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
