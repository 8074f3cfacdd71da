"""Celery tasks of enrichment runs, run eagerly in the test process."""

import pytest

from enrichment.models import EnrichmentRun, EnrichmentRunItem
from enrichment.services import enrichment_run_create
from enrichment.tasks import account_enrich_task, accounts_enrich_task
from icp_portal.celery import app as celery_app
from tests.enrichment.fake_server import FakeResponse
from tests.enrichment.payloads import APOLLO_RESPONSE

from .conftest import blank_account

pytestmark = pytest.mark.django_db

PATH = "/api/v1/organizations/enrich"


@pytest.fixture
def eager_retries(monkeypatch):
    """Let eager tasks retry: with propagation on, Celery raises Retry to the caller."""
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)


@pytest.fixture
def apollo(configure_provider, fake_server, settings):
    settings.ENRICHMENT_TASK_CHUNK_SIZE = 2
    configure_provider("apollo", max_attempts=1)
    fake_server.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE))
    return fake_server


def test_run_task_fans_out_chunks(apollo, django_capture_on_commit_callbacks):
    accounts = [blank_account(domain=f"company{index}.example") for index in range(5)]
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])

    with django_capture_on_commit_callbacks(execute=True):
        chunks = accounts_enrich_task.delay(run.pk).get()

    run.refresh_from_db()
    assert chunks == 3
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.processed == 5
    assert run.found == 5
    assert apollo.count(PATH) == 5


def test_run_task_skips_failed_run(apollo):
    account = blank_account(domain="company.example")
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])
    EnrichmentRun.objects.filter(pk=run.pk).update(status=EnrichmentRun.Status.FAILED)

    assert accounts_enrich_task.delay(run.pk).get() == 0
    assert apollo.count(PATH) == 0


def test_account_task_retries_transient_errors(apollo, eager_retries):
    account = blank_account(domain="flaky.example")
    apollo.route(
        "GET",
        PATH,
        [FakeResponse(status=502), FakeResponse(status=502), FakeResponse(json=APOLLO_RESPONSE)],
    )
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    account_enrich_task.delay(run.pk, account.pk)

    run.refresh_from_db()
    item = EnrichmentRunItem.objects.get(run=run)
    assert apollo.count(PATH) == 3
    assert item.attempts == 3
    assert run.status == EnrichmentRun.Status.SUCCEEDED


def test_account_task_gives_up_after_retries(apollo, eager_retries):
    account = blank_account(domain="down.example")
    apollo.route("GET", PATH, FakeResponse(status=500))
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    account_enrich_task.delay(run.pk, account.pk)

    run.refresh_from_db()
    assert apollo.count(PATH) == 6
    assert run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS
    assert run.errors == 1


def test_account_task_no_retry_when_not_configured(settings):
    account = blank_account(domain="company.example")
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    result = account_enrich_task.delay(run.pk, account.pk).get()

    run.refresh_from_db()
    assert "ENRICHMENT_PROVIDERS" in result["error"]
    assert run.status == EnrichmentRun.Status.FAILED


def test_task_records_task_channel(apollo):
    account = blank_account(domain="company.example")
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    account_enrich_task.delay(run.pk, account.pk)

    assert account.history.first().history_channel == "task"
