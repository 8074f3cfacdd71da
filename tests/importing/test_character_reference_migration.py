"""The data migration that decodes HTML character references in stored display values."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.models import Account
from accounts.normalizers import company_name_key
from enrichment.models import Observation
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "accounts.migrations.0030_decode_character_references_in_values"
)


def escaped_account(name: str, **fields) -> Account:
    """Create an account stored as imports stored it before they decoded references."""
    account = AccountFactory(name=name, **fields)
    # A stale key, which the migration must recompute from the decoded name.
    Account.objects.filter(pk=account.pk).update(name_key="stale key")
    return account


def observe(account: Account, field: str, value, raw_value: str) -> Observation:
    return Observation.objects.create(
        account=account,
        field=field,
        value=value,
        raw_value=raw_value,
        source="hubspot",
        observed_at=timezone.now(),
    )


def test_migration_decodes_account_values():
    account = escaped_account(
        "AT&amp;T",
        industry_raw="Hotels &amp; Resorts",
        technologies=["AT&amp;T Cloud", "AT&T Cloud", "Salesforce"],
    )

    migration.decode_values(apps, None)

    account.refresh_from_db()
    assert account.name == "AT&T"
    assert account.name_key == company_name_key("AT&T")
    assert account.industry_raw == "Hotels & Resorts"
    assert account.technologies == ["AT&T Cloud", "Salesforce"]


def test_migration_keeps_plain_ampersands():
    plain = AccountFactory(
        name="R&D Labs",
        industry_raw="R&D Services",
        technologies=["R&D Tools"],
    )
    no_semicolon = AccountFactory(name="Ham&nothing Deli", industry_raw="Food; Drink & Co")
    before = {
        account.pk: (account.name, account.name_key, account.industry_raw, account.technologies)
        for account in Account.objects.all()
    }

    migration.decode_values(apps, None)

    for account in (plain, no_semicolon):
        account.refresh_from_db()
        stored = (account.name, account.name_key, account.industry_raw, account.technologies)
        assert stored == before[account.pk]
    assert plain.name == "R&D Labs"
    assert no_semicolon.name == "Ham&nothing Deli"


def test_migration_decodes_double_escaping():
    account = escaped_account("Ham &amp;amp; Eggs", industry_raw="Food &#38;amp; Drink")

    migration.decode_values(apps, None)

    account.refresh_from_db()
    assert account.name == "Ham & Eggs"
    assert account.industry_raw == "Food & Drink"


def test_migration_runs_twice_unchanged():
    account = escaped_account(
        "Procter &amp; Gamble",
        industry_raw="Household &amp; Personal Products",
        technologies=["Google Tag Manager", "AT&amp;T"],
    )
    migration.decode_values(apps, None)
    account.refresh_from_db()
    first = (account.name, account.name_key, account.industry_raw, account.technologies)

    migration.decode_values(apps, None)

    account.refresh_from_db()
    second = (account.name, account.name_key, account.industry_raw, account.technologies)
    assert first == (
        "Procter & Gamble",
        company_name_key("Procter & Gamble"),
        "Household & Personal Products",
        ["Google Tag Manager", "AT&T"],
    )
    assert second == first


def test_migration_decodes_every_batch(monkeypatch):
    monkeypatch.setattr(migration, "BATCH_SIZE", 2)
    accounts = [escaped_account(f"Smith &amp; Sons {number}") for number in range(5)]

    migration.decode_values(apps, None)

    names = sorted(
        Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("name", flat=True)
    )
    assert names == [f"Smith & Sons {number}" for number in range(5)]


def test_migration_decodes_observation_values():
    account = escaped_account("AT&amp;T", industry_raw="Hotels &amp; Resorts")
    name = observe(account, "name", "AT&amp;T", "AT&amp;T")
    industry = observe(
        account,
        "industry",
        {"industry_id": None, "label": "Hotels &amp; Resorts"},
        "Hotels &amp; Resorts",
    )
    technologies = observe(account, "technologies", ["AT&amp;T Cloud"], "AT&amp;T Cloud")
    plain = observe(account, "technologies", ["R&D Tools"], "R&D Tools")
    # A description is not decoded on import, so the migration leaves it too.
    description = observe(account, "description", "Fish &amp; Chips", "Fish &amp; Chips")

    migration.decode_values(apps, None)

    for observation in (name, industry, technologies, plain, description):
        observation.refresh_from_db()
    assert name.value == "AT&T"
    assert industry.value == {"industry_id": None, "label": "Hotels & Resorts"}
    assert technologies.value == ["AT&T Cloud"]
    assert plain.value == ["R&D Tools"]
    assert description.value == "Fish &amp; Chips"
    assert industry.raw_value == "Hotels &amp; Resorts"
