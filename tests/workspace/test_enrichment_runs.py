"""Enrichment runs in the browser: the bulk action's outcome, the run page and the run list."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from enrichment import tasks
from enrichment.models import EnrichmentRun, EnrichmentRunItem
from enrichment.services import (
    enrichment_run_create,
    enrichment_run_refresh,
    enrichment_run_start,
)
from tests.enrichment.fake_server import FakeResponse, FakeServer
from tests.enrichment.payloads import APOLLO_RESPONSE
from tests.factories import AccountFactory

from .conftest import HTMX

BULK_URL = reverse("accounts:account-bulk")
LIST_URL = reverse("accounts:enrichment-run-list")
APOLLO_PATH = "/api/v1/organizations/enrich"


def run_url(run: EnrichmentRun) -> str:
    return reverse("accounts:enrichment-run-detail", args=[run.pk])


@pytest.fixture
def apollo(settings):
    """Serve Apollo from a local fake server; tests set the route's response."""
    with FakeServer() as server:
        settings.ENRICHMENT_PROVIDERS = {
            "apollo": {
                "base_url": server.url,
                "api_key": "test-key",
                "timeout": [1, 2],
                "max_attempts": 1,
            }
        }
        yield server


def start_enrichment(client, account, **headers):
    return client.post(
        BULK_URL,
        {
            "action": "enrich",
            "provider": "apollo",
            "account_ids": [str(account.pk)],
            "confirmed": "1",
        },
        **headers,
    )


# The bulk action's outcome -------------------------------------------------------------
# Without a surrounding transaction, the run starts on commit within the request, as it
# does in the portal without a broker.


@pytest.mark.django_db(transaction=True)
def test_bulk_start_reports_finished_errors(client, sales_ops, apollo):
    account = AccountFactory(domain="down.example")
    apollo.route("GET", APOLLO_PATH, FakeResponse(status=500))
    client.force_login(sales_ops)

    html = start_enrichment(client, account, **HTMX).content.decode()

    run = EnrichmentRun.objects.get()
    assert run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS
    assert f"Finished enrichment run {run.pk} of 1 account with Apollo with 1 error" in html
    assert "Values appear on the accounts" not in html
    assert f'href="{run_url(run)}"' in html


@pytest.mark.django_db(transaction=True)
def test_bulk_start_reports_unreachable_queue(client, sales_ops, apollo, monkeypatch):
    def broker_down(run_id, generation):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6399")

    monkeypatch.setattr(tasks.accounts_enrich_task, "delay", broker_down)
    account = AccountFactory(domain="northwind.example")
    client.force_login(sales_ops)

    html = start_enrichment(client, account, **HTMX).content.decode()

    run = EnrichmentRun.objects.get()
    assert run.status == EnrichmentRun.Status.FAILED
    assert "because the task queue is not reachable" in html
    assert "Started enrichment run" not in html


@pytest.mark.django_db(transaction=True)
def test_bulk_start_reports_success(client, sales_ops, apollo):
    account = AccountFactory(domain="northwind.example")
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE))
    client.force_login(sales_ops)

    html = start_enrichment(client, account, **HTMX).content.decode()

    run = EnrichmentRun.objects.get()
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    finished = f"Finished enrichment run {run.pk} of 1 account with Apollo: 1 looked up, 1 found"
    assert finished in html


@pytest.mark.django_db(transaction=True)
def test_bulk_start_message_links_run(client, sales_ops, apollo):
    account = AccountFactory(domain="down.example")
    apollo.route("GET", APOLLO_PATH, FakeResponse(status=500))
    client.force_login(sales_ops)

    response = start_enrichment(client, account, follow=True)

    run = EnrichmentRun.objects.get()
    html = response.content.decode()
    assert "alert-warning" in html
    assert f'<a href="{run_url(run)}">See enrichment run {run.pk}</a>' in html


# The run page ---------------------------------------------------------------------------


@pytest.fixture
def failed_run(db, sdr):
    """A finished run started by the SDR, with one found and one failed account."""
    found = AccountFactory(name="Northwind", domain="northwind.example")
    failed = AccountFactory(name="Globex", domain="globex.example")
    run = enrichment_run_create(
        provider="apollo", account_ids=[found.pk, failed.pk], triggered_by=sdr
    )
    EnrichmentRunItem.objects.filter(run=run, account=found).update(
        status=EnrichmentRunItem.Status.DONE, looked_up=True, found=True, attempts=1
    )
    EnrichmentRunItem.objects.filter(run=run, account=failed).update(
        status=EnrichmentRunItem.Status.FAILED,
        attempts=6,
        error_kind="ProviderUnavailable",
        error="apollo lookup for globex.example failed: the provider returned HTTP 500",
    )
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=EnrichmentRun.Status.FINISHED_WITH_ERRORS,
        processed=2,
        looked_up=1,
        found=1,
        errors=1,
    )
    run.refresh_from_db()
    return run


