"""JSON objects and arrays where the importer reads a plain value: unpacked or flagged."""

import json
from decimal import Decimal

import pytest

from accounts.importing.structured import location_parts, object_text, plain_value
from accounts.models import Account
from accounts.services import accounts_import
from enrichment.models import Observation

pytestmark = pytest.mark.django_db


def test_location_object_sets_city_region_country(write_json):
    path = write_json(
        [
            {
                "name": "Austin Widgets",
                "website": "austinwidgets.example",
                "location": {"city": "Austin", "region": "TX", "country": "United States"},
            }
        ]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.created == 1
    assert run.flagged == 0
    assert account.city == "Austin"
    assert account.region == "TX"
    assert account.country == "US"
    location = Observation.objects.get(field="location")
    assert location.value == {"city": "Austin", "region": "TX", "country": "US"}
    assert location.raw_value == "Austin, TX, United States"


@pytest.mark.parametrize(
    ("location", "city", "region", "country"),
    [
        # People Data Labs: lower-case parts and a full name.
        (
            {
                "name": "austin, texas, united states",
                "locality": "austin",
                "region": "texas",
                "country": "united states",
                "geo": "30.26,-97.74",
            },
            "austin",
            "TX",
            "US",
        ),
        # Clearbit geo: state and codes, in camel case.
        (
            {"city": "Toronto", "state": "Ontario", "stateCode": "ON", "countryCode": "CA"},
            "Toronto",
            "ON",
            "CA",
        ),
        # A country object with its name and code.
        (
            {"city": "Berlin", "country": {"name": "Germany", "code": "DE"}},
            "Berlin",
            "",
            "DE",
        ),
        # A wrapper object around the place.
        ({"headquarters": {"city": "Paris", "country": "France"}}, "Paris", "", "FR"),
        # Only a full address.
        ({"formatted_address": "Denver, CO, USA", "postal_code": "80202"}, "Denver", "CO", "US"),
        # An array of places, the first being the headquarters.
        ([{"city": "Dublin", "country": "Ireland"}, {"city": "London"}], "Dublin", "", "IE"),
        # Crunchbase: typed parts.
        (
            [
                {"location_type": "city", "value": "Seattle"},
                {"location_type": "region", "value": "Washington"},
                {"location_type": "country", "value": "United States"},
                {"location_type": "continent", "value": "North America"},
            ],
            "Seattle",
            "WA",
            "US",
        ),
    ],
)
def test_location_object_variants(write_json, location, city, region, country):
    path = write_json([{"name": "Placed Co", "website": "placed.example", "location": location}])

    accounts_import(path)

    account = Account.objects.get()
    assert account.city == city
    assert account.region == region
    assert account.country == country
    assert "{" not in account.city


def test_location_object_without_place_flagged(write_json):
    path = write_json(
        [
            {
                "name": "Nowhere Co",
                "website": "nowhere.example",
                "location": {"geo": "30.26,-97.74", "timezone": "America/Chicago"},
            }
        ]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.city == ""
    assert account.region == ""
    assert account.country == ""
    location_flag = account.review_flags[0]
    assert location_flag["field"] == "location"
    assert location_flag["value"] == '{"geo": "30.26,-97.74", "timezone": "America/Chicago"}'
    assert location_flag["message"].startswith("the location is a JSON object, {")
    assert "Use the keys city, region and country" in location_flag["message"]
    assert not Observation.objects.filter(field="location").exists()


def test_flat_columns_win_over_location_object(write_json):
    path = write_json(
        [
            {
                "name": "Flat Co",
                "website": "flat.example",
                "city": "Boston",
                "country": "US",
                "location": {"city": "Austin", "country": "United States"},
            }
        ]
    )

    accounts_import(path)

    assert Account.objects.get().city == "Boston"


def test_text_fields_unpack_name_objects(write_json):
    path = write_json(
        [
            {
                "name": {"name": "Objectname Co", "id": 7},
                "domain": {"value": "objectname.example"},
                "industry": {"name": "Software", "id": 12},
                "city": {"name": "Chicago"},
                "country": {"name": "United States", "code": "US"},
                "description": ["Makes objects."],
            }
        ]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 0
    assert account.name == "Objectname Co"
    assert account.domain == "objectname.example"
    assert account.industry_raw == "Software"
    assert account.city == "Chicago"
    assert account.country == "US"
    assert account.description == "Makes objects."


def test_text_fields_flag_unclear_objects(write_json):
    path = write_json(
        [
            {
                "name": "Unclear Co",
                "website": "unclear.example",
                "industry": {"primary": "Software", "secondary": "Hardware"},
                "description": [{"short": "a"}, {"long": "b"}],
                "employees": {"low": 51, "high": 200},
            }
        ]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.industry_raw == ""
    assert account.industry is None
    assert account.description == ""
    assert account.employee_raw == ""
    flags = {item["field"]: item for item in account.review_flags}
    assert set(flags) == {"industry", "description", "employees"}
    assert flags["industry"]["value"] == '{"primary": "Software", "secondary": "Hardware"}'
    assert flags["industry"]["message"].startswith(
        'the industry is a JSON object, {"primary": "Software", "secondary": "Hardware"}, '
        "where a plain value is expected, so it was not imported."
    )
    assert flags["description"]["message"].startswith("the description is a JSON array")
    assert not Observation.objects.filter(raw_value__contains="{").exists()


def test_technology_objects_give_names(write_json):
    path = write_json(
        [
            {
                "name": "Stack Co",
                "website": "stack.example",
                "technologies": [
                    {"uid": "salesforce", "name": "Salesforce", "category": "CRM"},
                    "Jira",
                    {"category": "Analytics", "vendor": "Acme"},
                ],
            }
        ]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert account.technologies == ["Salesforce", "Jira"]
    assert run.flagged == 1
    technology_flag = account.review_flags[0]
    assert technology_flag["field"] == "technologies"
    assert technology_flag["message"].startswith(
        'the technologies list contains {"category": "Analytics", "vendor": "Acme"}'
    )
    assert "so that item was not imported" in technology_flag["message"]


def test_name_object_without_name_keeps_flag(write_json):
    path = write_json([{"name": {"nested": "x"}, "website": "nested.example"}])

    accounts_import(path)

    account = Account.objects.get()
    assert account.name == "nested.example"
    assert [item["field"] for item in account.review_flags] == ["name"]


def test_object_text_keys():
    assert object_text({"Name": "Acme", "id": 1}) == "Acme"
    assert object_text({"display_name": "Acme"}) == "Acme"
    assert object_text({"nested": "x"}) == ""
    assert object_text({"a": "x", "b": "y"}) == ""
    assert object_text({"name": True}) == ""


def test_plain_value_forms():
    assert plain_value({"value": 42}) == "42"
    assert plain_value([{"name": "Acme"}]) == "Acme"
    assert plain_value([["Acme"]]) == "Acme"
    assert plain_value([{"name": "A"}, {"name": "B"}]) is None
    assert plain_value("Acme") == "Acme"


def test_location_parts_empty():
    assert location_parts({}).joined() == ""
    assert location_parts([{"geo": "1,2"}]).joined() == ""
    assert location_parts({"location": {"city": "Oslo"}}).city == "Oslo"


# Pairs of the same value as a JSON object and as the text of a plain cell.
MONEY_OBJECTS = [
    ({"amount": 12000000, "currency": "EUR"}, "EUR 12000000"),
    ({"value": "12M", "currency": "USD"}, "$12M"),
    ({"amount": "12,500,000", "currency_code": "GBP"}, "£12,500,000"),
    ({"value": "$12M", "currency": "CAD"}, "CAD 12M"),
    ({"amount": 12000000}, "12000000"),
]
RANGE_OBJECTS = [
    ({"min": 51, "max": 200}, "51-200"),
    ({"from": 51, "to": 200}, "51-200"),
    ({"minimum": "1,001", "maximum": "5,000"}, "1,001-5,000"),
    ({"min": 0, "max": 1}, "0-1"),
    ({"min": 10001, "max": None}, "10001+"),
    ({"to": 50}, "up to 50"),
]
REVENUE_FIELDS = ("annual_revenue_usd", "revenue_amount", "revenue_currency")
EMPLOYEE_FIELDS = ("employee_count", "employee_min", "employee_max", "employee_approximate")


def import_pair(write_json, key: str, value: object, text: str) -> tuple[Account, Account]:
    """Import one account with ``value`` as an object and one with it as text."""
    path = write_json(
        [
            {"name": "Object Co", "website": "object.example", key: value},
            {"name": "Text Co", "website": "text.example", key: text},
        ]
    )
    run = accounts_import(path)
    assert run.flagged == 0, Account.objects.get(name="Object Co").review_flags
    return Account.objects.get(name="Object Co"), Account.objects.get(name="Text Co")


@pytest.mark.parametrize(("value", "text"), MONEY_OBJECTS)
@pytest.mark.parametrize("key", ["revenue", "annual_revenue"])
def test_money_object_reads_like_cell(write_json, key, value, text):
    from_object, from_text = import_pair(write_json, key, value, text)

    for name in REVENUE_FIELDS:
        assert getattr(from_object, name) == getattr(from_text, name), name
    assert from_object.annual_revenue_usd is not None
    assert "{" not in from_object.revenue_raw


def test_money_object_converts_currency(write_json):
    path = write_json(
        [
            {
                "name": "Euro Co",
                "website": "euro.example",
                "annual_revenue": {"amount": 12000000, "currency": "EUR"},
            }
        ]
    )

    accounts_import(path)

    account = Account.objects.get()
    assert account.revenue_amount == Decimal("12000000")
    assert account.revenue_currency == "EUR"
    assert account.annual_revenue_usd == Decimal("12000000") * Decimal("1.17")
    assert account.revenue_raw == "12000000 EUR"
    revenue = Observation.objects.get(field="revenue")
    assert revenue.raw_value == "12000000 EUR"
    assert revenue.value["currency"] == "EUR"


@pytest.mark.parametrize(("value", "text"), RANGE_OBJECTS)
@pytest.mark.parametrize("key", ["employees", "estimated_num_employees", "employeeRange"])
def test_range_object_reads_like_cell(write_json, key, value, text):
    from_object, from_text = import_pair(write_json, key, value, text)

    for name in EMPLOYEE_FIELDS:
        assert getattr(from_object, name) == getattr(from_text, name), name
    assert from_object.employee_min is not None
    assert "{" not in from_object.employee_raw


def test_range_object_stores_bounds(write_json):
    path = write_json(
        [{"name": "Range Co", "website": "range.example", "employees": {"min": 51, "max": 200}}]
    )

    accounts_import(path)

    account = Account.objects.get()
    assert account.employee_min == 51
    assert account.employee_max == 200
    assert account.employee_count == 125
    assert account.employee_raw == "51-200"
    employees = Observation.objects.get(field="employees")
    assert employees.raw_value == "51-200"
    assert employees.value == {"count": 125, "min": 51, "max": 200, "approximate": False}


def test_revenue_range_object_gives_midpoint(write_json):
    from_object, from_text = import_pair(
        write_json,
        "revenueRange",
        {"min": "10M", "max": "50M", "currency": "USD"},
        "$10M - $50M",
    )

    for name in REVENUE_FIELDS:
        assert getattr(from_object, name) == getattr(from_text, name), name
    assert from_object.revenue_amount == Decimal("30000000")


def test_market_cap_object_observed(write_json):
    # The keys of the S&P 500 financials layout, whose Market Cap has no Account field.
    path = write_json(
        [
            {
                "Symbol": "OBJ",
                "Name": "Object Co",
                "Sector": "Software",
                "Market Cap": {"amount": 5000000000, "currency": "EUR"},
            },
            {"Symbol": "TXT", "Name": "Text Co", "Sector": "Software", "Market Cap": "€5B"},
        ]
    )

    run = accounts_import(path)

    from_object = Observation.objects.get(field="market_cap", account__name="Object Co")
    from_text = Observation.objects.get(field="market_cap", account__name="Text Co")
    assert run.flagged == 0
    assert from_object.value == from_text.value
    assert from_object.value["currency"] == "EUR"
    assert from_object.raw_value == "5000000000 EUR"


@pytest.mark.parametrize(
    ("key", "value", "field", "problem"),
    [
        (
            "employees",
            {"min": 51, "max": 200, "unit": "people"},
            "employees",
            'It has the key "unit", which the import does not read.',
        ),
        (
            "employees",
            {"min": 300, "max": 200},
            "employees",
            "The minimum 300 is above the maximum 200.",
        ),
        ("employees", {"count": 240}, "employees", 'It has the key "count"'),
        ("employees", {"min": 51, "from": 60}, "employees", 'two values for one minimum: "min"'),
        ("employees", {"min": "lots", "max": 200}, "employees", 'The bound "lots" is invalid'),
        (
            "revenue",
            {"value": "€12M", "currency": "USD"},
            "revenue",
            "Its amount is in EUR, but its currency is USD.",
        ),
        (
            "revenue",
            {"amount": "lots", "currency": "USD"},
            "revenue",
            'Its amount "lots" could not be read',
        ),
        ("revenue", {"amount": True, "currency": "USD"}, "revenue", "Its amount true is not"),
        (
            "revenue",
            {"amount": 5, "currency": "XYZ"},
            "revenue",
            'Its currency "XYZ" is invalid',
        ),
        (
            "revenue",
            {"min": 1000000, "max": 2000000, "currency": "USD"},
            "revenue",
            "It is a range, where one amount is expected.",
        ),
        (
            "revenue",
            {"amount": 5, "min": 1, "max": 9},
            "revenue",
            "It has both an amount and the bounds of a range.",
        ),
        (
            "revenueRange",
            {"min": "50M", "max": "10M", "currency": "USD"},
            "revenue",
            'Its minimum "50M" is above its maximum "10M".',
        ),
        (
            "revenueRange",
            {"min": "€10M", "max": "$50M"},
            "revenue",
            "Its minimum is in EUR, but its maximum is in USD.",
        ),
        (
            "revenueRange",
            {"max": "50M", "currency": "USD"},
            "revenue",
            "It has a maximum only",
        ),
    ],
)
def test_unclear_number_object_flagged(write_json, key, value, field, problem):
    path = write_json([{"name": "Unclear Co", "website": "unclear.example", key: value}])

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert [item["field"] for item in account.review_flags] == [field]
    review_flag = account.review_flags[0]
    assert review_flag["value"] == json.dumps(value, ensure_ascii=False)
    assert review_flag["message"].startswith(f"the {field} is a JSON object, {{")
    assert problem in review_flag["message"]
    assert "Write it as {" in review_flag["message"]
    assert account.employee_raw == ""
    assert account.employee_count is None
    assert account.revenue_raw == ""
    assert account.revenue_amount is None
    assert not Observation.objects.filter(raw_value__contains="{").exists()


def test_unclear_object_leaves_other_column(write_json):
    path = write_json(
        [
            {
                "name": "Fallback Co",
                "website": "fallback.example",
                "employees": {"min": 300, "max": 200},
                "Employee Range": "201-500",
            }
        ]
    )

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.flagged == 1
    assert account.employee_min == 201
    assert account.employee_max == 500
    assert [item["field"] for item in account.review_flags] == ["employees"]
