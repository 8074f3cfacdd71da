"""page_size: invalid values are rejected on JSON pages, CSV downloads and other lists."""

import pytest

from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_csv_invalid_page_size_is_400(signed_in_api, value):
    AccountFactory.create_batch(3)
    response = signed_in_api.get(LIST_URL, {"format": "csv", "page_size": value})
    error = response.json()["error"]
    assert response.status_code == 400
    assert list(error["fields"]) == ["page_size"]
    assert error["fields"]["page_size"][0].startswith(
        f"page_size {value!r} is not a whole number of at least 1: send one from 1 to 10000"
    )


def test_json_invalid_page_size_is_400(signed_in_api):
    response = signed_in_api.get(LIST_URL, {"page_size": "abc"})
    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["fields"]


def test_large_page_size_is_clamped(signed_in_api):
    AccountFactory.create_batch(2)
    response = signed_in_api.get(LIST_URL, {"page_size": "100000"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_note_list_invalid_page_size_is_400(signed_in_api, sdr):
    account = AccountFactory(owner=sdr)
    response = signed_in_api.get(f"{LIST_URL}{account.pk}/notes/", {"page_size": "abc"})
    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["fields"]


def test_note_list_has_previous(signed_in_api, sdr):
    account = AccountFactory(owner=sdr)
    body = signed_in_api.get(f"{LIST_URL}{account.pk}/notes/").json()
    assert list(body) == ["next", "previous", "results"]
    assert body["previous"] is None
