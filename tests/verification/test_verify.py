"""account_values_apply and accounts_verify on stored observations."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from audits.history import Channel, change_channel
from enrichment.models import Observation
from enrichment.services import account_values_apply, accounts_verify
from segmentation.models import Industry
from tests.factories import AccountFactory

from .conftest import (
    blank_account,
    employees_value,
    industry_value,
    location_value,
    observe,
    revenue_value,
)

pytestmark = pytest.mark.django_db


def verified_account(**fields) -> Account:
    """Create an account whose three mandatory fields two independent sources agree on."""
    account = blank_account(**fields)
    for source in ("zoominfo", "apollo"):
        observe(account, "industry", industry_value("SaaS"), source)
        observe(account, "employees", employees_value(400), source)
        observe(account, "location", location_value("DE", "BE", "Berlin"), source)
    return account


def test_apply_sets_values_from_observations():
    account = blank_account()
    observe(account, "industry", industry_value("SaaS", "Computer Software"), "apollo")
    observe(account, "employees", employees_value(240), "apollo", raw="240")
    observe(account, "revenue", revenue_value("12500000.00"), "apollo", raw="12.5M")
    observe(account, "location", location_value("FR", "ARA", "Lyon"), "apollo")
    observe(account, "technologies", ["Salesforce"], "apollo")
    observe(account, "description", "Revenue dashboards.", "apollo")

    changed = account_values_apply([account.pk])

    account.refresh_from_db()
    assert changed == [account.pk]
    assert account.industry == Industry.objects.get(name="SaaS")
    assert account.industry_raw == "Computer Software"
    assert account.employee_count == 240
    assert account.employee_raw == "240"
    assert account.annual_revenue_usd == Decimal("12500000.00")
    assert account.revenue_raw == "12.5M"
    assert (account.country, account.region, account.city) == ("FR", "ARA", "Lyon")
    assert account.technologies == ["Salesforce"]
    assert account.description == "Revenue dashboards."


def test_apply_leaves_status_alone():
    account = blank_account()
    observe(account, "location", location_value("FR"), "apollo")

    account_values_apply([account.pk])

    account.refresh_from_db()
    assert account.country == "FR"
    assert account.field_status == {}


def test_apply_prefers_higher_priority_source():
    account = blank_account()
    observe(account, "employees", employees_value(900), "apollo", minutes=60)
    observe(account, "employees", employees_value(100), "zoominfo", minutes=0)

    account_values_apply([account.pk])

    account.refresh_from_db()
    assert account.employee_count == 100


def test_apply_keeps_person_entered_value(make_user):
    person = make_user()
    account = blank_account()
    observe(account, "employees", employees_value(42), "manual", entered_by=person)
    observe(account, "employees", employees_value(900), "zoominfo", minutes=60)

    account_values_apply([account.pk])

    account.refresh_from_db()
    assert account.employee_count == 42


def test_apply_keeps_unrecorded_value():
    account = AccountFactory(employee_count=500, employee_min=500, employee_max=500)
    observe(account, "employees", employees_value(1200), "zoominfo")

    changed = account_values_apply([account.pk])

    account.refresh_from_db()
    assert changed == []
    assert account.employee_count == 500


def test_apply_field_without_observations_untouched():
    account = AccountFactory(country="US", description="Typed by hand")
    observe(account, "employees", employees_value(500), "zoominfo")

    account_values_apply([account.pk])

    account.refresh_from_db()
    assert account.country == "US"
    assert account.description == "Typed by hand"


def test_apply_records_history_with_channel():
    account = blank_account()
    observe(account, "location", location_value("FR"), "apollo")

    with change_channel(Channel.TASK):
        account_values_apply([account.pk])

    latest = account.history.first()
    assert latest.country == "FR"
    assert latest.history_channel == Channel.TASK


def test_apply_queries_do_not_grow_with_accounts():
    def make(count):
        accounts = [blank_account() for _ in range(count)]
        for index, account in enumerate(accounts):
            observe(account, "employees", employees_value(100 + index), "apollo")
            observe(account, "location", location_value("FR"), "apollo")
        return [account.pk for account in accounts]

    small, large = make(2), make(30)

    with CaptureQueriesContext(connection) as small_queries:
        accounts_verify(account_ids=small)
    with CaptureQueriesContext(connection) as large_queries:
        accounts_verify(account_ids=large)

    # SQLite takes at most 999 parameters per statement, so Django splits the history
    # INSERT of 30 wide rows in two.
    assert len(large_queries) - len(small_queries) <= 2


def test_verify_writes_field_status():
    account = verified_account()
    observe(account, "revenue", revenue_value("1000000"), "apollo")

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    status = account.field_status
    assert account.verification_status == "verified"
    assert status["industry"]["status"] == "verified"
    assert status["industry"]["sources"] == ["apollo", "zoominfo"]
    assert status["company_size"]["status"] == "verified"
    assert status["country"]["values"] == {"apollo": "DE", "zoominfo": "DE"}
    assert status["revenue"]["status"] == "single_source"
    assert status["technologies"]["status"] == "missing"


def test_same_provider_exports_are_one_source():
    account = blank_account()
    observe(account, "location", location_value("DE"), "apollo", minutes=0)
    observe(account, "location", location_value("DE"), "apollo", minutes=10)

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    assert account.field_status["country"]["status"] == "single_source"


def test_conflict_marks_account_conflicting():
    account = verified_account()
    observe(account, "industry", industry_value("FinTech"), "clearbit")
    observe(account, "industry", industry_value("FinTech"), "hubspot")

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    industry_status = account.field_status["industry"]
    assert account.verification_status == "conflicting"
    assert industry_status["status"] == "conflicting"
    assert industry_status["sources"] == ["clearbit", "hubspot"]
    assert industry_status["values"]["zoominfo"] == "SaaS"
    assert account.industry.name == "FinTech"


def test_majority_verifies_against_one_dissent():
    account = verified_account()
    observe(account, "location", location_value("US"), "clearbit")

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    country = account.field_status["country"]
    assert account.verification_status == "verified"
    assert country["status"] == "verified"
    assert country["values"]["clearbit"] == "US"


def test_size_conflict_with_one_other_source():
    account = blank_account()
    observe(account, "employees", employees_value(150), "zoominfo")
    observe(account, "employees", employees_value(5000), "apollo")

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    size = account.field_status["company_size"]
    assert size["status"] == "conflicting"
    assert size["values"] == {"apollo": "5,000", "zoominfo": "150"}
    assert account.employee_count == 150


def test_verify_returns_conflict_changes_to_resegment():
    account = verified_account()
    accounts_verify(account_ids=[account.pk])
    observe(account, "location", location_value("US"), "hubspot")

    result = accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    assert account.country == "US"
    assert account.verification_status == "conflicting"
    assert result.resegment_ids == [account.pk]
    assert result.conflicting_ids == [account.pk]


def test_verify_again_changes_nothing():
    account = verified_account()
    accounts_verify(account_ids=[account.pk])
    history_rows = account.history.count()

    result = accounts_verify(account_ids=[account.pk])

    assert result.changed_ids == []
    assert result.resegment_ids == []
    assert account.history.count() == history_rows


def test_unrecorded_value_conflicts_with_source():
    account = AccountFactory(country="US")
    observe(account, "location", location_value("CA"), "fortune500")

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    country = account.field_status["country"]
    assert account.country == "US"
    assert country["status"] == "conflicting"
    assert country["values"] == {"fortune500": "CA", "unrecorded": "US"}


def test_recorded_value_belongs_to_its_source():
    account = AccountFactory(country="US")
    observe(account, "location", location_value("US"), "fortune500")

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    assert account.field_status["country"]["status"] == "single_source"
    assert account.field_status["country"]["sources"] == ["fortune500"]


def test_account_without_observations_unverified():
    account = blank_account()

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    assert account.verification_status == "unverified"
    assert account.field_status["industry"]["status"] == "missing"
    assert account.field_status["country"]["status"] == "missing"


def test_unknown_ids_ignored():
    result = accounts_verify(account_ids=[987654])

    assert result.changed_ids == []
    assert result.verified_ids == []


def test_deleting_account_deletes_observations():
    """The table has no database constraint on the account, so Django must delete them."""
    untouched = blank_account()
    deleted = blank_account()
    observe(untouched, "country", "DE", "apollo")
    observe(deleted, "country", "US", "apollo")
    observe(deleted, "country", "US", "zoominfo")

    deleted.delete()

    assert list(Observation.objects.values_list("account_id", flat=True)) == [untouched.pk]
