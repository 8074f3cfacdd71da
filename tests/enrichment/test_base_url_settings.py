"""Provider base URLs read from APOLLO_BASE_URL, CLEARBIT_BASE_URL and ZOOMINFO_BASE_URL."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from icp_portal.settings import env_base_url

ROOT = Path(__file__).resolve().parents[2]
PRINT_PROVIDERS = (
    "import json; from django.conf import settings; "
    "print(json.dumps(settings.ENRICHMENT_PROVIDERS))"
)


def load_providers(environment: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the settings in a new process with only the given provider variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("APOLLO_", "CLEARBIT_", "ZOOMINFO_")) and key != "DATABASE_URL"
    }
    env.update(environment, DJANGO_SETTINGS_MODULE="icp_portal.settings")
    return subprocess.run(
        [sys.executable, "-c", PRINT_PROVIDERS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://api.apollo.io", "https://api.apollo.io"),
        ("http://127.0.0.1:8680/", "http://127.0.0.1:8680"),
        ("  https://proxy.example/apollo/  ", "https://proxy.example/apollo"),
    ],
)
def test_base_url_read(monkeypatch, value, expected):
    monkeypatch.setenv("APOLLO_BASE_URL", value)

    assert env_base_url("APOLLO_BASE_URL") == expected


def test_base_url_unset_is_empty(monkeypatch):
    monkeypatch.delenv("APOLLO_BASE_URL", raising=False)

    assert env_base_url("APOLLO_BASE_URL") == ""


@pytest.mark.parametrize(
    "value",
    [
        "api.apollo.io",
        "ftp://api.apollo.io",
        "https://",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
        "https://api.apollo.io/?key=1",
        "https://api.apollo.io/#top",
        "https://user:secret@api.apollo.io",
    ],
)
def test_base_url_invalid_named(monkeypatch, value):
    monkeypatch.setenv("APOLLO_BASE_URL", value)

    with pytest.raises(ImproperlyConfigured) as raised:
        env_base_url("APOLLO_BASE_URL")

    assert f"APOLLO_BASE_URL={value!r} is not a valid base URL" in str(raised.value)


def test_base_url_reaches_provider_entry():
    result = load_providers(
        {
            "APOLLO_API_KEY": "test-key",
            "APOLLO_BASE_URL": "http://127.0.0.1:8680/",
            "CLEARBIT_API_KEY": "test-key",
        }
    )

    assert result.returncode == 0, result.stderr
    providers = json.loads(result.stdout)
    assert providers["apollo"]["base_url"] == "http://127.0.0.1:8680"
    assert "base_url" not in providers["clearbit"]


def test_invalid_base_url_stops_start_up():
    result = load_providers({"ZOOMINFO_BASE_URL": "api.zoominfo.com"})

    assert result.returncode != 0
    assert "ZOOMINFO_BASE_URL='api.zoominfo.com' is not a valid base URL" in result.stderr
