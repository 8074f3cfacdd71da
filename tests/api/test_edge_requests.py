"""API requests at the edges of their input: huge ids, page sizes and unknown formats."""

import pytest

from tests.factories import AccountFactory

ACCOUNTS_URL = "/api/v1/accounts/"


@pytest.mark.parametrize("param", ["industry", "owner"])
@pytest.mark.parametrize("value", ["99999999999999999999999", "9999999999999999999999"])
def test_huge_id_filter_400(signed_in_api, param, value):
    AccountFactory()
    response = signed_in_api.get(ACCOUNTS_URL, {param: value})
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [param]
    assert f"{value} is not a valid id" in error["fields"][param][0]


def test_huge_id_filter_csv_400(signed_in_api):
    response = signed_in_api.get(ACCOUNTS_URL, {"industry": "9" * 23, "format": "csv"})
    assert response.status_code == 400
    assert "industry" in response.json()["error"]["fields"]


def test_unknown_format_names_supported(signed_in_api):
    response = signed_in_api.get(ACCOUNTS_URL, {"format": "xml"})
    error = response.json()["error"]
    assert response.status_code == 406
    assert error["code"] == "not_acceptable"
    assert error["message"] == (
        "The format 'xml' is not supported at /api/v1/accounts/: use one of json, csv."
    )
    assert "check the id" not in error["message"]


def test_unknown_format_on_detail_406(signed_in_api):
    account = AccountFactory()
    response = signed_in_api.get(f"{ACCOUNTS_URL}{account.pk}/", {"format": "yaml"})
    error = response.json()["error"]
    assert response.status_code == 406
    assert error["code"] == "not_acceptable"
    assert "'yaml'" in error["message"]


def test_unknown_format_suffix_404(signed_in_api):
    response = signed_in_api.get("/api/v1/accounts.xml")
    error = response.json()["error"]
    assert response.status_code == 404
    assert error["code"] == "not_found"
    assert "'xml'" in error["message"]


def test_missing_object_404_message_unchanged(signed_in_api):
    response = signed_in_api.get(f"{ACCOUNTS_URL}999999/")
    assert response.status_code == 404
    assert "check the id in the URL" in response.json()["error"]["message"]