def test_run_page_shows_outcome(client, sdr, failed_run):
    sdr.first_name, sdr.last_name = "Sam", "Reyes"
    sdr.save()
    client.force_login(sdr)

    html = client.get(run_url(failed_run)).content.decode()

    assert "Run finished with errors" in html
    assert 'data-testid="enrichment-run-progress"' in html
    assert 'value="100"' in html
    assert 'data-testid="enrichment-run-started-by">Sam Reyes<' in html
    assert "Globex" in html
    assert "the provider returned HTTP 500" in html
    assert "Look the failed accounts up again" in html
    assert "hx-trigger" not in html


def test_running_run_page_polls(client, sdr):
    account = AccountFactory()
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk], triggered_by=sdr)
    EnrichmentRun.objects.filter(pk=run.pk).update(status=EnrichmentRun.Status.RUNNING)
    client.force_login(sdr)

    html = client.get(run_url(run)).content.decode()
    status = client.get(reverse("accounts:enrichment-run-status", args=[run.pk]))

    assert f'hx-get="{reverse("accounts:enrichment-run-status", args=[run.pk])}"' in html
    assert "Looking accounts up" in html
    assert 'value="0"' in html
    assert status.status_code == 200
    assert 'id="enrichment-run-status"' in status.content.decode()


def test_run_page_hidden_from_other_sdr(client, make_user, failed_run):
    client.force_login(make_user(roles.SDR, username="other-sdr"))

    assert client.get(run_url(failed_run)).status_code == 404


def test_run_page_shown_to_sales_ops(client, sales_ops, failed_run):
    client.force_login(sales_ops)

    assert client.get(run_url(failed_run)).status_code == 200


def test_run_pages_forbidden_to_marketing(client, marketing, failed_run):
    client.force_login(marketing)

    assert client.get(run_url(failed_run)).status_code == 403
    assert client.get(LIST_URL).status_code == 403


# The run list ---------------------------------------------------------------------------


def test_run_list_by_role(client, make_user, sales_ops, failed_run):
    other = make_user(roles.SDR, username="other-sdr")
    other_run = enrichment_run_create(
        provider="apollo", account_ids=[AccountFactory().pk], triggered_by=other
    )

    client.force_login(other)
    own_page = client.get(LIST_URL).content.decode()
    client.force_login(sales_ops)
    all_page = client.get(LIST_URL).content.decode()

    assert f'href="{run_url(other_run)}"' in own_page
    assert f'href="{run_url(failed_run)}"' not in own_page
    assert "Your enrichment runs" in own_page
    assert f'href="{run_url(other_run)}"' in all_page
    assert f'href="{run_url(failed_run)}"' in all_page
    assert "Every enrichment run of the team" in all_page


def test_menu_links_run_list(client, sdr, marketing):
    client.force_login(sdr)
    sdr_page = client.get(reverse("accounts:account-list")).content.decode()
    client.force_login(marketing)
    marketing_page = client.get(reverse("accounts:account-list")).content.decode()

    assert f'href="{LIST_URL}"' in sdr_page
    assert f'href="{LIST_URL}"' not in marketing_page


def resume_url(run: EnrichmentRun) -> str:
    return reverse("accounts:enrichment-run-resume", args=[run.pk])


@pytest.mark.django_db(transaction=True)
def test_resume_looks_failed_accounts_up_again(client, sales_ops, apollo):
    account = AccountFactory(domain="northwind.example")
    apollo.route("GET", APOLLO_PATH, FakeResponse(status=500))
    client.force_login(sales_ops)
    start_enrichment(client, account, **HTMX)
    run = EnrichmentRun.objects.get()
    page = client.get(run_url(run)).content.decode()
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE))

    response = client.post(resume_url(run), follow=True)

    run.refresh_from_db()
    assert 'action="' + resume_url(run) + '"' in page
    assert f"Enrichment run {run.pk} resumed: 1 account will be looked up." in (
        response.content.decode()
    )
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.found == 1


