"""PUT of an account's own GET body, and the limits that apply only to changed values."""

from decimal import Decimal

import pytest

from accounts.models import Account
from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"
LONG_DESCRIPTION = "x" * 19_999


def detail_url(account) -> str:
    return f"{LIST_URL}{account.pk}/"


@pytest.fixture(autouse=True)
def no_rescoring(monkeypatch):
    """Keep account writes independent of the scoring engine and its framework."""
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)


def test_put_of_get_body_unchanged(client_for, sdr):
    # An import may store a longer description than the API accepts.
    account = AccountFactory(
        owner=sdr, description=LONG_DESCRIPTION, revenue_amount=Decimal("123456789012345.67")
    )
    client = client_for(sdr)
    read = client.get(detail_url(account))
    updated_at = Account.objects.get(pk=account.pk).updated_at
    response = client.put(
        detail_url(account), read.json(), format="json", HTTP_IF_MATCH=read["ETag"]
    )
    assert response.status_code == 200, response.json()
    assert response["ETag"] == read["ETag"]
    account.refresh_from_db()
    assert account.updated_at == updated_at
    assert account.description == LONG_DESCRIPTION


def test_changed_long_description_rejected(client_for, sdr):
    account = AccountFactory(owner=sdr, description=LONG_DESCRIPTION)
    response = client_for(sdr).patch(
        detail_url(account), {"description": LONG_DESCRIPTION + "y"}, format="json"
    )
    message = response.json()["error"]["fields"]["description"][0]
    assert response.status_code == 400
    assert "20,000 characters long, more than the 5,000 allowed" in message


@pytest.mark.parametrize(
    ("amount", "digits", "example"),
    [("123456789012345.67", 17, "123456789012345"), ("999999999999999.99", 17, "999999999999999")],
)
def test_inexact_amount_rejected(client_for, sales_ops, amount, digits, example):
    response = client_for(sales_ops).post(
        LIST_URL,
        {"name": "Big", "revenue_amount": amount, "revenue_currency": "JPY"},
        format="json",
    )
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert fields["revenue_amount"] == [
        f"{amount} has {digits} significant digits, more than the 15 that are stored exactly: "
        f"round it, such as to {example}."
    ]


def test_fifteen_digit_amount_accepted(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Big", "annual_revenue_usd": "9999999999999.99"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["annual_revenue_usd"] == "9999999999999.99"
