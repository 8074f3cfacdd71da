"""Imports of the real public datasets, and reads of their multi-line texts as CSV."""

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.importing.reading import open_table
from accounts.models import Account, AccountIdentifier, ImportRun
from accounts.selectors import conflict_options
from accounts.services import accounts_import
from enrichment.models import Observation
from tests.datasets import require_datasets_dir

pytestmark = [pytest.mark.shared_data, pytest.mark.django_db]

YC_FILES = 48
YC_ROWS = 5579
REMOTE_PROFILES = 879


@pytest.fixture
def datasets() -> Path:
    return require_datasets_dir()


def import_sp500(datasets: Path) -> ImportRun:
    return accounts_import(datasets / "sp500-companies" / "constituents.csv")


def import_financials(datasets: Path) -> ImportRun:
    return accounts_import(datasets / "sp500-financials" / "constituents-financials.csv")


def import_fortune(datasets: Path) -> ImportRun:
    return accounts_import(datasets / "fortune500-2019" / "fortune500.csv")


def import_yc(datasets: Path) -> list[ImportRun]:
    paths = sorted((datasets / "yc-companies" / "batches").glob("*.json"))
    return [accounts_import(path) for path in paths]


def by_identifier(kind: str, value: str) -> Account:
    return AccountIdentifier.objects.select_related("account").get(kind=kind, value=value).account