@pytest.mark.django_db(transaction=True)
def test_resume_of_succeeded_run_explains(client, sales_ops, apollo):
    account = AccountFactory(domain="northwind.example")
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE))
    client.force_login(sales_ops)
    start_enrichment(client, account, **HTMX)
    run = EnrichmentRun.objects.get()

    response = client.post(resume_url(run), follow=True)

    assert "has no failed accounts to look up again: it is succeeded." in (
        response.content.decode()
    )
    assert apollo.count(APOLLO_PATH) == 1


def test_resume_of_others_run_not_found(client, make_user, failed_run):
    client.force_login(make_user(roles.SDR, username="other-sdr"))

    response = client.post(resume_url(failed_run))

    assert response.status_code == 404


# Stalled runs ---------------------------------------------------------------------------


@pytest.fixture
def stalled_run(db, sdr):
    """A run started by the SDR whose process stopped after one of two accounts."""
    done = AccountFactory(name="Initech", domain="initech.example")
    left = AccountFactory(name="Umbrella", domain="umbrella.example")
    run = enrichment_run_create(provider="apollo", account_ids=[done.pk, left.pk], triggered_by=sdr)
    enrichment_run_start(run)
    EnrichmentRunItem.objects.filter(run=run, account=done).update(
        status=EnrichmentRunItem.Status.DONE, looked_up=True, found=True, attempts=1
    )
    EnrichmentRun.objects.filter(pk=run.pk).update(
        processed=1,
        looked_up=1,
        found=1,
        heartbeat_at=timezone.now() - timedelta(minutes=30),
    )
    run.refresh_from_db()
    return run


def test_stalled_run_page_offers_resume(client, sdr, stalled_run):
    client.force_login(sdr)

    html = client.get(run_url(stalled_run)).content.decode()

    assert 'data-testid="enrichment-run-stalled"' in html
    assert "No progress since" in html
    assert 'action="' + resume_url(stalled_run) + '"' in html
    assert f'data-confirm="Resume run {stalled_run.pk} with Apollo?' in html
    assert "Looking accounts up" not in html


@pytest.fixture
def waiting_run(stalled_run):
    """The stalled run, but with two chunk tasks that wait in the broker's queue."""
    EnrichmentRun.objects.filter(pk=stalled_run.pk).update(queued_tasks=2)
    stalled_run.refresh_from_db()
    return stalled_run


@pytest.fixture
def unclaimed_run(db, sdr):
    """A run whose start task has waited in the broker's queue for 30 minutes."""
    account = AccountFactory(name="Hooli", domain="hooli.example")
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk], triggered_by=sdr)
    EnrichmentRun.objects.filter(pk=run.pk).update(
        queued_tasks=1, heartbeat_at=timezone.now() - timedelta(minutes=30)
    )
    run.refresh_from_db()
    return run


def test_stalled_run_page_not_waiting(client, sdr, stalled_run):
    client.force_login(sdr)

    html = client.get(run_url(stalled_run)).content.decode()

    assert 'data-testid="enrichment-run-waiting"' not in html
    assert "Waiting for a worker" not in html
    assert "No worker has" not in html


def test_waiting_run_page_says_waiting(client, sdr, waiting_run):
    client.force_login(sdr)

    html = client.get(run_url(waiting_run)).content.decode()

    assert 'data-testid="enrichment-run-waiting"' in html
    assert 'data-testid="enrichment-run-stalled"' not in html
    assert "No progress since" not in html
    assert "2 tasks of this run wait in the task queue" in html
    assert "no worker has taken one since" in html
    assert "for 30\xa0minutes" in html
    assert "No worker has picked this run up" not in html


def test_waiting_run_page_offers_resume(client, sdr, waiting_run):
    client.force_login(sdr)

    html = client.get(run_url(waiting_run)).content.decode()

    assert 'action="' + resume_url(waiting_run) + '"' in html
    assert "Resuming does not free a worker" in html
    assert f'data-confirm="Resume run {waiting_run.pk} with Apollo? Its tasks have waited' in html


def test_unclaimed_run_page_says_start_worker(client, sdr, unclaimed_run):
    client.force_login(sdr)

    html = client.get(run_url(unclaimed_run)).content.decode()

    assert 'data-testid="enrichment-run-waiting"' in html
    assert 'data-testid="enrichment-run-stalled"' not in html
    assert "No worker has picked this run up" in html
    assert "for 30\xa0minutes" in html
    assert "<code>celery -A icp_portal worker</code>" in html
    assert "Waiting to start" not in html


