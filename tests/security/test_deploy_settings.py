"""Deployment settings: `check --deploy` with the production environment, cookies, headers."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
# Variables that the test run's own environment must not pass on to the subprocesses, so
# that each case runs with only the variables it sets.
SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ICP_INSECURE_COOKIES",
    "ICP_BEHIND_TLS_PROXY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_AGE",
    "SECRET_KEY_FALLBACKS",
    # Set by the browser tests for Playwright; `check --deploy` rightly reports it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def production_environment(tmp_path: Path) -> dict[str, str]:
    """Return the environment docs/operations.md gives for production behind HTTPS."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "icp.example.com",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
        "ICP_VAR_DIR": str(tmp_path / "var"),
    }


def run_python(args: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(environment)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read_settings(environment: dict[str, str], *names: str) -> list[str]:
    """Return the repr of each named setting as the settings module computes it."""
    code = (
        "from django.conf import settings; "
        f"print('\\n'.join(repr(getattr(settings, name)) for name in {list(names)!r}))"
    )
    env = {"DJANGO_SETTINGS_MODULE": "icp_portal.settings", **environment}
    result = run_python(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-len(names) :]


def test_deploy_check_clean_with_production_env(tmp_path):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_environment(tmp_path),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


@pytest.mark.parametrize(
    ("override", "warning"),
    [
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"ICP_INSECURE_COOKIES": "true"}, "security.W012"),
    ],
    ids=["no HSTS", "no SSL redirect", "insecure cookies"],
)
def test_deploy_check_flags_weakened_env(tmp_path, override, warning):
    environment = {**production_environment(tmp_path), **override}
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], environment)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert warning in output


@pytest.mark.parametrize(
    ("environment", "secure"),
    [
        ({"DEBUG": "false"}, "True"),
        ({"DEBUG": "true"}, "False"),
        ({"DEBUG": "false", "ICP_INSECURE_COOKIES": "true"}, "False"),
        ({"DEBUG": "true", "ICP_INSECURE_COOKIES": "false"}, "True"),
    ],
    ids=["production", "debug", "insecure override", "debug with secure cookies"],
)
def test_cookie_security_follows_env(tmp_path, environment, secure):
    environment = {**environment, "ICP_VAR_DIR": str(tmp_path / "var")}
    values = read_settings(environment, "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    assert values == [secure, secure]


def test_defaults_allow_plain_http(tmp_path):
    values = read_settings(
        {"ICP_VAR_DIR": str(tmp_path / "var")},
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_AGE",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        "X_FRAME_OPTIONS",
    )
    assert values == ["False", "0", "28800", "True", "'DENY'"]


def test_tls_proxy_header_only_when_enabled(tmp_path):
    base = {"ICP_VAR_DIR": str(tmp_path / "var")}
    enabled = read_settings({**base, "ICP_BEHIND_TLS_PROXY": "true"}, "SECURE_PROXY_SSL_HEADER")
    disabled = read_settings(base, "SECURE_PROXY_SSL_HEADER")
    assert enabled == ["('HTTP_X_FORWARDED_PROTO', 'https')"]
    assert disabled == ["None"]


def test_invalid_boolean_env_rejected(tmp_path):
    result = run_python(
        ["manage.py", "check"],
        {"SECURE_SSL_REDIRECT": "maybe", "ICP_VAR_DIR": str(tmp_path / "var")},
    )
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT='maybe' is not a boolean" in result.stderr


def test_security_headers_on_pages(client, sdr):
    client.force_login(sdr)
    response = client.get(reverse("accounts:account-list"))
    # django-csp does not keep the directives in a fixed order, so compare them as a map.
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
        if directive.strip()
    )
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert "style-src-attr" not in policy
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert not any("unsafe" in sources for sources in policy.values())


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_csp_on_login_pages(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_api_docs_excluded_from_csp(client, sdr, path):
    # drf-spectacular renders these pages with inline scripts and styles.
    client.force_login(sdr)
    response = client.get(path)
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_login_sets_secure_session_cookie(client, sdr):
    assert settings.SESSION_COOKIE_SECURE is not settings.DEBUG
    response = client.post(
        reverse("login"), {"username": "sdr", "password": "correct-horse-battery"}
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert response.status_code == 302
    assert bool(cookie["secure"]) is settings.SESSION_COOKIE_SECURE
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # Expiring at browser close means no Max-Age or Expires on the cookie.
    assert cookie["max-age"] == ""
    assert client.session.get_expiry_age() == 8 * 3600


def test_secret_key_fallbacks_from_env(tmp_path):
    environment = {"SECRET_KEY_FALLBACKS": "old-key-1, old-key-2", "ICP_VAR_DIR": str(tmp_path)}
    assert read_settings(environment, "SECRET_KEY_FALLBACKS") == ["['old-key-1', 'old-key-2']"]
