"""accounts_import: counts, rejections, flags, matching rules, dry runs and re-imports."""

import codecs
import csv
import gzip
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.importing import runner
from accounts.importing.errors import ImportFileError
from accounts.models import Account, AccountIdentifier, ImportRun, Lead
from accounts.services import accounts_import, import_run_create
from audits.baseline import BASELINE_NOTE
from enrichment.models import Observation
from segmentation.models import Industry
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

APOLLO = [
    "Company",
    "Website",
    "# Employees",
    "Industry",
    "Company City",
    "Company State",
    "Company Country",
    "Annual Revenue",
    "Technologies",
]


def apollo_row(name: str, website: str = "", **values: str) -> list[str]:
    row = dict.fromkeys(APOLLO, "")
    row.update({"Company": name, "Website": website})
    row.update({column: values[key] for key, column in _APOLLO_KEYS.items() if key in values})
    return [row[column] for column in APOLLO]


_APOLLO_KEYS = {
    "employees": "# Employees",
    "industry": "Industry",
    "city": "Company City",
    "state": "Company State",
    "country": "Company Country",
    "revenue": "Annual Revenue",
    "technologies": "Technologies",
}


def read_report(run: ImportRun) -> list[dict[str, str]]:
    with Path(run.report_path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_counts_and_values(write_csv):
    path = write_csv(
        APOLLO,
        [
            apollo_row(
                "Anvil Peak, Inc.",
                "https://www.anvilpeak.com/",
                employees="51-200",
                industry="Computer Software",
                city="Austin",
                state="TX",
                country="United States",
                revenue="$12.5M",
                technologies="Salesforce, HubSpot",
            ),
            apollo_row("Blue Harbor GmbH", "blueharbor.de", country="Germany", revenue="€3M"),
        ],
    )

    run = accounts_import(path)

    anvil = Account.objects.get(domain="anvilpeak.com")
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.source == "apollo"
    assert run.column_mapping["layout"] == "apollo"
    assert (run.rows_read, run.created, run.updated, run.merged, run.rejected) == (2, 2, 0, 0, 0)
    assert anvil.name == "Anvil Peak, Inc."
    assert anvil.name_key == "anvil peak"
    assert anvil.website == "https://www.anvilpeak.com"
    assert anvil.employee_min == 51
    assert anvil.employee_max == 200
    assert anvil.employee_raw == "51-200"
    assert anvil.revenue_amount == Decimal("12500000.00")
    assert anvil.annual_revenue_usd == Decimal("12500000.00")
    assert (anvil.country, anvil.region, anvil.city) == ("US", "TX", "Austin")
    assert anvil.technologies == ["Salesforce", "HubSpot"]
    assert anvil.industry_raw == "Computer Software"
    assert anvil.source == "apollo"
    blue = Account.objects.get(domain="blueharbor.de")
    assert blue.revenue_currency == "EUR"
    assert blue.revenue_amount == Decimal("3000000.00")
    assert blue.annual_revenue_usd is not None
    assert blue.annual_revenue_usd > blue.revenue_amount


def test_industry_resolved_through_synonyms(write_csv):
    path = write_csv(APOLLO, [apollo_row("Anvil Peak", "anvilpeak.com", industry="Banking")])

    accounts_import(path)

    account = Account.objects.get()
    assert account.industry is not None
    assert account.industry == Industry.objects.get(synonyms__value="Banking")


def test_observations_record_every_value(write_csv):
    path = write_csv(
        APOLLO, [apollo_row("Anvil Peak", "anvilpeak.com", employees="240", country="US")]
    )

    accounts_import(path)

    observations = {observation.field: observation for observation in Observation.objects.all()}
    assert set(observations) == {"name", "website", "domain", "employees", "location"}
    assert observations["employees"].value["count"] == 240
    assert observations["employees"].raw_value == "240"
    assert observations["domain"].source == "apollo"
    assert observations["domain"].source_detail == "export.csv"


def test_blank_rows_skipped_and_counted(write_text):
    path = write_text("Company,Website\nAcme,acme.com\n\n,\n  ,  \nBlue,blue.com\n")

    run = accounts_import(path)

    assert run.rows_read == 5
    assert run.skipped_blank == 3
    assert run.created == 2
    assert run.rejected == 0
    assert Account.objects.count() == 2


def test_bad_row_does_not_abort(write_csv):
    path = write_csv(
        ["Company", "Website", "City"],
        [
            ["Acme", "acme.com", ""],
            ["", "", "Berlin"],
            ["Blue", "blue.com", ""],
            ["x" * 300, "long.com", ""],
        ],
    )

    run = accounts_import(path)

    assert run.created == 2
    assert run.rejected == 2
    assert set(Account.objects.values_list("domain", flat=True)) == {"acme.com", "blue.com"}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["", "", "51-200"], "no company name and no website or domain"),
        (["", "htp:/not a site", ""], 'website "htp:/not a site" is invalid'),
        (["", "https://www.producthunt.com/posts/acme", ""], "is a third-party page"),
        (["A" * 256, "acme.com", ""], "is 256 characters after cleaning, more than the 255"),
        (["Acme", "acme.com", "9" * 101], "is 101 characters after cleaning, more than the 100"),
    ],
)
def test_rejection_reason_in_report(write_csv, row, reason):
    path = write_csv(["Company", "Website", "# Employees"], [["Good", "good.com", ""], row])

    run = accounts_import(path)

    report = read_report(run)
    assert run.rejected == 1
    assert run.report_path.startswith(str(Path(run.report_path).parent))
    assert Path(run.report_path).parent.name == "import-reports"
    assert len(report) == 1
    assert report[0]["line"] == "3"
    assert reason in report[0]["reason"]
    assert report[0]["Company"] == row[0]
    assert report[0]["Website"] == row[1]


def test_huge_description_rejected(write_csv):
    path = write_csv(
        ["Name", "Website", "Description"],
        [["Acme", "acme.com", "x" * 100_001], ["Blue", "blue.com", "y" * 100_000]],
    )

    run = accounts_import(path)

    report = read_report(run)
    assert (run.created, run.rejected) == (1, 1)
    assert "the description is 100,001 characters long" in report[0]["reason"]
    assert report[0]["Name"] == "Acme"


