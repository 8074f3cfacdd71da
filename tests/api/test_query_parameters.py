"""Query parameters that the API would otherwise read silently wrong: repeats and page numbers."""

import pytest

from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"


def field_message(response, name: str) -> str:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"][name][0]


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("tier=high&tier=medium", "tier", "tier was given 2 times (high, medium): give it once."),
        ("country=US&country=DE", "country", "country was given 2 times (US, DE): give it once."),
        ("page_size=1&page_size=3", "page_size", "page_size was given 2 times (1, 3)"),
        ("format=csv&format=json", "format", "format was given 2 times (csv, json)"),
    ],
)
def test_repeated_parameter_rejected(signed_in_api, query, name, expected):
    AccountFactory(name="Alpha", tier="high")
    response = signed_in_api.get(f"{LIST_URL}?{query}")
    message = field_message(response, name)
    assert message.startswith(expected)
    assert "request each value separately" in message


def test_repeated_ordering_names_comma_form(signed_in_api):
    response = signed_in_api.get(f"{LIST_URL}?ordering=name&ordering=-score")
    message = field_message(response, "ordering")
    assert message.startswith("ordering was given 2 times (name, -score): give it once.")
    assert "such as ordering=tier,-score" in message


def test_repeated_parameter_rejected_on_other_lists(signed_in_api):
    response = signed_in_api.get("/api/v1/segments/saved/?mine=true&mine=false")
    assert field_message(response, "mine").startswith("mine was given 2 times (true, false)")


def test_repeated_parameter_rejected_on_members(signed_in_api):
    response = signed_in_api.get("/api/v1/segments/routes/Outbound/members/?tier=high&tier=low")
    assert field_message(response, "tier").startswith("tier was given 2 times")


def test_repeated_empty_value_rejected(signed_in_api):
    response = signed_in_api.get(f"{LIST_URL}?tier=&tier=high")
    assert field_message(response, "tier").startswith("tier was given 2 times (, high)")


def test_long_repeated_value_shortened(signed_in_api):
    long_value = "x" * 500
    response = signed_in_api.get(LIST_URL, {"q": [long_value, "y"]})
    message = field_message(response, "q")
    assert "x" * 39 + "…, y)" in message
    assert len(message) < 300


def test_single_values_still_filter(signed_in_api):
    AccountFactory(name="Alpha", tier="high")
    AccountFactory(name="Beta", tier="medium")
    response = signed_in_api.get(LIST_URL, {"tier": "high", "page_size": "5"})
    assert response.status_code == 200, response.json()
    assert [row["name"] for row in response.json()["results"]] == ["Alpha"]


def test_underscore_parameter_may_repeat(signed_in_api):
    response = signed_in_api.get(f"{LIST_URL}?_=1&_=2")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("name", ["page", "offset", "page_number"])
def test_page_number_names_cursor(signed_in_api, name):
    response = signed_in_api.get(LIST_URL, {name: "2"})
    message = field_message(response, name)
    assert f"{name} is not a parameter of the API, which pages lists with a cursor" in message
    assert "follow the next link" in message


@pytest.mark.parametrize("name", ["limit", "per_page"])
def test_page_length_names_page_size(signed_in_api, name):
    response = signed_in_api.get("/api/v1/segments/saved/", {name: "10"})
    assert "send page_size to set the rows per page" in field_message(response, name)


def test_page_on_unpaged_list_rejected(signed_in_api):
    response = signed_in_api.get("/api/v1/segments/tags/", {"page": "2"})
    assert "returns every item in one response" in field_message(response, "page")


def test_page_on_csv_is_json_400(signed_in_api):
    response = signed_in_api.get(LIST_URL, {"format": "csv", "page": "2"})
    assert response["Content-Type"].startswith("application/json")
    assert "cursor" in field_message(response, "page")


def test_anonymous_repeat_gets_401(api_client, db):
    response = api_client.get(f"{LIST_URL}?tier=high&tier=low")
    assert response.status_code == 401
