"""Migration enrichment 0006, which stores old source names in one spelling, and verify_accounts."""

import importlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.importing.sources import source_name_normalize
from accounts.models import Account, ImportMapping, ImportRun, Lead
from enrichment.models import Observation
from enrichment.services import accounts_verify

from .conftest import blank_account, employees_value, industry_value, location_value, observe

pytestmark = pytest.mark.django_db

MIGRATION = ("enrichment", "0006_source_names_lower_case")
migration_module = importlib.import_module("enrichment.migrations.0006_source_names_lower_case")


def run_migration() -> None:
    """Run the migration's data step with the historical models of its state."""
    apps = MigrationExecutor(connection).loader.project_state(MIGRATION).apps
    migration_module.rewrite_source_names(apps, connection.schema_editor())


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("verify_accounts", *args, stdout=out)
    return out.getvalue()


def two_spellings_account() -> Account:
    """Create an account whose fields only HubSpot and hubspot report, then verify it."""
    account = blank_account(source="HubSpot")
    for source in ("HubSpot", "hubspot"):
        observe(account, "industry", industry_value("SaaS"), source)
        observe(account, "employees", employees_value(400), source)
        observe(account, "location", location_value("DE"), source)
    accounts_verify(account_ids=[account.pk])
    account.refresh_from_db()
    return account


def test_two_spellings_counted_twice_before():
    account = two_spellings_account()

    assert account.verification_status == "verified"
    assert account.field_status["industry"]["sources"] == ["HubSpot", "hubspot"]


def test_migration_rewrites_observation_sources():
    account = two_spellings_account()
    observe(account, "industry", industry_value("SaaS"), " Apollo ")

    run_migration()

    sources = set(Observation.objects.filter(account=account).values_list("source", flat=True))
    assert sources == {"hubspot", "apollo"}


def test_migration_uses_rule_spelling():
    names = ["HubSpot", " Trade-Show-2026 ", "ZoomInfo", "sp500"]

    renames = migration_module._renames(names)

    assert renames == {
        "HubSpot": source_name_normalize("HubSpot"),
        " Trade-Show-2026 ": source_name_normalize(" Trade-Show-2026 "),
        "ZoomInfo": source_name_normalize("ZoomInfo"),
    }


def test_migration_resets_affected_verification():
    account = two_spellings_account()
    untouched = blank_account()
    observe(untouched, "industry", industry_value("SaaS"), "apollo")
    accounts_verify(account_ids=[untouched.pk])
    untouched.refresh_from_db()

    run_migration()

    account.refresh_from_db()
    assert account.field_status == {}
    assert account.verification_status == "unverified"
    assert Account.objects.get(pk=untouched.pk).field_status == untouched.field_status


def test_command_counts_one_source_once():
    account = two_spellings_account()
    run_migration()

    output = run_command()

    account.refresh_from_db()
    assert account.field_status["industry"]["status"] == "single_source"
    assert account.field_status["industry"]["sources"] == ["hubspot"]
    assert list(account.field_status["industry"]["values"]) == ["hubspot"]
    assert account.verification_status == "unverified"
    assert "1 accounts to verify." in output


def test_command_skips_verified_accounts():
    account = two_spellings_account()

    output = run_command()

    account.refresh_from_db()
    assert "0 accounts to verify." in output
    assert account.verification_status == "verified"


def test_command_all_recomputes_every_account():
    account = two_spellings_account()
    Observation.objects.filter(account=account, source="HubSpot").update(source="hubspot")

    output = run_command("--all")

    account.refresh_from_db()
    assert "1 accounts to verify." in output
    assert account.verification_status == "unverified"


def test_command_rejects_zero_batch_size():
    with pytest.raises(CommandError, match="--batch-size 0 is invalid"):
        run_command("--batch-size", "0")


def test_migration_rewrites_other_tables():
    account = two_spellings_account()
    Lead.objects.create(account=account, email="ana@example.com", source="HubSpot")
    ImportRun.objects.create(source="HubSpot", file_name="companies.csv")
    ImportMapping.objects.create(
        name="CRM", header_signature="0" * 64, mapping={"columns": {}, "source": "HubSpot"}
    )

    run_migration()

    assert Account.objects.get(pk=account.pk).source == "hubspot"
    assert Lead.objects.get().source == "hubspot"
    assert ImportRun.objects.get().source == "hubspot"
    assert ImportMapping.objects.get().mapping["source"] == "hubspot"


def test_migration_keeps_reserved_spelling():
    account = blank_account(source="Manual")
    observe(account, "industry", industry_value("SaaS"), "Manual")
    observe(account, "industry", industry_value("SaaS"), "manual")

    run_migration()

    sources = sorted(Observation.objects.values_list("source", flat=True))
    assert sources == ["Manual", "manual"]
    assert Account.objects.get(pk=account.pk).source == "Manual"
