"""The account list's import filter and the import page's links to it."""

import pytest
from django.urls import reverse

from accounts import roles
from accounts.models import Account, ImportRunAccount
from accounts.services import accounts_import
from tests.factories import AccountFactory

HEADER = ["Company", "Website", "# Employees", "Company Country"]
LIST_URL = reverse("accounts:account-list")

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_imports(write_csv):
    """Import two files that share one account, with one flagged row in each."""
    first = accounts_import(
        write_csv(
            HEADER,
            [
                ["Anvil Peak", "anvilpeak.com", "120", "US"],
                ["Birch Lane", "birchlane.com", "a handful", "US"],
                ["Shared Co", "shared.com", "40", "DE"],
            ],
            name="first.csv",
        )
    )
    second = accounts_import(
        write_csv(
            HEADER,
            [
                ["Cedar Row", "cedarrow.com", "lots", "GB"],
                ["Shared Co", "shared.com", "45", "DE"],
            ],
            name="second.csv",
        )
    )
    AccountFactory(name="Untouched", domain="untouched.com")
    return first, second


@pytest.fixture
def ops(client, make_user):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    return client


def listed_names(client, query: str) -> list[str]:
    response = client.get(f"{LIST_URL}?{query}")
    assert response.status_code == 200
    return sorted(account.name for account in response.context["page_obj"].object_list)


def test_import_links_its_accounts(two_imports):
    first, second = two_imports
    first_ids = set(
        ImportRunAccount.objects.filter(import_run=first).values_list("account_id", flat=True)
    )
    expected = set(
        Account.objects.filter(
            domain__in=["anvilpeak.com", "birchlane.com", "shared.com"]
        ).values_list("pk", flat=True)
    )
    assert first_ids == expected
    assert ImportRunAccount.objects.filter(import_run=second).count() == 2


def test_dry_run_links_no_accounts(write_csv):
    run = accounts_import(
        write_csv(HEADER, [["Anvil Peak", "anvilpeak.com", "1", "US"]]), dry_run=True
    )
    assert not ImportRunAccount.objects.filter(import_run=run).exists()


def test_filter_lists_import_accounts(ops, two_imports):
    first, second = two_imports
    assert listed_names(ops, f"import_run={first.pk}") == ["Anvil Peak", "Birch Lane", "Shared Co"]
    assert listed_names(ops, f"import_run={second.pk}") == ["Cedar Row", "Shared Co"]


def test_filter_lists_import_flagged(ops, two_imports):
    first, second = two_imports
    assert listed_names(ops, f"import_run={first.pk}&flagged=true") == ["Birch Lane"]
    assert listed_names(ops, f"import_run={second.pk}&flagged=true") == ["Cedar Row"]
    assert listed_names(ops, f"flagged_by_import={first.pk}") == ["Birch Lane"]
    assert listed_names(ops, f"flagged_by_import={second.pk}") == ["Cedar Row"]


def test_flags_record_their_import(two_imports):
    first, _second = two_imports
    flags = Account.objects.get(domain="birchlane.com").review_flags

    assert len(flags) == 1
    assert flags[0]["import_run"] == first.pk
    assert flags[0]["field"] == "employees"


def test_flagged_by_import_skips_other_flags(ops, two_imports, write_csv):
    first, _second = two_imports
    # Updates Birch Lane, which keeps the flag of the first import, without a flag of its own.
    third = accounts_import(
        write_csv(HEADER, [["Birch Lane", "birchlane.com", "", "US"]], name="third.csv")
    )

    assert third.flagged == 0
    assert listed_names(ops, f"import_run={third.pk}&flagged=true") == ["Birch Lane"]
    assert listed_names(ops, f"flagged_by_import={third.pk}") == []
    assert listed_names(ops, f"flagged_by_import={first.pk}") == ["Birch Lane"]


def test_flagged_by_import_drops_resolved_flag(ops, two_imports):
    first, _second = two_imports
    Account.objects.filter(domain="birchlane.com").update(review_flags=[])

    assert listed_names(ops, f"flagged_by_import={first.pk}") == []


def test_flagged_by_import_rejects_unknown(ops, two_imports):
    html = ops.get(f"{LIST_URL}?flagged_by_import=999999").content.decode()

    assert "999999 is not the id of an import" in html


def test_filter_rejects_unknown_import(ops, two_imports):
    response = ops.get(f"{LIST_URL}?import_run=999999")
    html = response.content.decode()
    assert "999999 is not the id of an import" in html


def test_filter_rejects_malformed_import(ops, two_imports):
    response = ops.get(f"{LIST_URL}?import_run=first")
    assert "Enter the id of an import, such as 12." in response.content.decode()


def test_api_filters_by_import(client, make_user, two_imports):
    first, _second = two_imports
    client.force_login(make_user(roles.MARKETING, username="mkt"))
    response = client.get(f"/api/v1/accounts/?import_run={first.pk}")
    assert response.status_code == 200
    names = sorted(row["name"] for row in response.json()["results"])
    assert names == ["Anvil Peak", "Birch Lane", "Shared Co"]


def test_api_filters_by_flagging_import(client, make_user, two_imports):
    _first, second = two_imports
    client.force_login(make_user(roles.MARKETING, username="mkt"))
    response = client.get(f"/api/v1/accounts/?flagged_by_import={second.pk}")

    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Cedar Row"]


def test_import_page_links_use_filter(ops, two_imports):
    first, _second = two_imports
    html = ops.get(reverse("accounts:import-detail", args=[first.pk])).content.decode()
    assert f'?flagged_by_import={first.pk}" data-testid="import-flagged-link"' in html
    assert (
        f'?import_run={first.pk}&amp;ordering=-updated_at" data-testid="import-accounts-link"'
        in html
    )
    assert f'href="{LIST_URL}?flagged=true"' not in html
