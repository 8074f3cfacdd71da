"""A row that matches an account by domain under another company name."""

import pytest

from accounts.models import Account
from accounts.services import accounts_import

pytestmark = pytest.mark.django_db

HEADER = "Company,Website,# Employees,Company Country\n"


def import_rows(tmp_path, name, text, source):
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    return accounts_import(path, source=source)


@pytest.fixture
def parents(tmp_path):
    import_rows(
        tmp_path,
        "fortune.csv",
        "Microsoft,https://www.microsoft.com,131000,United States\n"
        "Amazon.com,https://www.amazon.com,647500,United States\n",
        "fortune500",
    )
    return {account.domain: account for account in Account.objects.all()}


def test_subsidiary_row_is_flagged(tmp_path, parents):
    run = import_rows(
        tmp_path,
        "cloud.csv",
        "Amazon Web Services,https://aws.amazon.com,100000,United States\n"
        "Microsoft Azure,https://azure.microsoft.com,20000,Ireland\n",
        "csv",
    )

    amazon = Account.objects.get(domain="amazon.com")
    flags = [flag for flag in amazon.review_flags if flag["field"] == "name"]
    assert run.updated == 2
    assert run.flagged == 2
    assert len(flags) == 1
    assert flags[0]["value"] == "Amazon Web Services"
    assert '"Amazon Web Services"' in flags[0]["message"]
    assert '"Amazon.com"' in flags[0]["message"]
    assert flags[0]["import_run"] == run.pk


def test_same_name_key_is_not_flagged(tmp_path, parents):
    run = import_rows(
        tmp_path,
        "crm.csv",
        "Microsoft Corporation,https://microsoft.com,130000,United States\n",
        "hubspot",
    )

    microsoft = Account.objects.get(domain="microsoft.com")
    assert run.flagged == 0
    assert not [flag for flag in microsoft.review_flags if flag["field"] == "name"]


def test_differing_count_makes_size_conflict(tmp_path, parents):
    import_rows(
        tmp_path,
        "cloud.csv",
        "Microsoft Azure,https://azure.microsoft.com,20000,Ireland\n",
        "csv",
    )

    microsoft = Account.objects.get(domain="microsoft.com")
    size = microsoft.field_status["company_size"]
    assert microsoft.employee_count == 131000
    assert microsoft.observations.filter(field="employees", source="csv").exists()
    assert size["status"] == "conflicting"
    assert size["disagreeing"] == ["csv"]
    assert size["values"]["csv"] == "20,000"


def test_name_spelling_domain_is_not_flagged(tmp_path, parents):
    run = import_rows(
        tmp_path,
        "crm.csv",
        "Amazon,https://amazon.com,640000,United States\n",
        "hubspot",
    )

    amazon = Account.objects.get(domain="amazon.com")
    assert run.flagged == 0
    assert not [flag for flag in amazon.review_flags if flag["field"] == "name"]


def test_many_rows_on_one_domain_add_one_flag(tmp_path, parents):
    rows = "".join(
        f"Loadtest {index},https://loadtest{index}.amazon.com,10,United States\n"
        for index in range(30)
    )

    run = import_rows(tmp_path, "load.csv", rows, "csv")

    amazon = Account.objects.get(domain="amazon.com")
    assert run.updated == 1
    assert run.merged == 29
    assert len([flag for flag in amazon.review_flags if flag["field"] == "name"]) == 1


def test_one_flag_across_batches(tmp_path, parents):
    path = tmp_path / "batches.csv"
    rows = "".join(
        f"Loadtest {index},https://loadtest{index}.amazon.com,10,United States\n"
        for index in range(12)
    )
    path.write_text(HEADER + rows, encoding="utf-8")

    run = accounts_import(path, source="csv", batch_size=5)

    amazon = Account.objects.get(domain="amazon.com")
    flags = [flag for flag in amazon.review_flags if flag["field"] == "name"]
    assert run.flagged == 1
    assert len(flags) == 1
    assert flags[0]["value"] == "Loadtest 0"
