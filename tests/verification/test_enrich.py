"""accounts_enrich against a fake Apollo API on 127.0.0.1: values, counts, errors, resuming."""

from __future__ import annotations

import copy

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account
from audits.baseline import BASELINE_NOTE
from enrichment.models import EnrichmentRun, EnrichmentRunItem, Observation
from enrichment.providers import ProviderNotConfigured
from enrichment.services import (
    accounts_enrich,
    enrichment_run_create,
    enrichment_run_resume,
    field_conflict_resolve,
)
from tests.enrichment.fake_server import FakeResponse
from tests.enrichment.payloads import APOLLO_ORGANIZATION

from .conftest import blank_account, employees_value, industry_value, location_value, observe

pytestmark = pytest.mark.django_db

PATH = "/api/v1/organizations/enrich"


def organization(domain: str, **overrides) -> dict:
    """Return an Apollo organization for ``domain``, based on the documented example."""
    data = copy.deepcopy(APOLLO_ORGANIZATION)
    data.update(
        {
            "name": domain.split(".")[0].title(),
            "website_url": f"https://www.{domain}",
            "primary_domain": domain,
            "industry": "Enterprise Software",
            "industries": ["Enterprise Software"],
        }
    )
    data.update(overrides)
    return data


@pytest.fixture
def apollo(configure_provider, fake_server):
    """Serve one organization per domain; ``responses`` maps a domain to a FakeResponse."""
    configure_provider("apollo")
    responses: dict[str, FakeResponse] = {}

    def respond(request):
        domain = request.query["domain"][0]
        if domain in responses:
            return responses[domain]
        return FakeResponse(json={"organization": organization(domain)})

    fake_server.route("GET", PATH, respond)
    return responses


def run_for(*accounts: Account) -> EnrichmentRun:
    return enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])


def item_of(run: EnrichmentRun, account: Account) -> EnrichmentRunItem:
    return EnrichmentRunItem.objects.get(run=run, account=account)


def test_enrich_applies_provider_values(apollo):
    account = blank_account(domain="northwind.example")
    run = run_for(account)

    batch = accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    account.refresh_from_db()
    run.refresh_from_db()
    assert batch.found == 1
    assert account.employee_count == 240
    assert account.country == "FR"
    assert account.city == "Lyon"
    assert account.industry.name == "SaaS"
    assert account.technologies == ["Salesforce", "HubSpot", "Google Tag Manager", "React"]
    assert account.field_status["company_size"]["status"] == "single_source"
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert (run.total, run.processed, run.looked_up, run.found, run.changed) == (1, 1, 1, 1, 1)
    assert run.errors == 0
    assert run.started_at is not None
    assert run.finished_at is not None


def test_enrich_flags_long_technology_once(apollo):
    long_name = "Northwind Customer Data Platform for Enterprise Analytics Teams Edition"
    apollo["northwind.example"] = FakeResponse(
        json={"organization": organization("northwind.example", technology_names=[long_name])}
    )
    account = blank_account(domain="northwind.example")

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))
    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))

    account.refresh_from_db()
    assert account.technologies == [
        "Northwind Customer Data Platform for Enterprise Analytics Teams"
    ]
    assert len(account.review_flags) == 1
    assert account.review_flags[0]["field"] == "technologies"
    assert account.review_flags[0]["value"] == long_name
    assert "is 71 characters long, over the limit of 64" in account.review_flags[0]["message"]


def test_enrich_skips_reviewed_technology_flag(apollo):
    long_name = "Northwind Customer Data Platform for Enterprise Analytics Teams Edition"
    apollo["northwind.example"] = FakeResponse(
        json={"organization": organization("northwind.example", technology_names=[long_name])}
    )
    account = blank_account(domain="northwind.example")
    account.reviewed_flags = [{"field": "technologies", "value": long_name}]
    account.save(update_fields=["reviewed_flags"])

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))

    account.refresh_from_db()
    assert account.review_flags == []


def test_history_names_run_and_provider(apollo):
    account = blank_account(domain="northwind.example")
    run = run_for(account)

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    row = Account.history.filter(id=account.pk).latest("history_id")
    assert row.history_change_reason == f"Enrichment run {run.pk} (Apollo)"


def test_enrich_records_baseline_first(apollo):
    # An import stores accounts without history rows, so the run's change is the first.
    account = blank_account(domain="northwind.example")
    Account.history.filter(id=account.pk).delete()
    run = run_for(account)

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    baseline, change = Account.history.filter(id=account.pk).order_by("history_id")
    assert baseline.history_change_reason == BASELINE_NOTE
    assert baseline.country == ""
    assert baseline.employee_count is None
    assert baseline.history_date <= change.history_date
    assert change.history_change_reason == f"Enrichment run {run.pk} (Apollo)"
    assert change.country == "FR"


