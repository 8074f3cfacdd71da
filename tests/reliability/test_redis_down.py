"""Redis down: pages keep working, and starting a background task fails with a message.

The broker URL points at a local port where nothing listens, so every publish is refused
at once. No shared server is stopped.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import ImportRun
from icp_portal.celery import app as celery_app
from segmentation.models import SegmentationRun
from tests.factories import AccountFactory

from .conftest import CLOSED_BROKER_URL

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


@pytest.mark.xfail(
    strict=True,
    reason="accounts.api.imports._enqueue catches only ImportFileError, so the broker's "
    "OperationalError becomes a 500 and the run stays pending",
)
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
    assert response.status_code != 500
    assert run.status == ImportRun.Status.FAILED
    assert "could not be started" in response.json()["error"]["message"]


@pytest.mark.xfail(
    strict=True,
    reason="audits.views.reports.AuditRunCreateView.post calls monthly_audit_run_task.delay "
    "without catching kombu's OperationalError",
)
def test_audit_run_start_fails_with_message(client, sales_ops, broker_down):
    client.force_login(sales_ops)
    client.raise_request_exception = False
    response = client.post(reverse("audits:audit-run-create"), {"month": "2025-10"}, follow=True)
    assert response.status_code == 200
    assert "could not be started" in response.content.decode()


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


@pytest.mark.xfail(
    strict=True,
    reason="Django's RedisCache raises when Redis is down, and the API throttles read the "
    "default cache on every request",
)
def test_api_works_when_redis_cache_down(client, sdr, cache_down):
    client.force_login(sdr)
    client.raise_request_exception = False
    assert client.get("/api/v1/accounts/").status_code == 200


def test_pages_work_when_redis_cache_down(client, sdr, cache_down):
    client.force_login(sdr)
    client.raise_request_exception = False
    assert client.get(reverse("accounts:account-list")).status_code == 200
