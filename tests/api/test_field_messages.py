"""DRF's default field errors, rewritten to name the field, the value sent and the fix."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ImportRun
from integrations.models import SavedSegment
from tests.factories import AccountFactory

SAVED_URL = "/api/v1/segments/saved/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def no_rescoring(monkeypatch):
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)


def field_message(response, name: str):
    assert response.status_code == 400, response.json()
    return response.json()["error"]["fields"][name]


def test_boolean_names_value(client_for, sales_ops):
    upload = SimpleUploadedFile("a.csv", b"Company\nAcme\n", content_type="text/csv")
    response = client_for(sales_ops).post(
        "/api/v1/imports/", {"file": upload, "dry_run": "maybe"}, format="multipart"
    )
    assert field_message(response, "dry_run") == [
        "dry_run “maybe” is not a boolean: send true or false."
    ]
    assert ImportRun.objects.count() == 0


def test_list_filter_value_names_item(signed_in_api):
    body = {"name": "Two tiers", "filters": {"tier": ["high", "low"]}}
    response = signed_in_api.post(SAVED_URL, body, format="json")
    assert field_message(response, "filters") == {
        "tier": [
            'filters.tier is a list (["high", "low"]), not text: send one value as a JSON '
            'string, such as "high".'
        ]
    }
    assert SavedSegment.objects.count() == 0


def test_misspelt_saved_filter_suggested(signed_in_api):
    body = {"name": "Typo", "filters": {"teir": "high"}}
    response = signed_in_api.post(SAVED_URL, body, format="json")
    message = field_message(response, "filters")[0]
    assert message.startswith("teir is not a filter of the account list: did you mean tier? Use ")


def test_long_name_shortened(signed_in_api):
    body = {"name": "n" * 2_000_000, "filters": {}}
    response = signed_in_api.post(SAVED_URL, body, format="json")
    message = field_message(response, "name")[0]
    assert message.startswith("name is 2,000,000 characters long (“nnnn")
    assert message.endswith("more than the maximum of 100: shorten it to 100 characters or fewer.")
    assert len(message) < 200


def test_note_url_names_value(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(
        f"/api/v1/accounts/{account.pk}/notes/",
        {"text": "Raised a round", "source_url": "javascript:alert(1)"},
        format="json",
    )
    assert field_message(response, "source_url") == [
        "source_url “javascript:alert(1)” is not a web address: send an http or https URL, "
        "such as https://example.com/news, or leave it out."
    ]


def test_blank_token_name(client_for, sdr):
    response = client_for(sdr).post(
        "/api/v1/tokens/", {"name": "", "scopes": ["read"]}, format="json"
    )
    message = field_message(response, "name")[0]
    assert message.startswith("name is empty: send text of 1 to ")


def test_blank_reason(client_for, sales_ops):
    account = AccountFactory(owner=None, tier="low")
    response = client_for(sales_ops).post(
        f"/api/v1/accounts/{account.pk}/segment/", {"tier": "high", "reason": ""}, format="json"
    )
    assert field_message(response, "reason") == [
        "reason is empty: send text of 1 to 500 characters."
    ]


def test_spaces_only_reason(client_for, sales_ops):
    account = AccountFactory(owner=None, tier="low")
    response = client_for(sales_ops).post(
        f"/api/v1/accounts/{account.pk}/segment/", {"tier": "high", "reason": "   "}, format="json"
    )
    assert field_message(response, "reason") == [
        "reason contains only spaces: send text of 1 to 500 characters."
    ]


def test_missing_reason(client_for, sales_ops):
    account = AccountFactory(owner=None, tier="low")
    response = client_for(sales_ops).post(
        f"/api/v1/accounts/{account.pk}/segment/", {"tier": "high"}, format="json"
    )
    assert field_message(response, "reason") == ["reason is missing: send it in the request body."]


def test_custom_messages_kept(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(
        f"/api/v1/accounts/{account.pk}/notes/", {"text": ""}, format="json"
    )
    assert field_message(response, "text") == ["The note is empty: write what you found."]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "employee_count",
            10**30,
            f"employee_count {10**30} is more than the maximum of 10000000: send a value "
            "from 1 to 10000000.",
        ),
        (
            "employee_min",
            -5,
            "employee_min -5 is less than the minimum of 0: send a value from 0 to 10000000.",
        ),
        (
            "technologies",
            "AWS",
            'technologies is text ("AWS"), not a list: send a JSON array.',
        ),
    ],
)
def test_account_value_out_of_range_named(client_for, sdr, field, value, message):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).patch(
        f"/api/v1/accounts/{account.pk}/", {field: value}, format="json"
    )
    assert field_message(response, field) == [message]


def test_saved_filters_not_object_named(signed_in_api):
    body = {"name": "Not a dict", "filters": "notadict"}
    response = signed_in_api.post(SAVED_URL, body, format="json")
    assert field_message(response, "filters") == [
        'filters is text ("notadict"), not an object: send a JSON object of names and values.'
    ]
    assert SavedSegment.objects.count() == 0


def test_note_date_names_value(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(
        f"/api/v1/accounts/{account.pk}/notes/",
        {"text": "Raised a round", "happened_on": "31/12/2026"},
        format="json",
    )
    assert field_message(response, "happened_on") == [
        "happened_on “31/12/2026” is not a date: send one as YYYY-MM-DD, such as 2026-12-31."
    ]
