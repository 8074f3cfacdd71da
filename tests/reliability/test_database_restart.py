"""A PostgreSQL connection killed between requests costs a reconnect, not an error page.

The portal runs in a single-threaded ``runserver`` subprocess, so one persistent database
connection serves every request (CONN_MAX_AGE). Between two requests the test terminates
that connection with pg_terminate_backend, as a PostgreSQL restart or failover would.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from accounts import roles
from tests.factories import AccountFactory

from .conftest import ROOT, WAIT_SECONDS, test_database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_data"),
]
PASSWORD = "restart-test-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def terminate_other_connections() -> int:
    """Terminate every other connection to the test database; return how many there were."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def portal_server(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL to a PostgreSQL server")
    port = free_port()
    log = (tmp_path / "runserver.log").open("w")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "icp_portal.settings",
        "DATABASE_URL": test_database_url(),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "restart-test-secret",
        "DEBUG": "false",
        # The requests library sends no Secure cookie over plain HTTP.
        "ICP_INSECURE_COOKIES": "true",
        "ICP_VAR_DIR": str(tmp_path / "var"),
    }
    environment.pop("CELERY_BROKER_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--nothreading",
            "--skip-checks",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            requests.get(f"{base_url}/login/", timeout=5)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"runserver did not start:\n{(tmp_path / 'runserver.log').read_text()}")
            time.sleep(0.25)
    yield base_url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


def sign_in(base_url: str, username: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base_url}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
    response = session.post(
        f"{base_url}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:1000]
    return session


def test_settings_keep_and_check_connections():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL is not set, so the SQLite settings apply")
    database = settings.DATABASES["default"]
    assert database["CONN_MAX_AGE"] > 0
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["connect_timeout"] > 0


def test_request_after_connection_killed_succeeds(portal_server, make_user):
    user = make_user(roles.SDR, username="restart")
    # The server process hashes with the default hashers, not the tests' fast MD5 one.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "restartsalt")
    user.save(update_fields=["password"])
    AccountFactory(name="Still Here")
    session = sign_in(portal_server, "restart")
    before = session.get(f"{portal_server}/accounts/", timeout=30)
    assert before.status_code == 200
    assert terminate_other_connections() >= 1

    after = session.get(f"{portal_server}/accounts/", timeout=30)
    api = session.get(f"{portal_server}/api/v1/accounts/", timeout=30)
    assert after.status_code == 200
    assert "Still Here" in after.text
    assert api.status_code == 200