def assert_rejections_have_reasons(run: ImportRun) -> None:
    if not run.rejected:
        assert run.report_path == ""
        return
    with Path(run.report_path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == run.rejected
    assert all(row["reason"] for row in rows)


def test_sp500_constituents(datasets):
    run = import_sp500(datasets)

    alphabet = by_identifier("ticker", "GOOG")
    assert run.source == "sp500"
    assert run.column_mapping["layout"] == "sp500"
    assert (run.rows_read, run.created, run.merged, run.rejected) == (503, 500, 3, 0)
    assert Account.objects.count() == 500
    assert alphabet == by_identifier("ticker", "GOOGL")
    assert alphabet == by_identifier("cik", "0001652044")
    assert by_identifier("ticker", "FOX") == by_identifier("ticker", "FOXA")
    assert by_identifier("ticker", "NWS") == by_identifier("ticker", "NWSA")
    assert by_identifier("ticker", "ACN").country == "IE"
    apple = by_identifier("ticker", "AAPL")
    assert (apple.country, apple.region, apple.city) == ("US", "CA", "Cupertino")
    assert by_identifier("ticker", "MMM").region == "MN"
    assert not Account.objects.filter(industry__isnull=True).exists()
    assert AccountIdentifier.objects.filter(kind="cik").count() == 500
    assert all(
        len(value) == 10 and value.isdigit()
        for value in AccountIdentifier.objects.filter(kind="cik").values_list("value", flat=True)
    )
    assert by_identifier("ticker", "XYZ").country == ""
    assert by_identifier("ticker", "EL").name == "The Estée Lauder Companies"


def test_sp500_constituents_without_sector_column(datasets, tmp_path):
    source = datasets / "sp500-companies" / "constituents.csv"
    trimmed = tmp_path / "constituents-without-sector.csv"
    with (
        source.open(encoding="utf-8", newline="") as read,
        trimmed.open("w", encoding="utf-8", newline="") as write,
    ):
        writer = csv.writer(write)
        for row in csv.DictReader(read):
            if write.tell() == 0:
                writer.writerow([name for name in row if name != "GICS Sector"])
            writer.writerow([value for name, value in row.items() if name != "GICS Sector"])

    run = accounts_import(trimmed)

    assert run.column_mapping["layout"] == "sp500"
    assert run.column_mapping["missing"] == ["GICS Sector"]
    assert run.column_mapping["columns"]["Security"] == "name"
    assert (run.rows_read, run.created, run.merged, run.rejected) == (503, 500, 3, 0)
    assert by_identifier("ticker", "MMM").name == "3M"
    assert not Account.objects.filter(industry__isnull=True).exists()


def test_sp500_financials_alone(datasets):
    run = import_financials(datasets)

    mmm = by_identifier("ticker", "MMM")
    market_cap = Observation.objects.get(account=mmm, field="market_cap")
    assert run.source == "sp500_financials"
    assert (run.rows_read, run.rejected) == (503, 0)
    assert run.created + run.merged == 503
    assert market_cap.value == {"amount": "92293693440.00", "currency": "USD"}
    assert mmm.annual_revenue_usd is None
    assert mmm.industry_raw == "Industrial Conglomerates"
    assert mmm.industry is not None
    assert_rejections_have_reasons(run)


def test_sp500_and_financials_one_account_per_ticker(datasets):
    import_sp500(datasets)

    run = import_financials(datasets)

    tickers = AccountIdentifier.objects.filter(kind="ticker")
    assert run.created == 38
    assert run.updated + run.merged == 465
    assert Account.objects.count() == 538
    assert tickers.count() == 541
    assert tickers.values("value").distinct().count() == 541
    assert by_identifier("ticker", "HES").source == "sp500_financials"
    assert by_identifier("ticker", "DDOG").source == "sp500"
    assert by_identifier("ticker", "MMM") == by_identifier("cik", "0000066740")


def test_fortune500(datasets):
    run = import_fortune(datasets)

    walmart = Account.objects.get(domain="walmart.com")
    apple = Account.objects.get(domain="apple.com")
    assert run.encoding == "utf-16"
    assert run.source == "fortune500"
    assert run.column_mapping["multipliers"] == {"revenue ($M)": 1_000_000}
    # Twenty-First Century Fox lists Disney's website, so the two rows are one account.
    assert (run.rows_read, run.created, run.merged, run.rejected) == (500, 499, 1, 0)
    assert walmart.name == "Walmart"
    assert walmart.annual_revenue_usd == Decimal("514405000000.00")
    assert walmart.revenue_currency == "USD"
    assert walmart.employee_count == 2_200_000
    assert (walmart.country, walmart.region, walmart.city) == ("US", "AR", "Bentonville")
    assert apple.country == "US"
    assert apple.region == "CA"
    assert Observation.objects.get(account=walmart, field="rank").value == 1
    assert_rejections_have_reasons(run)


def test_fortune500_merged_row_values_offered(datasets):
    run = import_fortune(datasets)

    disney = Account.objects.get(domain="thewaltdisneycompany.com")
    options = conflict_options(disney, "employees")
    offered = {option.value["count"]: option for option in options}
    assert disney.field_status["company_size"]["status"] == "conflicting"
    assert set(offered) == {201_000, 22_400}
    assert all(option.import_run_id == run.pk for option in options)
    assert offered[201_000].line < offered[22_400].line


def test_fortune500_us_towns_not_flagged(datasets):
    import_fortune(datasets)

    for domain in ("cardinalhealth.com", "rossstores.com", "zimmerbiomet.com", "harris.com"):
        account = Account.objects.get(domain=domain)
        messages = [str(flag.get("message", "")) for flag in account.review_flags]
        assert account.country == "US"
        assert not [message for message in messages if "is usually in" in message], domain


def test_ycombinator_batches(datasets):
    runs = import_yc(datasets)

    blooms = Account.objects.filter(name="Bloom")
    assert len(runs) == YC_FILES
    assert sum(run.rows_read for run in runs) == YC_ROWS
    assert all(run.source == "ycombinator" for run in runs)
    assert sum(run.created + run.merged + run.updated + run.rejected for run in runs) == YC_ROWS
    assert AccountIdentifier.objects.filter(kind="yc").count() == YC_ROWS - sum(
        run.rejected for run in runs
    )
    assert blooms.count() == 3
    assert set(blooms.values_list("domain", flat=True)) == {
        "bloom.diy",
        "trybloom.ai",
        "bloomapp.com",
    }
    doordash = Account.objects.get(domain="doordash.com")
    assert doordash.employee_count == 8600
    assert not Account.objects.filter(employee_count=0).exists()
    assert Account.objects.filter(employee_count__isnull=True).count() >= 214
    # The platforms' own websites give them their domains; their pages about other
    # companies stay third-party pages.
    assert Account.objects.get(domain="producthunt.com").name == "Product Hunt"
    assert Account.objects.get(domain="ycombinator.com").name == "Y Combinator"
    assert Account.objects.get(name="Storyline").domain == ""
    assert Account.objects.get(name="Uiflow").domain == ""
    assert Account.objects.get(name="Vidpresso").domain == ""
    for run in runs:
        assert_rejections_have_reasons(run)


def test_sp500_then_fortune_one_account_per_company(datasets):
    import_sp500(datasets)

    run = import_fortune(datasets)

    apple = by_identifier("ticker", "AAPL")
    microsoft = by_identifier("ticker", "MSFT")
    walmart = by_identifier("ticker", "WMT")
    assert run.updated > 200
    assert apple.domain == "apple.com"
    assert microsoft.domain == "microsoft.com"
    assert walmart.domain == "walmart.com"
    assert walmart.employee_count == 2_200_000
    assert Account.objects.filter(name_key="apple").count() == 1
    assert Account.objects.filter(domain="walmart.com").count() == 1
    assert Observation.objects.filter(account=walmart, field="name").count() == 2
    assert walmart.source == "sp500"


def test_all_datasets_segmented(datasets):
    runs = [import_sp500(datasets), import_financials(datasets), import_fortune(datasets)]
    runs += import_yc(datasets)

    accounts = Account.objects.all()
    unscored = accounts.filter(scored_at__isnull=True)
    untagged = accounts.filter(tag="", needs_enrichment=False)
    missing_fields_unknown = accounts.filter(needs_enrichment=True, missing_fields=[])
    assert all(run.status == ImportRun.Status.SUCCEEDED for run in runs)
    assert all(run.error == "" for run in runs)
    assert accounts.count() > 6000
    assert not unscored.exists()
    assert not untagged.exists()
    assert not missing_fields_unknown.exists()


@pytest.mark.parametrize(
    "columns",
    [
        ["name", "website", "long_description"],
        ["name", "long_description", "website", "one_liner", "team_size", "industry"],
    ],
)
def test_yc_descriptions_as_csv_read_without_rejection(datasets, tmp_path, columns):
    """Quoted descriptions over several lines, with commas, are values, not open quotes."""
    path = tmp_path / "yc.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for batch in sorted((datasets / "yc-companies" / "batches").glob("*.json")):
            for item in json.loads(batch.read_text(encoding="utf-8")):
                writer.writerow([item.get(name) or "" for name in columns])

    with open_table(path) as table:
        records = list(table.records)

    multiline = [record for record in records if any("\n" in value for value in record.values)]
    assert len(records) == YC_ROWS
    assert multiline
    assert [record.error for record in records if record.error] == []


@pytest.mark.parametrize(
    "columns",
    [["name", "website", "profile"], ["name", "profile", "website", "region"]],
)
def test_remote_profiles_as_csv_read_without_rejection(datasets, tmp_path, columns):
    """Markdown profiles, with front matter, lists and commas, are values, not open quotes."""
    path = tmp_path / "remote.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for profile in sorted((datasets / "remote-in-tech" / "companies").glob("*.md")):
            values = {
                "name": profile.stem,
                "website": f"{profile.stem}.example",
                "profile": profile.read_text(encoding="utf-8"),
                "region": "other",
            }
            writer.writerow([values[name] for name in columns])

    with open_table(path) as table:
        records = list(table.records)

    assert len(records) == REMOTE_PROFILES
    assert all("\n" in record.values[columns.index("profile")] for record in records)
    assert [record.error for record in records if record.error] == []
