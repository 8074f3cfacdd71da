"""JSON objects and arrays where the importer reads a plain value: unpacked or flagged."""

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
                "employees": {"min": 51, "max": 200},
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