def test_generic_file_source_is_format(write_json, write_csv):
    json_run = accounts_import(write_json([{"name": "Acme", "website": "acme.com"}]))
    csv_run = accounts_import(write_csv(["Name", "Website"], [["Blue", "blue.com"]]))

    assert json_run.source == "json"
    assert Observation.objects.filter(source="json", account__name="Acme").exists()
    assert csv_run.source == "csv"


def test_json_item_not_object_rejected(write_json):
    path = write_json(
        [{"name": "Acme", "website": "acme.com"}, ["Blue", "blue.com"], "Cobalt", None, 7, True]
    )

    run = accounts_import(path)

    report = read_report(run)
    assert run.created == 1
    assert run.rejected == 5
    assert [row["line"] for row in report] == ["2", "3", "4", "5", "6"]
    assert "is a JSON array, not an object" in report[0]["reason"]
    assert "is a JSON string, not an object" in report[1]["reason"]
    assert report[1]["extra_cells"] == '"Cobalt"'
    assert "is a JSON null, not an object" in report[2]["reason"]
    assert report[2]["extra_cells"] == "null"
    assert "is a JSON number, not an object" in report[3]["reason"]
    assert "is a JSON boolean, not an object" in report[4]["reason"]


def test_json_keys_match_any_case(write_json):
    path = write_json(
        [
            {"name": "Case C", "website": "casec-j.com"},
            {"Name": "Case D", "Website": "cased-j.com", "Country": "DE"},
            {"Company": "Other layout", "WEBSITE": "otherl-j.com"},
        ]
    )

    run = accounts_import(path)

    domains = dict(Account.objects.values_list("name", "domain"))
    assert run.created == 3
    assert run.rejected == 0
    assert run.flagged == 0
    assert run.column_mapping["ignored"] == []
    assert domains == {
        "Case C": "casec-j.com",
        "Case D": "cased-j.com",
        "Other layout": "otherl-j.com",
    }
    assert Account.objects.get(name="Case D").country == "DE"


def test_json_item_of_no_column_rejected(write_json):
    path = write_json(
        [
            {"name": "Acme", "website": "acme.com", "notes": ""},
            {"Firm": "Kraus", "Notes": "call back"},
            {},
        ]
    )

    run = accounts_import(path)

    report = read_report(run)
    assert run.created == 1
    assert run.rejected == 1
    assert run.skipped_blank == 1
    assert report[0]["line"] == "2"
    assert report[0]["notes"] == "call back"
    assert 'keys "Firm", "Notes" match no column that the import reads' in report[0]["reason"]
    assert '("name", "website")' in report[0]["reason"]


def test_no_report_without_rejections(write_csv):
    path = write_csv(["Company", "Website"], [["Acme", "acme.com"]])

    run = accounts_import(path)

    assert run.report_path == ""


def test_unparsed_values_flagged_not_rejected(write_csv):
    path = write_csv(
        APOLLO,
        [apollo_row("Anvil Peak", "anvilpeak.com", employees="a handful", revenue="lots")],
    )

    run = accounts_import(path)

    account = Account.objects.get()
    flagged_fields = [flag["field"] for flag in account.review_flags]
    assert run.created == 1
    assert run.flagged == 1
    assert account.employee_raw == "a handful"
    assert account.employee_count is None
    assert account.revenue_raw == "lots"
    assert account.revenue_amount is None
    assert flagged_fields == ["employees", "revenue"]
    assert all(flag["message"] for flag in account.review_flags)
    assert account.review_flags[0]["value"] == "a handful"


def test_unparsed_value_message_shows_tab(write_csv):
    path = write_csv(
        APOLLO,
        [apollo_row("Anvil Peak", "anvilpeak.com", employees="a\thandful")],
    )

    accounts_import(path)

    flag = Account.objects.get().review_flags[0]
    assert flag["field"] == "employees"
    assert flag["value"] == "a\thandful"
    assert '"a\\thandful"' in flag["message"]
    assert "\t" not in flag["message"]


def test_third_party_website_kept_without_domain(write_csv):
    path = write_csv(
        ["Company", "Website"], [["Storyline", "https://www.producthunt.com/posts/storyline-7"]]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.domain == ""
    assert account.website == "https://www.producthunt.com/posts/storyline-7"
    assert account.review_flags[0]["field"] == "website"
    assert "third-party page" in account.review_flags[0]["message"]


def test_platform_own_website_sets_domain(write_csv):
    path = write_csv(
        ["Company", "Website"],
        [
            ["Product Hunt", "http://producthunt.com"],
            ["Facebook, Inc.", "https://www.facebook.com/"],
            ["Vidpresso", "http://facebook.com/live/producer"],
        ],
    )

    run = accounts_import(path)

    assert run.flagged == 1
    assert Account.objects.get(name="Product Hunt").domain == "producthunt.com"
    assert Account.objects.get(name="Facebook, Inc.").domain == "facebook.com"
    assert Account.objects.get(name="Facebook, Inc.").review_flags == []
    assert Account.objects.get(name="Vidpresso").domain == ""


def test_name_missing_uses_domain(write_csv):
    path = write_csv(["Company", "Website"], [["", "https://acme.com"]])

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.created == 1
    assert account.name == "acme.com"
    assert account.review_flags[0]["field"] == "name"


def test_domain_variants_are_one_account(write_csv):
    path = write_csv(
        ["Company", "Website"],
        [
            ["Example", "https://www.Example.com/about?utm=x"],
            ["Example Inc", "example.com"],
            ["EXAMPLE", "HTTP://WWW.EXAMPLE.COM/"],
        ],
    )

    run = accounts_import(path)

    assert Account.objects.count() == 1
    assert Account.objects.get().domain == "example.com"
    assert run.created == 1
    assert run.merged == 2


def test_same_name_and_country_merge_without_website(write_csv):
    first = write_csv(
        APOLLO, [apollo_row("Anvil Peak, Inc.", "anvilpeak.com", country="US")], name="a.csv"
    )
    second = write_csv(
        APOLLO,
        [apollo_row("Anvil Peak Inc", "", country="United States", employees="75")],
        name="b.csv",
    )

    accounts_import(first)
    run = accounts_import(second)

    account = Account.objects.get()
    assert run.updated == 1
    assert run.created == 0
    assert account.employee_count == 75
    assert account.domain == "anvilpeak.com"


def test_same_name_without_website_merges_in_either_order(write_csv):
    first = write_csv(APOLLO, [apollo_row("Anvil Peak Inc", "", country="US")], name="a.csv")
    second = write_csv(
        APOLLO, [apollo_row("Anvil Peak, Inc.", "anvilpeak.com", country="US")], name="b.csv"
    )

    accounts_import(first)
    accounts_import(second)

    assert Account.objects.count() == 1
    assert Account.objects.get().domain == "anvilpeak.com"


def test_same_name_other_country_stays_apart(write_csv):
    path = write_csv(
        APOLLO,
        [
            apollo_row("Anvil Peak Inc", "anvilpeak.com", country="US"),
            apollo_row("Anvil Peak Ltd", "", country="United Kingdom"),
        ],
    )

    accounts_import(path)

    assert Account.objects.count() == 2


def test_same_name_other_domains_stay_apart(write_csv):
    path = write_csv(
        APOLLO,
        [
            apollo_row("Bloom", "https://bloomapp.com", country="US"),
            apollo_row("Bloom", "https://trybloom.ai", country="US"),
        ],
    )

    run = accounts_import(path)

    assert run.created == 2
    assert set(Account.objects.values_list("domain", flat=True)) == {"bloomapp.com", "trybloom.ai"}


def test_conflicting_identifiers_stay_apart(write_json):
    path = write_json(
        [
            {"id": 1, "name": "Scout", "slug": "scout", "batch": "S12", "website": None},
            {"id": 2, "name": "Scout", "slug": "scout-2", "batch": "W20", "website": None},
            {"id": 1, "name": "Scout", "slug": "scout", "batch": "S12", "website": "scout.io"},
        ]
    )

    run = accounts_import(path)

    assert run.created == 2
    assert run.merged == 1
    assert AccountIdentifier.objects.get(kind="yc", value="1").account.domain == "scout.io"


def test_domain_of_other_company_not_taken(write_json):
    path = write_json(
        [
            {
                "id": 1,
                "name": "Leafpress",
                "slug": "a",
                "batch": "S23",
                "website": "trycardinal.ai",
            },
            {"id": 2, "name": "Cardinal", "slug": "b", "batch": "W26", "website": "trycardinal.ai"},
        ]
    )

    run = accounts_import(path)

    cardinal = Account.objects.get(name="Cardinal")
    assert run.created == 2
    assert cardinal.domain == ""
    assert cardinal.review_flags[0]["field"] == "domain"
    assert "Leafpress" in cardinal.review_flags[0]["message"]


def test_shared_cik_merges_share_classes(write_csv):
    path = write_csv(
        ["Symbol", "Security", "GICS Sector", "GICS Sub-Industry", "Headquarters Location", "CIK"],
        [
            [
                "GOOGL",
                "Alphabet Inc. (Class A)",
                "Communication Services",
                "Interactive Media & Services",
                "Mountain View, California",
                "1652044",
            ],
            [
                "GOOG",
                "Alphabet Inc. (Class C)",
                "Communication Services",
                "Interactive Media & Services",
                "Mountain View, California",
                "1652044",
            ],
        ],
    )

    run = accounts_import(path)

    account = Account.objects.get()
    identifiers = set(account.identifiers.values_list("kind", "value"))
    assert run.created == 1
    assert run.merged == 1
    assert identifiers == {("cik", "0001652044"), ("ticker", "GOOGL"), ("ticker", "GOOG")}
    assert (account.country, account.region) == ("US", "CA")


def test_duplicates_merge_across_batches(write_csv):
    rows = [[f"Company {index}", f"company{index}.com"] for index in range(5)]
    rows.append(["Company 0 again", "https://www.company0.com/"])
    path = write_csv(["Company", "Website"], rows)

    run = accounts_import(path, batch_size=2)

    assert run.created == 5
    assert run.merged == 1
    assert Account.objects.count() == 5


def test_progress_saved_every_batch(write_csv, monkeypatch):
    path = write_csv(["Company", "Website"], [[f"C{i}", f"c{i}.com"] for i in range(5)])
    progress: list[int] = []
    save_progress = runner.FileImporter._save_progress

    def record(importer):
        save_progress(importer)
        progress.append(ImportRun.objects.get(pk=importer.run.pk).rows_read)

    monkeypatch.setattr(runner.FileImporter, "_save_progress", record)

    accounts_import(path, batch_size=2)

    assert progress[:3] == [2, 4, 5]


def test_existing_values_kept_and_observed(write_csv):
    existing = AccountFactory(name="Anvil Peak", domain="anvilpeak.com", employee_count=500)
    path = write_csv(
        APOLLO,
        [apollo_row("Anvil Peak", "anvilpeak.com", employees="1200", industry="Banking")],
    )

    run = accounts_import(path, source="zoominfo-march")

    existing.refresh_from_db()
    observation = Observation.objects.get(account=existing, field="employees")
    assert run.updated == 1
    assert existing.employee_count == 500
    assert existing.industry_raw == "Banking"
    assert existing.source == ""
    assert observation.value["count"] == 1200
    assert observation.source == "zoominfo-march"


def test_reimport_counts_no_flagged_rows(write_csv):
    path = write_csv(
        ["Company", "Website", "Employees"],
        [[f"Flag {number}", f"flag{number}.com", "lots"] for number in range(10)],
    )
    first = accounts_import(path)

    second = accounts_import(path)

    assert first.flagged == 10
    assert second.unchanged == 10
    assert second.updated == 0
    assert second.flagged == 0
    assert all(len(account.review_flags) == 1 for account in Account.objects.all())


def test_reimport_creates_nothing(write_csv):
    path = write_csv(
        APOLLO + ["First Name", "Last Name", "Email"],
        [
            apollo_row("Anvil Peak", "anvilpeak.com", employees="75", country="US")
            + ["Ada", "Lovelace", "ada@anvilpeak.com"],
            apollo_row("Anvil Peak", "anvilpeak.com") + ["Alan", "Turing", ""],
            apollo_row("Blue Harbor", "", country="DE") + ["", "", ""],
        ],
    )
    first = accounts_import(path)
    counts = (
        Account.objects.count(),
        Observation.objects.count(),
        AccountIdentifier.objects.count(),
        Lead.objects.count(),
    )

    second = accounts_import(path)

    assert (first.created, first.merged) == (2, 1)
    assert second.created == 0
    assert second.updated == 0
    assert second.unchanged == 2
    assert second.merged == 1
    assert Account.objects.count() == counts[0]
    assert Observation.objects.count() == counts[1]
    assert AccountIdentifier.objects.count() == counts[2]
    assert Lead.objects.count() == counts[3] == 2


def test_reimport_counts_rows_unchanged(write_json):
    records = [
        {"name": f"Winter {number}", "website": f"winter{number}.example", "employees": 75}
        for number in range(3)
    ]
    path = write_json(records, name="winter-2024.json")
    first = accounts_import(path, source="winter")
    observations = Observation.objects.count()

    second = accounts_import(path, source="winter")

    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.created, second.updated, second.unchanged, second.merged) == (0, 0, 3, 0)
    assert second.imported == 3
    assert Observation.objects.count() == observations