def test_run_list_marks_waiting_runs(client, sales_ops, waiting_run, unclaimed_run):
    client.force_login(sales_ops)

    html = client.get(LIST_URL).content.decode()

    assert html.count('data-testid="enrichment-run-waiting"') == 2
    assert 'data-testid="enrichment-run-stalled"' not in html
    since = timezone.localtime(unclaimed_run.heartbeat_at)
    assert f"not picked up since {since:%-d %b, %H:%M}" in html
    since = timezone.localtime(waiting_run.heartbeat_at)
    assert f"no worker since {since:%-d %b, %H:%M}" in html


@pytest.mark.django_db(transaction=True)
def test_resume_waiting_run_queues_again(client, sales_ops, waiting_run, apollo):
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE))
    client.force_login(sales_ops)

    response = client.post(resume_url(waiting_run), follow=True)

    waiting_run.refresh_from_db()
    assert f"Enrichment run {waiting_run.pk} resumed after no progress since" in (
        response.content.decode()
    )
    assert waiting_run.status == EnrichmentRun.Status.SUCCEEDED
    assert waiting_run.generation == 1
    assert waiting_run.queued_tasks == 0


def test_active_run_page_hides_resume(client, sdr, stalled_run):
    EnrichmentRun.objects.filter(pk=stalled_run.pk).update(heartbeat_at=timezone.now())
    client.force_login(sdr)

    html = client.get(run_url(stalled_run)).content.decode()

    assert "Looking accounts up" in html
    assert 'data-testid="enrichment-run-stalled"' not in html
    assert resume_url(stalled_run) not in html


def test_stall_follows_setting(client, sdr, stalled_run, settings):
    settings.ENRICHMENT_STALLED_AFTER_SECONDS = 3600
    client.force_login(sdr)

    html = client.get(run_url(stalled_run)).content.decode()

    assert 'data-testid="enrichment-run-stalled"' not in html
    assert resume_url(stalled_run) not in html


def test_run_list_marks_stalled_run(client, sales_ops, stalled_run, failed_run):
    client.force_login(sales_ops)

    html = client.get(LIST_URL).content.decode()

    assert html.count('data-testid="enrichment-run-stalled"') == 1
    since = timezone.localtime(stalled_run.heartbeat_at)
    assert f"no progress since {since:%-d %b, %H:%M}" in html


def test_manager_may_not_resume_stalled_run(client, manager, stalled_run):
    client.force_login(manager)

    html = client.get(run_url(stalled_run)).content.decode()
    response = client.post(resume_url(stalled_run))

    stalled_run.refresh_from_db()
    assert 'data-testid="enrichment-run-stalled"' in html
    assert resume_url(stalled_run) not in html
    assert response.status_code == 403
    assert stalled_run.generation == 0


@pytest.mark.django_db(transaction=True)
def test_resume_stalled_run_looks_remaining_up(client, sales_ops, stalled_run, apollo):
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE))
    client.force_login(sales_ops)

    response = client.post(resume_url(stalled_run), follow=True)

    stalled_run.refresh_from_db()
    html = response.content.decode()
    assert f"Enrichment run {stalled_run.pk} resumed after no progress since" in html
    assert "1 account will be looked up." in html
    assert stalled_run.status == EnrichmentRun.Status.SUCCEEDED
    assert stalled_run.found == 2
    assert stalled_run.generation == 1
    # The account done before the stall is not looked up again.
    assert [request.query["domain"] for request in apollo.requests] == [["umbrella.example"]]


@pytest.mark.django_db(transaction=True)
def test_resume_of_active_run_rejected(client, sdr, stalled_run, apollo):
    EnrichmentRun.objects.filter(pk=stalled_run.pk).update(heartbeat_at=timezone.now())
    client.force_login(sdr)

    response = client.post(resume_url(stalled_run), follow=True)

    stalled_run.refresh_from_db()
    assert "made progress in the last 600 s, so it was not resumed" in response.content.decode()
    assert stalled_run.status == EnrichmentRun.Status.RUNNING
    assert stalled_run.generation == 0
    assert apollo.count(APOLLO_PATH) == 0


# The time budget without a broker -------------------------------------------------------


def start_enrichment_of(client, accounts, **headers):
    return client.post(
        BULK_URL,
        {
            "action": "enrich",
            "provider": "apollo",
            "account_ids": [str(account.pk) for account in accounts],
            "confirmed": "1",
        },
        **headers,
    )


