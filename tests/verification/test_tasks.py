"""Celery tasks of enrichment runs, run eagerly in the test process."""

import pytest

from enrichment import tasks
from enrichment.models import EnrichmentRun, EnrichmentRunItem
from enrichment.services import enrichment_run_create
from enrichment.tasks import (
    account_enrich_task,
    accounts_enrich_chunk_task,
    accounts_enrich_task,
    enrichment_run_queue,
)
from tests.enrichment.fake_server import FakeResponse
from tests.enrichment.payloads import APOLLO_RESPONSE

from .conftest import blank_account

pytestmark = pytest.mark.django_db

PATH = "/api/v1/organizations/enrich"


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


def test_eager_task_relies_on_client_attempts(apollo, configure_provider):
    configure_provider("apollo", max_attempts=3)
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
    assert item.attempts == 1
    assert run.status == EnrichmentRun.Status.SUCCEEDED


def test_eager_task_fails_after_one_call(apollo):
    account = blank_account(domain="down.example")
    apollo.route("GET", PATH, FakeResponse(status=500))
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    account_enrich_task.delay(run.pk, account.pk)

    run.refresh_from_db()
    assert apollo.count(PATH) == 1
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


@pytest.mark.parametrize(
    "response",
    [
        FakeResponse(status=500),
        FakeResponse(status=429, headers={"Retry-After": "3600"}),
    ],
    ids=["server-error", "rate-limit-for-an-hour"],
)
def test_eager_run_finishes_after_transient_errors(
    apollo, response, django_capture_on_commit_callbacks
):
    account = blank_account(domain="down.example")
    apollo.route("GET", PATH, response)
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    with django_capture_on_commit_callbacks(execute=True):
        enrichment_run_queue(run.pk)

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS
    assert run.errors == 1
    assert run.error_details[0]["domain"] == "down.example"
    assert apollo.count(PATH) == 1


def test_eager_chunk_task_returns_result(apollo):
    account = blank_account(domain="down.example")
    apollo.route("GET", PATH, FakeResponse(status=503))
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    result = accounts_enrich_chunk_task.delay(run.pk, [account.pk]).get()

    assert result["errors"] == 1
    assert EnrichmentRunItem.objects.get(run=run).attempts == 1


# Without a surrounding transaction, on_commit callbacks run at once, as in a web request
# after its commit, so the chunk tasks run inside enrichment_run_queue.
@pytest.mark.django_db(transaction=True)
def test_run_queue_marks_crashed_run_failed(apollo, monkeypatch):
    account = blank_account(domain="company.example")
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    def crash(**kwargs):
        raise RuntimeError("database connection lost")

    monkeypatch.setattr(tasks, "accounts_enrich", crash)
    enrichment_run_queue(run.pk)

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.FAILED
    assert run.error == "database connection lost"
    assert run.finished_at is not None


def test_run_queue_fails_unqueued_run(apollo, monkeypatch, caplog):
    account = blank_account(domain="company.example")
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])

    def broker_down(run_id, generation):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.accounts_enrich_task, "delay", broker_down)
    enrichment_run_queue(run.pk)

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.FAILED
    assert run.error.startswith("The run could not be started, because the task queue")
    assert f"enrichment run {run.pk} could not be queued" in caplog.text


def test_eager_chunk_names_accounts_not_reached(apollo):
    limited = blank_account(domain="a-limited.example")
    later = blank_account(domain="b-later.example")

    def respond(request):
        if request.query["domain"][0] == "a-limited.example":
            return FakeResponse(status=429, headers={"Retry-After": "2"})
        return FakeResponse(json=APOLLO_RESPONSE)

    apollo.route("GET", PATH, respond)
    run = enrichment_run_create(provider="apollo", account_ids=[limited.pk, later.pk])

    accounts_enrich_chunk_task.delay(run.pk, [limited.pk, later.pk])

    run.refresh_from_db()
    later_item = EnrichmentRunItem.objects.get(run=run, account=later)
    assert later_item.status == EnrichmentRunItem.Status.FAILED
    assert later_item.error_kind == "NotReached"
    assert later_item.error.startswith("not looked up, because apollo requested a wait")
    assert "Resume the run" in later_item.error
    assert run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS
