"""The sign-in page's warning when the browser will drop the Secure sign-in cookies."""

import pytest

WARNING = 'data-testid="login-insecure-cookies"'


@pytest.fixture
def secure_cookies(settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.ALLOWED_HOSTS = ["portal.internal", "localhost", "127.0.0.1", "[::1]"]


@pytest.mark.django_db
def test_plain_http_shows_warning(client, secure_cookies):
    page = client.get("/login/", HTTP_HOST="portal.internal:8000").content.decode()

    assert WARNING in page
    assert "ICP_INSECURE_COOKIES=true" in page


@pytest.mark.django_db
def test_https_shows_no_warning(client, secure_cookies):
    page = client.get("/login/", HTTP_HOST="portal.internal", secure=True).content.decode()

    assert WARNING not in page


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000"])
def test_loopback_host_shows_no_warning(client, secure_cookies, host):
    page = client.get("/login/", HTTP_HOST=host).content.decode()

    assert WARNING not in page


@pytest.mark.django_db
def test_insecure_cookies_show_no_warning(client, settings):
    settings.SESSION_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = ["portal.internal"]

    page = client.get("/login/", HTTP_HOST="portal.internal").content.decode()

    assert WARNING not in page
