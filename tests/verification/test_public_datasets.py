"""Verification on the real public datasets: S&P 500, Fortune 500 and Remote In Tech.

The counts asserted here are the ones docs/verification.md reports under "Verification on
the public datasets"; update both together.
"""

from pathlib import Path

import pytest

from accounts.models import Account, AccountIdentifier
from accounts.services import accounts_import
from audits.selectors import account_counts
from enrichment.models import Observation
from enrichment.profiles import profiles_import
from enrichment.selectors import verification_counts
from enrichment.verification import verified_mandatory_fields
from tests.datasets import require_datasets_dir

pytestmark = [pytest.mark.shared_data, pytest.mark.django_db]


@pytest.fixture
def datasets() -> Path:
    return require_datasets_dir()


def import_sp500_and_fortune(datasets: Path) -> None:
    accounts_import(datasets / "sp500-companies" / "constituents.csv")
    accounts_import(datasets / "fortune500-2019" / "fortune500.csv")


def by_ticker(ticker: str) -> Account:
    identifier = AccountIdentifier.objects.select_related("account")
    return identifier.get(kind="ticker", value=ticker).account


def accounts_observed_by(source: str) -> set[int]:
    return set(
        Observation.objects.filter(source=source).values_list("account_id", flat=True).distinct()
    )


def test_shared_companies_verified(datasets):
    import_sp500_and_fortune(datasets)

    for ticker in ("AAPL", "MSFT", "WMT"):
        status = by_ticker(ticker).field_status
        assert status["country"]["status"] == "verified", ticker
        assert status["country"]["sources"] == ["fortune500", "sp500"], ticker
        assert status["industry"]["status"] == "verified", ticker
        assert set(status["industry"]["values"]) == {"fortune500", "sp500"}, ticker
        assert status["company_size"]["status"] == "single_source", ticker
    apple = by_ticker("AAPL").field_status["industry"]["values"]
    assert (
        apple["sp500"] == "Technology Hardware, Storage & Peripherals (Hardware & Semiconductors)"
    )
    assert apple["fortune500"] == "Computers, Office Equipment (Hardware & Semiconductors)"


def test_industry_conflict_shows_both_values(datasets):
    import_sp500_and_fortune(datasets)

    booking = by_ticker("BKNG")
    industry = booking.field_status["industry"]
    assert booking.verification_status == "conflicting"
    assert industry["status"] == "conflicting"
    assert industry["values"] == {
        "fortune500": "Internet Services and Retailing (Consumer Internet)",
        "sp500": "Hotels, Resorts & Cruise Lines (Hospitality & Travel)",
    }


def test_company_in_one_file_is_single_source(datasets):
    import_sp500_and_fortune(datasets)

    datadog = by_ticker("DDOG")
    state_farm = Account.objects.get(domain="statefarm.com")
    assert datadog.field_status["country"] == {
        "status": "single_source",
        "sources": ["sp500"],
        "values": {"sp500": "US"},
    }
    assert datadog.field_status["industry"]["status"] == "single_source"
    assert datadog.field_status["company_size"]["status"] == "missing"
    assert state_farm.field_status["country"]["sources"] == ["fortune500"]
    assert state_farm.field_status["industry"]["status"] == "single_source"


def test_counts_after_sp500_and_fortune(datasets):
    import_sp500_and_fortune(datasets)

    counts = verification_counts()

    assert Account.objects.count() == 766
    assert counts["country"]["verified"] == 233
    assert counts["country"]["single_source"] == 532
    assert counts["country"]["missing"] == 1
    assert counts["industry"]["verified"] == 218
    assert counts["industry"]["conflicting"] == 15
    assert counts["industry"]["single_source"] == 533
    # Walt Disney: the Fortune 500 row of Twenty-First Century Fox, which lists Disney's
    # website, disagrees with Disney's row on head count and revenue.
    assert counts["company_size"]["single_source"] == 498
    assert counts["company_size"]["conflicting"] == 1
    assert counts["company_size"]["missing"] == 267
    assert counts["revenue"]["single_source"] == 498
    assert counts["revenue"]["conflicting"] == 1
    assert counts["account"] == {"verified": 0, "unverified": 750, "conflicting": 16}


def test_shared_companies_partly_verified(datasets):
    import_sp500_and_fortune(datasets)
    walmart = by_ticker("WMT")
    partly = [
        account
        for account in Account.objects.filter(verification_status="unverified")
        if verified_mandatory_fields(account.field_status)
    ]

    assert walmart.verification_status == "unverified"
    assert walmart.verification_summary() == "Partly verified (2 of 3 fields)"
    assert len(partly) == 217
    assert account_counts().quality["partly_verified"] == len(partly)
    assert account_counts().quality["verified_country"] == 233


def test_financials_do_not_verify_sp500(datasets):
    accounts_import(datasets / "sp500-companies" / "constituents.csv")
    accounts_import(datasets / "sp500-financials" / "constituents-financials.csv")

    both = accounts_observed_by("sp500") & accounts_observed_by("sp500_financials")
    statuses = Account.objects.filter(pk__in=both).values_list(
        "field_status__industry__status", flat=True
    )
    assert len(both) == 462
    assert set(statuses) == {"single_source"}


def test_profiles_overlap_and_counts(datasets):
    import_sp500_and_fortune(datasets)

    summary = profiles_import(datasets / "remote-in-tech" / "companies")

    profiled = accounts_observed_by("remoteintech")
    counts = verification_counts()
    home_depot = Account.objects.get(domain="homedepot.com").field_status["company_size"]
    microsoft = by_ticker("MSFT")
    assert (summary.read, summary.created, summary.matched, summary.errors) == (879, 861, 18, [])
    assert len(profiled) == 877
    assert len(profiled & accounts_observed_by("fortune500")) == 16
    assert len(profiled & accounts_observed_by("sp500")) == 11
    assert microsoft.verification_status == "verified"
    assert microsoft.field_status["company_size"]["sources"] == ["fortune500", "remoteintech"]
    assert home_depot["status"] == "conflicting"
    assert home_depot["values"] == {"fortune500": "413,000", "remoteintech": "~201-1,000"}
    assert counts["company_size"]["verified"] == 14
    assert counts["company_size"]["conflicting"] == 3
    assert counts["technologies"]["single_source"] == 820
    assert counts["account"] == {"verified": 9, "unverified": 1600, "conflicting": 18}


def test_careers_domain_not_matched(datasets):
    import_sp500_and_fortune(datasets)

    profiles_import(datasets / "remote-in-tech" / "companies")

    careers = Account.objects.get(domain="amazon.jobs")
    fortune = Account.objects.get(domain="amazon.com")
    assert careers.source == "remoteintech"
    assert fortune.pk != careers.pk