def test_enrich_adds_no_second_baseline(apollo):
    account = blank_account(domain="northwind.example")

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))

    rows = Account.history.filter(id=account.pk)
    assert not rows.filter(history_change_reason=BASELINE_NOTE).exists()
    assert list(rows.order_by("history_id").values_list("history_type", flat=True)) == ["+", "~"]


def test_enrich_records_observations_with_source(apollo):
    account = blank_account(domain="northwind.example")
    run = run_for(account)

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    observations = Observation.objects.filter(account=account, source="apollo")
    employees = observations.get(field="employees")
    fields = set(observations.values_list("field", flat=True))
    assert employees.value == employees_value(240)
    assert employees.raw_value == "240"
    assert employees.source_detail == f"enrichment run {run.pk}"
    assert {"industry", "revenue", "location", "technologies", "funding"} <= fields


def test_enrich_twice_adds_no_observations(apollo):
    account = blank_account(domain="northwind.example")
    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))
    count = Observation.objects.count()

    second = run_for(account)
    accounts_enrich(provider="apollo", account_ids=[account.pk], run=second)

    second.refresh_from_db()
    assert Observation.objects.count() == count
    assert second.found == 1
    assert second.changed == 0


def test_enrich_skips_done_accounts(apollo, fake_server):
    first = blank_account(domain="first.example")
    second = blank_account(domain="second.example")
    run = run_for(first, second)
    accounts_enrich(provider="apollo", account_ids=[first.pk], run=run)

    accounts_enrich(provider="apollo", account_ids=[first.pk, second.pk], run=run)

    run.refresh_from_db()
    assert fake_server.count(PATH) == 2
    assert run.processed == 2
    assert run.status == EnrichmentRun.Status.SUCCEEDED


def test_server_error_leaves_account_unchanged(apollo):
    account = blank_account(domain="broken.example")
    apollo["broken.example"] = FakeResponse(status=500, json={"error": "internal"})
    run = run_for(account)

    batch = accounts_enrich(
        provider="apollo", account_ids=[account.pk], run=run, final_attempt=False
    )

    account.refresh_from_db()
    item = item_of(run, account)
    assert batch.retry_ids == [account.pk]
    assert account.employee_count is None
    assert item.status == EnrichmentRunItem.Status.PENDING
    assert item.error_kind == "ProviderUnavailable"
    assert "HTTP 500" in item.error
    assert not Observation.objects.filter(account=account).exists()


def test_final_attempt_marks_failure(apollo):
    account = blank_account(domain="broken.example")
    apollo["broken.example"] = FakeResponse(status=503)
    run = run_for(account)

    batch = accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    run.refresh_from_db()
    assert batch.errors == 1
    assert batch.retry_ids == []
    assert run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS
    assert run.errors == 1
    assert run.error_details[0]["domain"] == "broken.example"
    assert run.error_details[0]["error_kind"] == "ProviderUnavailable"


def test_malformed_json_leaves_account_unchanged(apollo):
    account = blank_account(domain="garbled.example")
    apollo["garbled.example"] = FakeResponse(
        body="{not json", headers={"Content-Type": "application/json"}
    )
    run = run_for(account)

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    account.refresh_from_db()
    assert account.country == ""
    assert item_of(run, account).status == EnrichmentRunItem.Status.FAILED


def test_timeout_leaves_account_unchanged(apollo, configure_provider):
    configure_provider("apollo", timeout=[1, 0.2], max_attempts=1)
    account = blank_account(domain="slow.example")
    apollo["slow.example"] = FakeResponse(json={"organization": {}}, delay=1.0)
    run = run_for(account)

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    account.refresh_from_db()
    item = item_of(run, account)
    assert account.employee_count is None
    assert item.error_kind == "ProviderUnavailable"


def test_rate_limit_stops_and_resumes(apollo):
    limited = blank_account(domain="a-limited.example")
    later = blank_account(domain="b-later.example")
    apollo["a-limited.example"] = FakeResponse(status=429, headers={"Retry-After": "120"})
    run = run_for(limited, later)

    batch = accounts_enrich(
        provider="apollo", account_ids=[limited.pk, later.pk], run=run, final_attempt=False
    )
    run.refresh_from_db()
    assert batch.retry_ids == [later.pk, limited.pk]
    assert batch.not_reached_ids == [later.pk]
    assert batch.retry_after == pytest.approx(120, abs=15)
    assert run.processed == 0
    assert item_of(run, later).status == EnrichmentRunItem.Status.PENDING

    del apollo["a-limited.example"]
    accounts_enrich(provider="apollo", account_ids=batch.retry_ids, run=run)

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.found == 2