def test_reimport_changed_cell_counts_updated(write_json):
    records = [
        {"name": f"Winter {number}", "website": f"winter{number}.example", "employees": 75}
        for number in range(3)
    ]
    accounts_import(write_json(records, name="winter-2024.json"), source="winter")
    records[1]["employees"] = 120
    changed_path = write_json(records, name="winter-2024-changed.json")

    run = accounts_import(changed_path, source="winter")

    account = Account.objects.get(domain="winter1.example")
    assert (run.updated, run.unchanged) == (1, 2)
    assert account.employee_count == 120


def test_reimport_filling_field_counts_updated(write_csv):
    path = write_csv(APOLLO, [apollo_row("Anvil Peak", "anvilpeak.com")])
    accounts_import(path)
    with_country = write_csv(
        APOLLO, [apollo_row("Anvil Peak", "anvilpeak.com", country="US")], name="second.csv"
    )

    run = accounts_import(with_country)

    assert (run.updated, run.unchanged) == (1, 0)
    assert Account.objects.get().country == "US"


def test_dry_run_writes_nothing(write_csv):
    path = write_csv(
        ["Company", "Website"], [["Acme", "acme.com"], ["Acme", "acme.com"], ["", "n0t a site"]]
    )

    run = accounts_import(path, dry_run=True)

    run.refresh_from_db()
    assert run.is_dry_run is True
    assert run.status == ImportRun.Status.SUCCEEDED
    assert (run.rows_read, run.created, run.merged, run.rejected) == (3, 1, 1, 1)
    assert run.column_mapping["layout"] == "csv"
    assert Path(run.report_path).exists()
    assert Account.objects.count() == 0
    assert Observation.objects.count() == 0


def test_mapping_file_applied(write_csv, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "Firma": "name",
                "Webseite": "website",
                "Umsatz": "revenue",
                "Mitarbeiter": "employees",
                "Land": "country",
                "options": {"revenue_multiplier": 1000, "currency": "EUR"},
            }
        )
    )
    path = write_csv(
        ["Firma", "Webseite", "Umsatz", "Mitarbeiter", "Land", "Notiz"],
        [["Bäckerei Kraus GmbH", "kraus-backwaren.de", "12,5", "1.200", "Deutschland", "x"]],
        delimiter=";",
    )

    run = accounts_import(path, mapping=mapping)

    account = Account.objects.get()
    assert run.source == "csv"
    assert run.delimiter == ";"
    assert run.column_mapping["layout"] == "mapping"
    assert run.column_mapping["decimal_comma"] is True
    assert run.column_mapping["ignored"] == ["Notiz"]
    assert account.revenue_amount == Decimal("12500.00")
    assert account.revenue_currency == "EUR"
    assert account.employee_count == 1200
    assert account.country == "DE"


def test_decimal_comma_reads_12_5_not_125(write_csv):
    path = write_csv(
        ["Company Name", "Revenue (in 000s USD)", "Employees", "Company Country"],
        [["Acme", "12,5", "40", "Germany"], ["Blue", "1.250,75", "12", "Germany"]],
        delimiter=";",
    )

    run = accounts_import(path)

    assert run.column_mapping["layout"] == "zoominfo"
    assert Account.objects.get(name="Acme").revenue_amount == Decimal("12500.00")
    assert Account.objects.get(name="Blue").revenue_amount == Decimal("1250750.00")


def test_ignored_column_keeps_decimal_points(write_text):
    path = write_text(
        "Company Name;Website;Annual Revenue;Employees;Rating\n"
        "Semi A;semi-a.com;1,234,567;1,200;4,5\n"
        "Semi B;semi-b.com;2,500,000;350;3\n"
        "Semi C;semi-c.com;$3,000,000;2,000;\n"
    )

    run = accounts_import(path)

    accounts = {account.name: account for account in Account.objects.all()}
    assert run.column_mapping["decimal_comma"] is False
    assert run.column_mapping["ignored"] == ["Rating"]
    assert run.flagged == 0
    assert accounts["Semi A"].employee_count == 1200
    assert accounts["Semi A"].revenue_amount == Decimal("1234567.00")
    assert accounts["Semi B"].revenue_amount == Decimal("2500000.00")
    assert accounts["Semi C"].employee_count == 2000
    assert accounts["Semi C"].revenue_amount == Decimal("3000000.00")


