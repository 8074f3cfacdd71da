"""Redis down: pages keep working, and starting a background task fails with a message.

The broker URL points at a local port where nothing listens, so every publish is refused
at once. No shared server is stopped.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.api.throttling import cache_outage
from accounts.models import ImportRun
from accounts.workspace import account_version
from audits.models import AuditRun
from icp_portal.celery import app as celery_app
from segmentation.models import SegmentationRun
from tests.factories import AccountFactory

from .conftest import CLOSED_BROKER_URL, ROOT

CSV_FILE = "Company Name,Website,Country\nAcme,acme.example,Germany\nGlobex,globex.example,US\n"


def reset_producer_pool() -> None:
    # Celery keeps its broker connections in a pool made for the first broker URL it used.
    # Dropping the references makes the next publish use the URL configured now. The pools
    # stay open in kombu's registry, where a later use of the same URL finds them.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down(settings):
    """Send tasks to a broker that refuses connections, as when Redis is down."""
    names = ("broker_url", "task_always_eager", "task_publish_retry_policy")
    saved = {name: celery_app.conf[name] for name in names}
    settings.CELERY_BROKER_URL = CLOSED_BROKER_URL
    celery_app.conf.update(
        broker_url=CLOSED_BROKER_URL,
        task_always_eager=False,
        # One quick retry: enough to show that a refused connection is not retried forever.
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1},
    )
    reset_producer_pool()
    yield CLOSED_BROKER_URL
    celery_app.conf.update(saved)
    reset_producer_pool()


@pytest.fixture
def cache_down(settings):
    """Use a Redis cache that refuses connections, as a deployment with REDIS_CACHE_URL."""
    # Django's setting_changed handler rebuilds the cache connections from the new value.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_BROKER_URL,
        }
    }
    cache_outage.reset()
    yield
    # Later tests must find the API rate limits on again.
    cache_outage.reset()


def test_account_pages_work(client, sdr, broker_down):
    account = AccountFactory(name="Reachable")
    client.force_login(sdr)
    listing = client.get(reverse("accounts:account-list"))
    detail = client.get(account.get_absolute_url())
    api = client.get("/api/v1/accounts/")
    assert listing.status_code == 200
    assert detail.status_code == 200
    assert api.status_code == 200
    assert "Reachable" in listing.content.decode()


def upload_and_preview(client) -> str:
    upload = client.post(
        reverse("accounts:import-upload"),
        {"file": SimpleUploadedFile("export.csv", CSV_FILE.encode())},
    )
    assert upload.status_code == 302, upload.content.decode()[:1000]
    token = re.search(r"/imports/new/([0-9a-f]{32})/mapping/", upload["Location"])[1]
    mapping_url = reverse("accounts:import-mapping", args=[token])
    form = client.get(mapping_url).context["form"]
    data = {
        name: str(form.initial.get(name, field.initial))
        for name, field in form.fields.items()
        if form.initial.get(name, field.initial) not in (None, False)
    }
    assert client.post(mapping_url, data).status_code == 302
    assert client.get(reverse("accounts:import-preview", args=[token])).status_code == 200
    return token


def test_import_wizard_start_fails_with_message(
    client, sales_ops, broker_down, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(sales_ops)
    token = upload_and_preview(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:import-start", args=[token]))
    run = ImportRun.objects.get()
    detail = client.get(response["Location"])
    assert response.status_code == 302
    assert run.status == ImportRun.Status.FAILED
    assert "could not be started" in run.error
    assert "Start it again later" in run.error
    assert detail.status_code == 200
    assert "could not be started" in detail.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migration_data")
def test_api_import_fails_with_message(client, sales_ops, broker_down, tmp_path, settings):
    # Outside a test transaction on_commit runs at once, inside the request, as in production.
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(sales_ops)
    upload = SimpleUploadedFile("export.csv", CSV_FILE.encode(), content_type="text/csv")
    client.raise_request_exception = False
    response = client.post("/api/v1/imports/", {"file": upload})
    run = ImportRun.objects.get()
    error = response.json()["error"]
    assert response.status_code == 503
    assert error["code"] == "service_unavailable"
    assert f"Import run {run.pk} could not be started" in error["message"]
    assert "ask an admin to check Redis" in error["message"]
    assert run.status == ImportRun.Status.FAILED
    assert run.error == error["message"]


def test_audit_run_start_fails_with_message(client, sales_ops, broker_down):
    client.force_login(sales_ops)
    client.raise_request_exception = False
    response = client.post(reverse("audits:audit-run-create"), {"month": "2025-10"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("audits:audit-run-list"), 302)]
    assert "The audit of October 2025 could not be started" in page
    assert "ask an admin to check Redis" in page
    assert not AuditRun.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migration_data")
def test_resegment_command_fails_with_message(broker_down):
    AccountFactory(name="Queued")
    with pytest.raises(CommandError, match="Could not queue the tasks of run") as raised:
        call_command("resegment", batch_size=100)
    run = SegmentationRun.objects.get()
    assert "start the Celery broker" in str(raised.value)
    assert run.status == SegmentationRun.Status.FAILED
    assert "OperationalError" in run.error


def test_api_works_when_redis_cache_down(client, sdr, cache_down, caplog):
    client.force_login(sdr)
    client.raise_request_exception = False
    responses = [client.get("/api/v1/accounts/") for _ in range(3)]
    write = client.post("/api/v1/accounts/", {}, content_type="application/json")
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == "accounts.api.throttling" and record.levelname == "WARNING"
    ]
    assert [response.status_code for response in responses] == [200, 200, 200]
    # The request reaches the view, which rejects the empty body: throttling let it through.
    assert write.status_code in (400, 403, 405)
    assert len(warnings) == 1
    assert "API rate limits are off" in warnings[0]


def test_throttles_resume_after_outage(client, sdr, settings):
    """Once the outage interval is over, the rate limits apply again."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "user": "2/minute",
        },
    }
    cache_outage.record(ConnectionError("simulated"))
    client.force_login(sdr)
    during = [client.get("/api/v1/accounts/").status_code for _ in range(3)]
    cache_outage.reset()
    after = [client.get("/api/v1/accounts/").status_code for _ in range(3)]
    assert during == [200, 200, 200]
    assert after == [200, 200, 429]