def test_rate_limit_not_reached_keep_own_error(apollo, fake_server):
    limited = blank_account(domain="a-limited.example")
    later = blank_account(domain="b-later.example")
    apollo["a-limited.example"] = FakeResponse(status=429, headers={"Retry-After": "120"})
    run = run_for(limited, later)

    batch = accounts_enrich(provider="apollo", account_ids=[limited.pk, later.pk], run=run)

    limited_item = item_of(run, limited)
    later_item = item_of(run, later)
    assert batch.retry_ids == []
    assert batch.not_reached_ids == [later.pk]
    assert limited_item.status == EnrichmentRunItem.Status.FAILED
    assert limited_item.error_kind == "ProviderRateLimited"
    assert limited_item.attempts == 1
    assert later_item.status == EnrichmentRunItem.Status.FAILED
    assert later_item.error_kind == "NotReached"
    assert later_item.attempts == 0
    assert later_item.error.startswith("not looked up, because apollo requested a wait of")
    assert "after the lookup of a-limited.example" in later_item.error
    assert "rate limit is reached" not in later_item.error
    assert [request.query["domain"][0] for request in fake_server.requests] == ["a-limited.example"]


def test_resume_looks_failed_accounts_up_again(apollo):
    account = blank_account(domain="flaky.example")
    apollo["flaky.example"] = FakeResponse(status=500)
    run = run_for(account)
    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)
    del apollo["flaky.example"]

    enrichment_run_resume(run)
    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    run.refresh_from_db()
    account.refresh_from_db()
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.errors == 0
    assert account.employee_count == 240
    assert item_of(run, account).attempts == 2


def test_company_not_found_is_not_an_error(apollo):
    account = blank_account(domain="unknown.example")
    apollo["unknown.example"] = FakeResponse(json={"organization": None})
    run = run_for(account)

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    run.refresh_from_db()
    assert (run.looked_up, run.found, run.errors) == (1, 0, 0)
    assert run.status == EnrichmentRun.Status.SUCCEEDED


def test_account_without_domain_fails(apollo, fake_server):
    account = blank_account(domain="", website="")
    run = run_for(account)

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    item = item_of(run, account)
    assert fake_server.count(PATH) == 0
    assert item.status == EnrichmentRunItem.Status.FAILED
    assert item.error_kind == "MissingDomain"


def test_not_configured_stops_run(settings):
    account = blank_account(domain="northwind.example")
    run = run_for(account)

    with pytest.raises(ProviderNotConfigured, match="ENRICHMENT_PROVIDERS"):
        accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.FAILED
    assert "ENRICHMENT_PROVIDERS" in run.error
    assert item_of(run, account).status == EnrichmentRunItem.Status.PENDING


def test_provider_does_not_overwrite_person_value(apollo, make_user):
    account = blank_account(domain="northwind.example")
    observe(account, "employees", employees_value(42), "manual", entered_by=make_user())

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))

    account.refresh_from_db()
    assert account.employee_count == 42
    assert account.field_status["company_size"]["status"] == "accepted"
    assert account.field_status["company_size"]["values"]["apollo"] == "240"


def test_resolution_survives_later_run(apollo, manager):
    account = blank_account(domain="northwind.example")
    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))
    field_conflict_resolve(
        account=account, field="country", value="Germany", user=manager, reason="Moved to Berlin"
    )
    apollo["northwind.example"] = FakeResponse(
        json={"organization": organization("northwind.example", city="Paris")}
    )

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run_for(account))

    account.refresh_from_db()
    assert account.country == "DE"
    assert account.field_status["country"]["status"] == "accepted"
    assert account.field_status["country"]["values"]["apollo"] == "FR"


def test_counts_verified_and_conflicting(apollo):
    agreeing = blank_account(domain="agree.example")
    observe(agreeing, "industry", industry_value("SaaS"), "zoominfo")
    observe(agreeing, "employees", employees_value(250), "zoominfo")
    observe(agreeing, "location", location_value("FR"), "zoominfo")
    disagreeing = blank_account(domain="disagree.example")
    observe(disagreeing, "location", location_value("US"), "zoominfo")
    run = run_for(agreeing, disagreeing)

    accounts_enrich(provider="apollo", account_ids=[agreeing.pk, disagreeing.pk], run=run)

    run.refresh_from_db()
    disagreeing.refresh_from_db()
    assert run.verified == 1
    assert run.conflicts == 1
    assert disagreeing.field_status["country"]["values"] == {"apollo": "FR", "zoominfo": "US"}


def test_create_run_for_unknown_domain():
    with pytest.raises(ValidationError, match="no account has the domain"):
        enrichment_run_create(provider="apollo", domain="nobody.example")


def test_create_run_for_all_skips_accounts_without_domain():
    blank_account(domain="one.example")
    blank_account(domain="")

    run = enrichment_run_create(provider="apollo", all_accounts=True)

    assert run.total == 1
    assert run.scope == EnrichmentRun.Scope.ALL