def test_decimal_comma_flags_ambiguous_count(write_text):
    path = write_text(
        "Company Name;Website;Annual Revenue;Employees\n"
        "Komma A;komma-a.de;12,5 Mio EUR;2,000\n"
        "Komma B;komma-b.de;1.250,75;2.000\n"
    )

    run = accounts_import(path)

    first = Account.objects.get(name="Komma A")
    second = Account.objects.get(name="Komma B")
    assert run.column_mapping["decimal_comma"] is True
    assert run.flagged == 1
    assert first.employee_count is None
    assert first.employee_raw == "2,000"
    assert [item["field"] for item in first.review_flags] == ["employees"]
    assert "may be 2000 or a number with decimals" in first.review_flags[0]["message"]
    assert second.employee_count == 2000
    assert second.revenue_amount == Decimal("1250.75")


def test_dot_thousands_flagged_in_comma_file(write_text):
    path = write_text(
        "name,website,employees,country,industry\n"
        "Two Thousand Co,https://two-thousand.example,2.000,DE,Manufacturing\n"
        "Ten Thousand Co,https://ten-thousand.example,10.000,DE,Manufacturing\n"
        "Plain Co,https://plain.example,250,DE,Manufacturing\n"
    )

    run = accounts_import(path, source="dottest")

    two = Account.objects.get(name="Two Thousand Co")
    ten = Account.objects.get(name="Ten Thousand Co")
    assert run.column_mapping["decimal_comma"] is False
    assert run.flagged == 2
    assert two.employee_count is None
    assert two.employee_raw == "2.000"
    assert ten.employee_count is None
    assert [item["field"] for item in two.review_flags] == ["employees"]
    assert [item["value"] for item in two.review_flags] == ["2.000"]
    message = two.review_flags[0]["message"]
    assert message.startswith('employee count "2.000" could not be parsed')
    assert "may be 2000, written with a period as thousands separator, or 2" in message
    assert "Write 2000 if it is 2000" in message
    assert Account.objects.get(name="Plain Co").employee_count == 250


def test_revenue_with_magnitude_sets_decimal_comma(write_text):
    path = write_text(
        "Company Name;Website;Annual Revenue;Employees\n"
        "Punkt A;punkt-a.de;1,5 Mio €;2.000\n"
        "Punkt B;punkt-b.de;;10.000\n"
    )

    run = accounts_import(path)

    first = Account.objects.get(name="Punkt A")
    assert run.column_mapping["decimal_comma"] is True
    assert run.flagged == 0
    assert first.employee_count == 2000
    assert first.revenue_amount == Decimal("1500000.00")
    assert first.revenue_currency == "EUR"
    assert Account.objects.get(name="Punkt B").employee_count == 10000


