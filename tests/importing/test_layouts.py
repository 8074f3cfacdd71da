"""Layout detection from headers, column matching and mapping files."""

import json

import pytest

from accounts.importing.errors import ImportFileError
from accounts.importing.layouts import apply_layout, detect_layout, load_mapping_file


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (
            [
                "Symbol",
                "Security",
                "GICS Sector",
                "GICS Sub-Industry",
                "Headquarters Location",
                "Date added",
                "CIK",
                "Founded",
            ],
            "sp500",
        ),
        (
            ["Symbol", "Name", "Sector", "Price", "Market Cap", "EBITDA", "SEC Filings"],
            "sp500_financials",
        ),
        (
            [
                "company_name",
                "rank",
                "revenue ($M)",
                "employees",
                "industry",
                "sector",
                "location",
                "website",
            ],
            "fortune500",
        ),
        (["id", "name", "slug", "website", "team_size", "all_locations", "batch"], "ycombinator"),
        (
            [
                "First Name",
                "Last Name",
                "Title",
                "Company",
                "Company Name for Emails",
                "Email",
                "# Employees",
                "Industry",
                "Website",
                "Company City",
                "Company Country",
            ],
            "apollo",
        ),
        (
            [
                "Company",
                "Website",
                "# Employees",
                "Industry",
                "Company City",
                "Company State",
                "Company Country",
                "Annual Revenue",
                "Technologies",
            ],
            "apollo",
        ),
        (
            [
                "ZoomInfo Company ID",
                "Company Name",
                "Website",
                "Employees",
                "Employee Range",
                "Revenue (in 000s USD)",
                "Primary Industry",
                "Company Country",
            ],
            "zoominfo",
        ),
        (
            [
                "Company",
                "Company Website",
                "Company Size",
                "Industry",
                "Geography",
                "LinkedIn Company URL",
            ],
            "sales_navigator",
        ),
        (
            [
                "Record ID",
                "Company name",
                "Company Domain Name",
                "Number of Employees",
                "Annual Revenue",
                "City",
                "State/Region",
                "Country/Region",
            ],
            "hubspot",
        ),
        (
            [
                "Account ID",
                "Account Name",
                "Website",
                "Employees",
                "AnnualRevenue",
                "Industry",
                "BillingCity",
                "BillingState",
                "BillingCountry",
            ],
            "salesforce",
        ),
        (["Name", "Domain", "Country"], "csv"),
    ],
)
def test_layout_detected_from_header(header, layout):
    assert detect_layout(header).name == layout


SP500_WITHOUT_SECTOR = [
    "Symbol",
    "Security",
    "GICS Sub-Industry",
    "Headquarters Location",
    "Date added",
    "CIK",
    "Founded",
]


def test_layout_detected_without_optional_column():
    mapping = apply_layout(detect_layout(SP500_WITHOUT_SECTOR), SP500_WITHOUT_SECTOR)

    assert mapping.layout == "sp500"
    assert mapping.columns == {
        "Symbol": "ticker",
        "Security": "name",
        "GICS Sub-Industry": "sub_industry",
        "Headquarters Location": "location",
        "CIK": "cik",
        "Founded": "founded",
    }
    assert mapping.missing == ["GICS Sector"]
    assert mapping.describe()["missing"] == ["GICS Sector"]


def test_complete_layout_reports_nothing_missing():
    header = [*SP500_WITHOUT_SECTOR, "GICS Sector"]

    mapping = apply_layout(detect_layout(header), header)

    assert mapping.layout == "sp500"
    assert mapping.missing == []


@pytest.mark.parametrize(
    "header",
    [
        # Without the name column the rows could not become accounts under the layout.
        ["Symbol", "GICS Sector", "GICS Sub-Industry", "CIK"],
        # The generic layout maps all three columns, sp500_financials only two.
        ["Name", "Symbol", "Website"],
        # The generic layout maps Symbol, Website and Country, sp500 only two columns.
        ["Symbol", "Security", "Website", "Country"],
    ],
)
def test_partial_header_stays_generic(header):
    mapping = apply_layout(detect_layout(header), header)

    assert mapping.layout == "csv"
    assert mapping.missing == []


def test_header_match_ignores_case_and_spacing():
    header = ["  ACCOUNT   NAME ", "website", "billingcountry"]

    mapping = apply_layout(detect_layout(header), header)

    assert mapping.layout == "salesforce"
    assert mapping.indexes["name"] == [0]
    assert mapping.indexes["country"] == [2]


def test_first_column_of_a_field_wins():
    header = ["Company Name for Emails", "Company", "# Employees"]

    mapping = apply_layout(detect_layout(header), header)

    assert mapping.indexes["name"] == [1, 0]


def test_unknown_columns_listed_as_ignored():
    header = ["Company", "# Employees", "Favourite Colour", ""]

    mapping = apply_layout(detect_layout(header), header)

    assert mapping.ignored == ["Favourite Colour"]
    assert mapping.describe()["ignored"] == ["Favourite Colour"]


def test_revenue_multiplier_recorded():
    header = ["company_name", "revenue ($M)"]

    mapping = apply_layout(detect_layout(header), header)

    assert mapping.multipliers == {1: 1_000_000}
    assert mapping.describe()["multipliers"] == {"revenue ($M)": 1_000_000}


def test_mapping_file_loaded(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(
        json.dumps(
            {
                "Firma": "name",
                "Umsatz": "revenue",
                "Notizen": None,
                "options": {"revenue_multiplier": 1000, "currency": "eur", "decimal_comma": True},
            }
        )
    )

    mapping_file = load_mapping_file(path)
    mapping = apply_layout(mapping_file.as_layout(), ["Umsatz", "Firma", "Notizen", "Extra"])

    assert mapping_file.currency == "EUR"
    assert mapping_file.decimal_comma is True
    assert mapping.layout == "mapping"
    assert mapping.indexes == {"name": [1], "revenue": [0]}
    assert mapping.multipliers == {0: 1000}
    assert mapping.ignored == ["Notizen", "Extra"]


def test_mapping_file_reports_missing_columns(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"Firma": "name", "Land": "country"}))

    mapping = apply_layout(load_mapping_file(path).as_layout(), ["Firma"])

    assert mapping.missing == ["land"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"Firma": "company"}, "unknown field 'company'"),
        ({"Firma": "name", "options": {"revenue_multiplier": 0}}, "revenue_multiplier 0"),
        ({"Firma": "name", "options": {"revenue_multiplier": "lots"}}, "revenue_multiplier"),
        ({"Firma": "name", "options": {"currency": "Euro"}}, "currency 'Euro'"),
        ({"Firma": "name", "options": {"decimal_comma": "yes"}}, "decimal_comma 'yes'"),
        ({"Firma": "name", "options": {"multiplier": 10}}, "unknown option 'multiplier'"),
        ({"Notizen": None}, "maps no column"),
        (["name"], "must hold a JSON object"),
    ],
)
def test_invalid_mapping_file_rejected(tmp_path, content, message):
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(content))

    with pytest.raises(ImportFileError, match=message):
        load_mapping_file(path)


def test_mapping_file_not_json(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text("Firma = name")

    with pytest.raises(ImportFileError, match="is not valid UTF-8 JSON"):
        load_mapping_file(path)