@pytest.mark.django_db(transaction=True)
def test_bulk_start_stops_at_time_budget(client, sales_ops, apollo, settings):
    settings.ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = 1
    settings.ENRICHMENT_CACHE_SECONDS = 0
    accounts = [AccountFactory(domain=f"company{index}.example") for index in range(4)]
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE, delay=0.6))
    client.force_login(sales_ops)

    response = start_enrichment_of(client, accounts, **HTMX)

    run = EnrichmentRun.objects.get()
    page = client.get(run_url(run)).content.decode()
    looked_up = apollo.count(APOLLO_PATH)
    assert response.status_code == 200
    assert response["HX-Redirect"] == run_url(run)
    assert looked_up < 4
    assert f"Stopped enrichment run {run.pk} of 4 accounts with Apollo early" in page
    assert f"{4 - looked_up} accounts were not looked up" in page
    assert "time budget of 1 s" in page
    assert f"{looked_up} of 4 accounts processed, {4 - looked_up} not looked up." in page
    assert f'value="{looked_up * 100 // 4}"' in page
    assert "Resume the run" in page
    assert run.processed == looked_up
    assert run.not_reached == 4 - looked_up
    assert run.errors == 0


@pytest.mark.django_db(transaction=True)
def test_bulk_start_without_htmx_shows_run(client, sales_ops, apollo, settings):
    settings.ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = 1
    accounts = [AccountFactory(domain=f"company{index}.example") for index in range(4)]
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE, delay=0.6))
    client.force_login(sales_ops)

    response = start_enrichment_of(client, accounts)

    run = EnrichmentRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == run_url(run)


@pytest.mark.django_db(transaction=True)
def test_resume_after_time_budget_continues(client, sales_ops, apollo, settings):
    settings.ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = 1
    settings.ENRICHMENT_CACHE_SECONDS = 0
    accounts = [AccountFactory(domain=f"company{index}.example") for index in range(4)]
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE, delay=0.6))
    client.force_login(sales_ops)
    start_enrichment_of(client, accounts, **HTMX)
    run = EnrichmentRun.objects.get()
    apollo.route("GET", APOLLO_PATH, FakeResponse(json=APOLLO_RESPONSE))

    client.post(resume_url(run))

    run.refresh_from_db()
    domains = sorted(request.query["domain"][0] for request in apollo.requests)
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.found == 4
    assert domains == sorted(account.domain for account in accounts)


@pytest.fixture
def stopped_run(sales_ops):
    """A run of five accounts that the time budget stopped after one success and one error."""
    accounts = [AccountFactory(domain=f"company{index}.example") for index in range(5)]
    run = enrichment_run_create(
        provider="apollo", account_ids=[account.pk for account in accounts], triggered_by=sales_ops
    )
    items = EnrichmentRunItem.objects.filter(run=run).order_by("account_id")
    items.filter(account=accounts[0]).update(
        status=EnrichmentRunItem.Status.DONE, looked_up=True, found=True, attempts=1
    )
    items.filter(account=accounts[1]).update(
        status=EnrichmentRunItem.Status.FAILED, error_kind="ProviderUnavailable", attempts=1
    )
    items.filter(account__in=accounts[2:]).update(
        status=EnrichmentRunItem.Status.FAILED, error_kind="NotReached"
    )
    return enrichment_run_refresh(run)


def test_refresh_leaves_not_reached_out(stopped_run):
    assert stopped_run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS
    assert stopped_run.processed == 2
    assert stopped_run.errors == 1
    assert stopped_run.not_reached == 3


def test_stopped_run_page_counts(client, sales_ops, stopped_run):
    client.force_login(sales_ops)

    detail = client.get(run_url(stopped_run)).content.decode()
    listing = client.get(LIST_URL).content.decode()
    api = client.get(f"/api/v1/enrichment-runs/{stopped_run.pk}/").json()

    assert 'value="40"' in detail
    assert "40%" in detail
    assert "2 of 5 accounts processed, 3 not looked up." in detail
    assert 'data-testid="enrichment-run-not-reached">3<' in detail
    assert 'data-testid="enrichment-run-errors">1<' in detail
    assert '<td class="text-end tabular-nums">2</td>' in listing
    assert '<td class="text-end tabular-nums">3</td>' in listing
    assert api["processed"] == 2
    assert api["errors"] == 1
    assert api["not_reached"] == 3


@pytest.mark.django_db(transaction=True)
def test_resume_message_names_time_budget(client, sales_ops, stopped_run, apollo, settings):
    settings.ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = 0
    client.force_login(sales_ops)

    response = client.post(resume_url(stopped_run), follow=True)

    stopped_run.refresh_from_db()
    assert (
        f"Enrichment run {stopped_run.pk} resumed: 4 accounts will be looked up, as many as "
        "fit in the time budget of 0 s. Resume again for the rest."
    ) in response.content.decode()
    assert stopped_run.processed == 1
    assert stopped_run.not_reached == 4
    assert apollo.count(APOLLO_PATH) == 0