def test_dot_groups_set_decimal_comma(write_text):
    path = write_text(
        "Company Name;Website;Annual Revenue;Employees\nGruppe A;gruppe-a.de;1.250.000;2.000\n"
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.column_mapping["decimal_comma"] is True
    assert account.employee_count == 2000
    assert account.revenue_amount == Decimal("1250000.00")


def test_dot_thousands_revenue_flagged(write_text):
    path = write_text("name,website,revenue\nUmsatz Co,umsatz.example,2.000\n")

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.revenue_amount is None
    assert account.revenue_raw == "2.000"
    assert [item["field"] for item in account.review_flags] == ["revenue"]
    assert "may be 2000, written with a period" in account.review_flags[0]["message"]


@pytest.mark.parametrize(
    "revenue",
    [
        "10000000000000000000000000",
        "100000000000000000000000000",
        "$9999999999999999999T",
        "9" * 40,
    ],
)
def test_huge_revenue_flagged_others_imported(write_csv, revenue):
    path = write_csv(
        APOLLO,
        [
            apollo_row("Anvil Peak", "anvilpeak.com", revenue="$12.5M"),
            apollo_row("Huge Co", "huge.example", revenue=revenue),
            apollo_row("Blue Harbor", "blueharbor.de", revenue="€3M"),
        ],
    )

    run = accounts_import(path)

    huge = Account.objects.get(name="Huge Co")
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.created == 3
    assert run.flagged == 1
    assert huge.revenue_amount is None
    assert huge.revenue_raw == revenue
    assert [flag["field"] for flag in huge.review_flags] == ["revenue"]
    assert "too large: check the unit" in huge.review_flags[0]["message"]


def test_long_technology_flagged_and_cut(write_csv):
    long_name = "Enterprise Customer Data Platform For Marketing And Sales Operations Teams"
    path = write_csv(
        APOLLO, [apollo_row("Anvil Peak", "anvilpeak.com", technologies=f"Jira, {long_name}")]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.technologies == [
        "Jira",
        "Enterprise Customer Data Platform For Marketing And Sales",
    ]
    assert [flag["field"] for flag in account.review_flags] == ["technologies"]
    assert account.review_flags[0]["value"] == long_name
    assert (
        f"is {len(long_name)} characters long, over the limit of 64"
        in (account.review_flags[0]["message"])
    )
    assert "it was stored cut" in account.review_flags[0]["message"]


def test_utf16_file_imported(write_csv):
    path = write_csv(
        ["Company", "Website"], [["Zürich Re", "zurichre.ch"]], encoding="utf-16-le-bom"
    )

    run = accounts_import(path)

    assert run.encoding == "utf-16"
    assert Account.objects.get().name == "Zürich Re"


def test_ycombinator_json_values(write_json):
    path = write_json(
        [
            {
                "id": 271,
                "name": "Acme Robotics",
                "slug": "acme",
                "batch": "Winter 2012",
                "website": "http://acmerobotics.com/?utm_source=ycombinator",
                "team_size": 0,
                "all_locations": "Remote; London, England, United Kingdom",
                "industry": "Industrials",
                "subindustry": "Industrials -> Manufacturing and Robotics",
                "tags": ["Robotics"],
                "one_liner": "Robots",
                "long_description": "",
                "isHiring": True,
                "status": "Active",
            },
        ]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.source == "ycombinator"
    assert account.domain == "acmerobotics.com"
    assert account.employee_count is None
    assert account.country == "GB"
    assert account.buying_signals == ["hiring"]
    assert account.description == "Robots"
    assert account.industry is not None
    assert account.identifiers.get().value == "271"
    assert Observation.objects.get(field="status").value == "Active"


def test_apollo_people_become_leads(write_csv):
    path = write_csv(
        ["First Name", "Last Name", "Title", "Company", "Email", "Website", "# Employees"],
        [
            ["Ada", "Lovelace", "CTO", "Anvil Peak", "ada@anvilpeak.com", "anvilpeak.com", "80"],
            ["Alan", "Turing", "CEO", "Anvil Peak", "not-an-email", "anvilpeak.com", "80"],
        ],
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.created == 1
    assert run.merged == 1
    assert sorted(account.leads.values_list("last_name", "email")) == [
        ("Lovelace", "ada@anvilpeak.com"),
        ("Turing", ""),
    ]
    assert account.review_flags[0]["field"] == "email"


def test_queries_do_not_grow_with_rows(write_csv, monkeypatch):
    monkeypatch.setattr("accounts.services._segment_accounts", lambda run, ids: None)
    small = write_csv(
        APOLLO, [apollo_row(f"S{i}", f"s{i}.com", country="US") for i in range(5)], name="s.csv"
    )
    large = write_csv(
        APOLLO, [apollo_row(f"L{i}", f"l{i}.com", country="US") for i in range(60)], name="l.csv"
    )

    with CaptureQueriesContext(connection) as small_queries:
        accounts_import(small)
    with CaptureQueriesContext(connection) as large_queries:
        accounts_import(large)

    # SQLite takes at most 999 parameters per statement, so Django splits the INSERT of
    # 60 accounts (about 40 columns each) into three statements.
    assert len(large_queries) - len(small_queries) <= 60 // 20


def test_file_without_name_column_fails(write_csv):
    path = write_csv(["Colour", "Size"], [["red", "L"]])

    with pytest.raises(ImportFileError, match="maps to the company name, website or domain"):
        accounts_import(path)

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "Colour, Size" in run.error
    assert "Imports page" in run.error
    assert "import_accounts --mapping" in run.error


def test_imported_accounts_segmented(write_csv):
    path = write_csv(
        APOLLO,
        [
            apollo_row(
                "Anvil Peak",
                "anvilpeak.com",
                employees="240",
                industry="Computer Software",
                country="US",
                revenue="$20M",
            )
        ],
    )

    accounts_import(path)

    account = Account.objects.get()
    assert account.scored_at is not None
    assert account.tag != "" or account.needs_enrichment


def test_import_without_verify_and_segment(write_csv):
    path = write_csv(
        APOLLO,
        [apollo_row("Anvil Peak", "anvilpeak.com", employees="240", country="US")],
    )

    run = accounts_import(path, verify_and_segment=False)

    account = Account.objects.get()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert account.scored_at is None
    assert account.field_status == {}


def test_identifiers_normalized(write_csv):
    path = write_csv(
        ["Company", "Website", "CIK", "Ticker", "LinkedIn URL"],
        [
            [
                "Berkshire Hathaway",
                "berkshirehathaway.com",
                "1067983.0",
                "brk-b",
                "https://www.linkedin.com/company/Berkshire-Hathaway/about/",
            ]
        ],
    )

    accounts_import(path)

    identifiers = set(AccountIdentifier.objects.values_list("kind", "value"))
    assert identifiers == {
        ("cik", "0001067983"),
        ("ticker", "BRK.B"),
        ("linkedin", "linkedin.com/company/berkshire-hathaway"),
    }


def test_crm_ids_prefixed_with_system(write_csv):
    path = write_csv(
        ["Record ID", "Company name", "Company Domain Name", "Country/Region"],
        [["123", "Anvil Peak", "anvilpeak.com", "United States"]],
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.source == "hubspot"
    assert account.identifiers.get().value == "hubspot:123"
    assert account.website == "https://anvilpeak.com"


def test_invalid_identifier_flagged(write_csv):
    path = write_csv(["Company", "Website", "CIK"], [["Acme", "acme.com", "CIK-12"]])

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.identifiers.count() == 0
    assert account.review_flags[0]["field"] == "cik"
    assert account.review_flags[0]["value"] == "CIK-12"


@pytest.mark.parametrize(
    ("revenue_range", "expected"),
    [
        ("$10M - $50M", Decimal("30000000.00")),
        ("$1B+", Decimal("1000000000.00")),
    ],
)
def test_revenue_range_used_without_revenue(write_csv, revenue_range, expected):
    path = write_csv(
        ["Company Name", "Website", "Revenue (in 000s USD)", "Revenue Range"],
        [["Acme", "acme.com", "", revenue_range]],
    )

    accounts_import(path)

    account = Account.objects.get()
    assert account.revenue_amount == expected
    assert account.revenue_raw == revenue_range


def test_negative_revenue_flagged(write_csv):
    path = write_csv(APOLLO, [apollo_row("Acme", "acme.com", revenue="-5000000")])

    accounts_import(path)

    account = Account.objects.get()
    assert account.revenue_amount is None
    assert account.revenue_raw == "-5000000"
    assert "revenue cannot be negative" in account.review_flags[0]["message"]


def test_negative_employees_flagged(write_csv):
    path = write_csv(APOLLO, [apollo_row("Acme", "acme.com", employees="-5")])

    accounts_import(path)

    account = Account.objects.get()
    message = account.review_flags[0]["message"]
    assert account.employee_count is None
    assert account.employee_raw == "-5"
    assert message.startswith(
        'employee count "-5" could not be parsed: the number of employees cannot be negative.'
    )
    assert message.endswith("or leave the cell empty.")


def test_website_with_spaces_flag_gives_fix(write_csv):
    path = write_csv(APOLLO, [apollo_row("Acme", "not a domain!!")])

    accounts_import(path)

    account = Account.objects.get()
    assert account.domain == ""
    assert [item["field"] for item in account.review_flags] == ["website"]
    assert account.review_flags[0]["message"] == (
        'website "not a domain!!" could not be parsed: the host contains whitespace. '
        "Enter a domain such as example.com."
    )


def test_extra_cells_rejected(write_text):
    path = write_text("Company,Website\nAcme, Inc,acme.com,Berlin\n")

    run = accounts_import(path)

    report = read_report(run)
    assert run.rejected == 1
    assert not Account.objects.exists()
    assert "has 4 values but the header names 2 columns" in report[0]["reason"]
    assert report[0]["Company"] == "Acme"
    assert json.loads(report[0]["extra_cells"]) == ["acme.com", "Berlin"]
    assert None not in report[0]


def test_source_name_too_long(write_csv):
    path = write_csv(["Company", "Website"], [["Acme", "acme.com"]])

    with pytest.raises(ImportFileError, match="more than the 50 allowed"):
        accounts_import(path, source="s" * 51)


def test_csv_run_keeps_counted_total_rows(write_csv, monkeypatch):
    path = write_csv(
        APOLLO, [apollo_row(f"Acme {index}", f"acme{index}.com") for index in range(3)]
    )
    run = import_run_create(path)
    ImportRun.objects.filter(pk=run.pk).update(total_rows=3)
    run.refresh_from_db()
    totals_during_run = []
    save_progress = runner.FileImporter._save_progress

    def record_total(importer):
        save_progress(importer)
        totals_during_run.append(ImportRun.objects.get(pk=importer.run.pk).total_rows)

    monkeypatch.setattr(runner.FileImporter, "_save_progress", record_total)

    run = accounts_import(import_run=run, batch_size=1)

    assert run.rows_read == 3
    assert totals_during_run
    assert set(totals_during_run) == {3}
    assert ImportRun.objects.get(pk=run.pk).total_rows == 3


def test_json_run_sets_total_rows(write_json):
    path = write_json([{"name": "Acme", "website": "acme.com"}, {"name": "Beta"}])

    run = accounts_import(path)

    assert ImportRun.objects.get(pk=run.pk).total_rows == 2


def test_misaligned_rows_rejected_with_cells(write_text):
    path = write_text(
        "Company,Website,Industry,City\n"
        "Acme,acme.com,Software,Berlin\n"
        'Unclosed,"unclosed.com,Software,Austin\n'
    )

    run = accounts_import(path)

    report = read_report(run)
    assert run.created == 1
    assert run.rejected == 1
    assert report[0]["Company"] == "Unclosed"
    assert "seems to open without closing" in report[0]["reason"]
    assert not Account.objects.filter(name__startswith="Unclosed").exists()


def test_short_row_rejected_not_imported(write_text):
    path = write_text("Company,Website,Industry\nAcme,acme.com,Software\nShort Inc,short.com\n")

    run = accounts_import(path)

    report = read_report(run)
    assert run.created == 1
    assert run.rejected == 1
    assert report[0]["Website"] == "short.com"
    assert "has 2 values but the header names 3 columns" in report[0]["reason"]


def test_verification_changes_recorded_as_import(write_csv):
    first = apollo_row("Anvil Peak", "anvilpeak.com", industry="Banking", country="US")
    second = apollo_row("Anvil Peak", "anvilpeak.com", industry="Computer Software", country="US")
    accounts_import(write_csv(APOLLO, [first], name="apollo.csv"))
    accounts_import(write_csv(APOLLO, [second], name="zoominfo.csv"), source="zoominfo")

    account = Account.objects.get()
    rows = account.history.order_by("history_date", "history_id")
    reasons = list(rows.values_list("history_change_reason", flat=True))
    channels = list(rows.values_list("history_channel", flat=True))

    assert account.field_status["industry"]["status"] == "conflicting"
    # The first import stored the account without history, so a baseline comes first.
    assert reasons[0] == BASELINE_NOTE
    assert channels == ["", "import"]


def test_json_key_case_conflict_rejected(write_json):
    path = write_json(
        [
            {"Name": "Jsonkey Eps", "name": "Jsonkey Eps2", "website": "eps.example"},
            {"Name": "Same Name", "name": "Same Name ", "website": "same.example"},
            {"Name": "Acme", "website": "acme.example", "Colour": "red", "colour": "blue"},
            {"Name": "Five", "website": "five.example", "Employees": 5, "employees": "5"},
        ]
    )

    run = accounts_import(path)

    assert run.rejected == 1
    assert run.created == 3
    assert set(Account.objects.values_list("name", flat=True)) == {"Same Name", "Acme", "Five"}
    reason = read_report(run)[0]["reason"]
    assert '"Name" with "Jsonkey Eps"' in reason
    assert '"name" with "Jsonkey Eps2"' in reason


def test_json_name_not_string(write_json):
    path = write_json(
        [
            {"name": {"nested": "x"}, "website": "nested.example"},
            {"name": ["a", "b"]},
            {"name": True, "website": "bool.example"},
        ]
    )

    run = accounts_import(path)

    assert run.created == 2
    assert run.rejected == 1
    assert run.flagged == 2
    nested = Account.objects.get(domain="nested.example")
    assert nested.name == "nested.example"
    assert nested.review_flags[0]["field"] == "name"
    assert nested.review_flags[0]["value"] == '{"nested": "x"}'
    assert nested.review_flags[0]["message"].startswith("the name is a JSON object")
    boolean = Account.objects.get(domain="bool.example")
    assert boolean.review_flags[0]["message"].startswith("the name is a JSON boolean, true,")
    reason = read_report(run)[0]["reason"]
    assert reason.startswith('the name is a JSON array, ["a", "b"], not a string.')
    assert not Account.objects.filter(name__in=['{"nested": "x"}', "a; b"]).exists()


def test_json_boolean_employees_flag(write_json):
    path = write_json([{"name": "Boolco", "website": "boolco.example", "Employees": True}])

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.employee_raw == "true"
    assert account.review_flags[0]["value"] == "true"


def test_binary_read_as_utf16_fails_clearly(tmp_path):
    junk = random.Random(3)
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(byte for _ in range(5000) for byte in (junk.randrange(1, 256), 0)))

    with pytest.raises(ImportFileError, match="contains binary data on lines 1, 2, "):
        accounts_import(path, source="junk")

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "remove the binary data from the file" in run.error
    assert not Account.objects.exists()


def test_invalid_utf16_fails_clearly(tmp_path):
    # A high surrogate without a low one is no text in UTF-16 and no control character.
    text = "name,website\nAcme,acme.example\n".encode("utf-16-le")
    path = tmp_path / "broken.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + text + b"\x00\xd8A\x00\n\x00")

    with pytest.raises(ImportFileError, match="could not be read as text"):
        accounts_import(path, source="broken")

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "Save it as CSV UTF-8" in run.error
    assert not Account.objects.exists()


def _rows_text(count: int, prefix: str = "Firma") -> str:
    return "".join(
        f"{prefix} {index} Müller,{prefix.lower()}{index}.example,DE\n" for index in range(count)
    )


def test_binary_tail_fails_whole_file(tmp_path):
    # 300 rows make more than the first 8 KiB, which binary_content_check reads.
    rows = _rows_text(300)
    blob = gzip.compress(rows.encode() * 4, mtime=0)
    path = tmp_path / "tail.csv"
    path.write_bytes(
        b"Company,Website,Country\n"
        + rows.encode()
        + blob
        + b"\n"
        + _rows_text(5, "Nachher").encode()
    )

    with pytest.raises(ImportFileError) as raised:
        accounts_import(path, source="tail")

    message = str(raised.value)
    run = ImportRun.objects.get()
    assert message.startswith("“tail.csv” contains binary data on lines 302, ")
    assert "(it looks like a gzip archive)" in message
    assert "remove the binary data from the file" in message
    assert run.status == ImportRun.Status.FAILED
    assert "contains binary data on lines 302, " in run.error
    assert not Account.objects.exists()


def test_stray_nul_after_first_block_imported(write_text):
    rows = _rows_text(400)
    path = write_text(f"Company,Website,Country\n{rows}Ac\x00me Corp,acme.example,DE\n")

    run = accounts_import(path, source="crm")

    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.created == 401
    assert run.rejected == 0
    assert Account.objects.get(domain="acme.example").name == "Acme Corp"
    assert Account.objects.get(domain="firma0.example").name == "Firma 0 Müller"


def test_nul_padding_after_first_block_imported(write_text):
    rows = _rows_text(400)
    padding = "\x00" * 40
    path = write_text(f"Company,Website,Country\n{rows}Acme{padding},acme.example,DE\x00\x00\n")

    run = accounts_import(path, source="crm")

    assert run.created == 401
    assert Account.objects.get(domain="acme.example").name == "Acme"


def test_csv_character_references_decoded(write_csv):
    path = write_csv(
        ["Company Name", "Industry", "Technologies", "Country"],
        [["Johnson &amp; Johnson", "Hotels, Resorts &amp; Cruise Lines", "AT&amp;T; Jira", "US"]],
    )

    accounts_import(path)

    account = Account.objects.get()
    assert account.name == "Johnson & Johnson"
    assert account.name_key == "johnson and johnson"
    assert account.industry_raw == "Hotels, Resorts & Cruise Lines"
    assert account.industry is not None
    assert account.technologies == ["AT&T", "Jira"]


def test_csv_reference_name_matches_account(write_csv):
    existing = AccountFactory(name="Johnson & Johnson", domain="", website="", country="US")
    path = write_csv(
        ["Company Name", "Technologies", "Country"],
        [["Johnson &amp; Johnson", "AT&amp;T", "US"]],
    )

    run = accounts_import(path)

    assert run.created == 0
    assert run.updated == 1
    existing.refresh_from_db()
    assert existing.technologies == ["AT&T"]


@pytest.mark.parametrize(
    ("stored", "imported"),
    [
        (["AT&T"], "AT&amp;T; Jira"),
        # A list stored before references were decoded takes the decoded spelling.
        (["AT&amp;T"], "AT&T; Jira"),
    ],
)
def test_technology_references_merge_once(write_csv, stored, imported):
    existing = AccountFactory(name="Stack Merge", domain="stackmerge.example", technologies=stored)
    path = write_csv(
        ["Company Name", "Website", "Technologies"],
        [["Stack Merge", "stackmerge.example", imported]],
    )

    accounts_import(path)

    existing.refresh_from_db()
    assert existing.technologies == ["AT&T", "Jira"]


def test_value_given_again_becomes_latest(write_json):
    def import_employees(count: int, name: str) -> ImportRun:
        records = [{"name": "Winter Co", "website": "winter.example", "employees": count}]
        return accounts_import(write_json(records, name=name), source="winter")

    import_employees(100, "winter-january.json")
    import_employees(120, "winter-february.json")

    third = import_employees(100, "winter-march.json")
    observations = Observation.objects.count()
    again = import_employees(100, "winter-march.json")

    account = Account.objects.get(domain="winter.example")
    newest = Observation.objects.filter(account=account, field="employees").latest(
        "observed_at", "id"
    )
    assert (third.updated, third.unchanged) == (1, 0)
    assert newest.value["count"] == 100
    assert account.employee_count == 100
    assert account.field_status["company_size"]["values"] == {"winter": "100"}
    assert (again.updated, again.unchanged) == (0, 1)
    assert Observation.objects.count() == observations


def test_reimport_of_rows_naming_one_account_twice(write_csv):
    path = write_csv(
        ["Symbol", "Security", "CIK"],
        [
            ["GOOGL", "Alphabet Inc. (Class A)", "1652044"],
            ["GOOG", "Alphabet Inc. (Class C)", "1652044"],
        ],
    )
    accounts_import(path)
    observations = Observation.objects.count()

    again = accounts_import(path)

    assert (again.updated, again.unchanged, again.merged) == (0, 1, 1)
    assert Observation.objects.count() == observations
