"""The enrich and import_profiles management commands."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from enrichment.management.commands import enrich as enrich_command
from enrichment.models import EnrichmentRun
from tests.enrichment.fake_server import FakeResponse
from tests.enrichment.payloads import APOLLO_RESPONSE

from .conftest import blank_account

pytestmark = pytest.mark.django_db

PATH = "/api/v1/organizations/enrich"


@pytest.fixture
def apollo(configure_provider, fake_server, monkeypatch):
    monkeypatch.setattr(enrich_command, "PASS_WAIT_SECONDS", 0)
    configure_provider("apollo", max_attempts=1)
    fake_server.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE))
    return fake_server


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("enrich", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_enrich_one_account(apollo):
    account = blank_account(domain="northwind.example")

    output = run_command("--provider", "apollo", "--account", "northwind.example")

    account.refresh_from_db()
    assert account.employee_count == 240
    assert "1/1 processed: 1 found, 1 changed, 0 errors" in output
    assert "succeeded: 1 of 1 processed, 1 looked up, 1 found, 1 changed" in output


def test_enrich_all_uses_only_provider(apollo):
    blank_account(domain="one.example")
    blank_account(domain="two.example")

    output = run_command("--all")

    assert "with apollo: 2 accounts" in output
    assert apollo.count(PATH) == 2


def test_enrich_unconfigured_provider_names_setting():
    blank_account(domain="northwind.example")

    with pytest.raises(
        CommandError, match=r'Add an "apollo" entry to settings\.ENRICHMENT_PROVIDERS'
    ):
        run_command("--provider", "apollo", "--account", "northwind.example")


def test_enrich_missing_key_names_setting(configure_provider):
    configure_provider("apollo", api_key="")
    blank_account(domain="northwind.example")

    with pytest.raises(CommandError, match=r'ENRICHMENT_PROVIDERS\["apollo"\]\["api_key"\]'):
        run_command("--provider", "apollo", "--account", "northwind.example")


def test_enrich_without_providers_configured():
    with pytest.raises(CommandError, match="No enrichment provider is configured"):
        run_command("--all")


def test_enrich_needs_scope(apollo):
    with pytest.raises(CommandError, match="Pass --account DOMAIN, --all or --resume RUN_ID"):
        run_command("--provider", "apollo")


def test_enrich_unknown_domain(apollo):
    with pytest.raises(CommandError, match="no account has the domain"):
        run_command("--provider", "apollo", "--account", "nobody.example")


def test_enrich_failures_then_resume(apollo):
    blank_account(domain="northwind.example")
    apollo.route("GET", PATH, FakeResponse(status=500))

    output = run_command(
        "--provider", "apollo", "--account", "northwind.example", "--attempts", "2"
    )

    run = EnrichmentRun.objects.get()
    assert "Pass 2 of 2" in output
    assert "1 errors" in output
    assert f"enrich --resume {run.pk}" in output
    assert run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS

    apollo.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE))
    output = run_command("--resume", str(run.pk))

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert "1 found" in output


def test_enrich_rate_limited_account_holds_none_back(apollo, monkeypatch):
    monkeypatch.setattr(enrich_command, "MAX_WAIT_SECONDS", 0)
    domains = ["att.example", "ibm.example", "intel.example", "oracle.example"]
    for domain in domains:
        blank_account(domain=domain)

    def respond(request):
        if request.query["domain"][0] == "ibm.example":
            return FakeResponse(status=429, headers={"Retry-After": "2"})
        return FakeResponse(json=APOLLO_RESPONSE)

    apollo.route("GET", PATH, respond)

    output = run_command("--provider", "apollo", "--all", "--attempts", "2")

    run = EnrichmentRun.objects.get()
    requested = [request.query["domain"][0] for request in apollo.requests]
    assert requested.count("intel.example") == 1
    assert requested.count("oracle.example") == 1
    assert requested.count("ibm.example") == 2
    assert "Looking up the 2 accounts not reached." in output
    assert run.found == 3
    assert run.errors == 1
    assert [detail["domain"] for detail in run.error_details] == ["ibm.example"]
    assert "ibm.example" in run.error_details[0]["error"]


def test_enrich_resume_unknown_run(apollo):
    with pytest.raises(CommandError, match="Enrichment run 999 was not found"):
        run_command("--resume", "999")
