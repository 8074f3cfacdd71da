"""A value changed through the API clears the review flags about its field."""

import pytest

from tests.factories import AccountFactory

NAME_FLAG = {
    "field": "name",
    "value": "",
    "message": "the row has no company name, so the domain blank.example is used as the name. "
    "Enter the company name.",
}
EMPLOYEES_FLAG = {"field": "employees", "value": "2.000", "message": "could be 2 or 2000"}


@pytest.fixture(autouse=True)
def no_rescoring(monkeypatch):
    """Keep account writes independent of the scoring engine and its framework."""
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)


@pytest.fixture
def flagged(sdr):
    return AccountFactory(
        name="blank.example",
        domain="blank.example",
        owner=sdr,
        review_flags=[NAME_FLAG, EMPLOYEES_FLAG],
    )


def test_patch_name_clears_name_flag(signed_in_api, flagged, sdr):
    response = signed_in_api.patch(
        f"/api/v1/accounts/{flagged.pk}/", {"name": "Blank Inc"}, format="json"
    )
    flagged.refresh_from_db()
    assert response.status_code == 200, response.json()
    assert response.json()["review_flags"] == [EMPLOYEES_FLAG]
    assert flagged.review_flags == [EMPLOYEES_FLAG]
    record = flagged.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == sdr
    assert record.history_change_reason == "New value cleared the review flag of name"


def test_patch_unchanged_name_keeps_flag(signed_in_api, flagged):
    response = signed_in_api.patch(
        f"/api/v1/accounts/{flagged.pk}/", {"name": "blank.example"}, format="json"
    )
    flagged.refresh_from_db()
    assert response.status_code == 200
    assert flagged.review_flags == [NAME_FLAG, EMPLOYEES_FLAG]


def test_patch_other_field_keeps_flags(signed_in_api, flagged):
    response = signed_in_api.patch(
        f"/api/v1/accounts/{flagged.pk}/", {"city": "Berlin"}, format="json"
    )
    flagged.refresh_from_db()
    assert response.status_code == 200, response.json()
    assert flagged.review_flags == [NAME_FLAG, EMPLOYEES_FLAG]