def test_pages_work_when_redis_cache_down(client, sdr, cache_down):
    client.force_login(sdr)
    client.raise_request_exception = False
    assert client.get(reverse("accounts:account-list")).status_code == 200


def test_field_edit_without_cache(client, sdr, cache_down, django_capture_on_commit_callbacks):
    account = AccountFactory(name="Edited", owner=sdr, employee_count=40)
    client.force_login(sdr)
    client.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/accounts/{account.pk}/fields/employees/edit/",
            {"employees": "51-200", "version": account_version(account)},
            HTTP_HX_REQUEST="true",
        )
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.employee_min == 51


def test_import_wizard_without_cache(
    client, sales_ops, cache_down, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(sales_ops)
    client.raise_request_exception = False
    token = upload_and_preview(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:import-start", args=[token]))
    run = ImportRun.objects.get()
    detail = client.get(response["Location"])
    status = client.get(reverse("accounts:import-status", args=[run.pk]))
    assert response.status_code == 302
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.created == 2
    assert detail.status_code == 200
    assert status.status_code == 200


@pytest.fixture
def silent_server():
    """Accept TCP connections on a local port and never reply, as a hung Redis server does."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


def test_api_works_when_cache_hangs(client, sdr, settings, silent_server, caplog):
    timeout = 0.5
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": silent_server,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }
    cache_outage.reset()
    client.force_login(sdr)
    client.raise_request_exception = False
    started = time.monotonic()
    first = client.get("/api/v1/accounts/")
    second = client.get("/api/v1/accounts/")
    elapsed = time.monotonic() - started
    cache_outage.reset()
    assert first.status_code == 200
    assert second.status_code == 200
    assert "TimeoutError" in caplog.text
    # The first throttle waits one timeout; the outage interval spares every later call.
    assert elapsed < 10 * timeout


def test_redis_cache_timeout_settings():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "icp_portal.settings",
        "REDIS_CACHE_URL": "redis://127.0.0.1:6379/14",
        "REDIS_CACHE_TIMEOUT_SECONDS": "1.5",
    }
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.CACHES['default']))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cache = json.loads(output.strip().splitlines()[-1])
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/14"
    assert cache["OPTIONS"] == {"socket_connect_timeout": 1.5, "socket_timeout": 1.5}


def test_lockout_without_cache(client, sdr, cache_down, settings):
    """Sessions and django-axes' failure counts are kept in the database, not the cache."""
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    login_url = reverse("login")
    client.raise_request_exception = False
    failures = [
        client.post(login_url, {"username": "sdr", "password": "wrong"}).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    locked = client.post(login_url, {"username": "sdr", "password": "correct-horse-battery"})
    # The failure that reaches the limit already gets the lockout page.
    assert failures[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert failures[-1] == 429
    assert locked.status_code == 429


def test_login_without_cache(client, sdr, cache_down):
    client.raise_request_exception = False
    response = client.post(
        reverse("login"), {"username": "sdr", "password": "correct-horse-battery"}
    )
    listing = client.get(reverse("accounts:account-list"))
    assert response.status_code == 302
    assert listing.status_code == 200


def test_api_account_edit_without_cache(
    client, sdr, cache_down, django_capture_on_commit_callbacks
):
    account = AccountFactory(name="Patched", owner=sdr, employee_count=40)
    client.force_login(sdr)
    client.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            f"/api/v1/accounts/{account.pk}/",
            {"employee_count": 500},
            content_type="application/json",
        )
    account.refresh_from_db()
    assert response.status_code == 200, response.content.decode()[:500]
    assert account.employee_count == 500


def test_account_save_without_cache_rescores(db, cache_down, django_capture_on_commit_callbacks):
    # A save outside the pages and API (admin, shell, enrichment) still re-scores the account
    # when the cache that coalesces bursts is unreachable.
    account = AccountFactory(name="Saved", employee_count=40)
    assert account.tier == ""
    account.employee_count = 4000
    with django_capture_on_commit_callbacks(execute=True):
        account.save()
    account.refresh_from_db()
    assert account.scored_at is not None
