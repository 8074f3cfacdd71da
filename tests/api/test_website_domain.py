"""Website and domain of API writes: derived, checked and rejected as on the account page."""

import pytest

from accounts.models import Account
from accounts.services import accounts_import
from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"


def detail_url(account) -> str:
    return f"{LIST_URL}{account.pk}/"


@pytest.fixture(autouse=True)
def no_rescoring(monkeypatch):
    """Keep account writes independent of the scoring engine and its framework."""
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)


def test_website_sets_domain(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "WO", "website": "https://www.website-only-x.com/path"}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["website"] == "https://www.website-only-x.com/path"
    assert body["domain"] == "website-only-x.com"


def test_import_matches_api_account(client_for, sales_ops, tmp_path):
    client_for(sales_ops).post(
        LIST_URL, {"name": "WO", "website": "https://www.website-only-x.com/path"}, format="json"
    )
    path = tmp_path / "export.csv"
    path.write_text("Company,Website\nWebsite Only X Ltd,https://website-only-x.com\n")
    run = accounts_import(path, verify_and_segment=False)
    assert run.created == 0
    assert Account.objects.filter(domain="website-only-x.com").count() == 1


def test_patch_website_changes_domain(client_for, sdr):
    account = AccountFactory(
        owner=sdr, website="https://old-site.example", domain="old-site.example"
    )
    response = client_for(sdr).patch(
        detail_url(account), {"website": "https://www.tester-new-site.com"}, format="json"
    )
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert account.website == "https://www.tester-new-site.com"
    assert account.domain == "tester-new-site.com"


def test_disagreeing_domain_rejected(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL,
        {"name": "WD", "website": "https://www.wd-one.com", "domain": "wd-two.com"},
        format="json",
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "wd-two.com disagrees with the website" in error["fields"]["domain"][0]
    assert not Account.objects.filter(name="WD").exists()


def test_matching_domain_accepted(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL,
        {"name": "WD", "website": "https://www.wd-one.com", "domain": "WD-one.com"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["domain"] == "wd-one.com"


def test_domain_alone_must_match_website(client_for, sdr):
    account = AccountFactory(owner=sdr, website="https://acme.example", domain="acme.example")
    response = client_for(sdr).patch(
        detail_url(account), {"domain": "other.example"}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "send the new website as well" in error["fields"]["domain"][0]
    account.refresh_from_db()
    assert account.domain == "acme.example"


def test_domain_cannot_be_emptied_with_website(client_for, sdr):
    account = AccountFactory(owner=sdr, website="https://acme.example", domain="acme.example")
    response = client_for(sdr).patch(detail_url(account), {"domain": ""}, format="json")
    assert response.status_code == 400
    assert "cannot be emptied" in response.json()["error"]["fields"]["domain"][0]


@pytest.mark.parametrize(
    "domain", ["linkedin.com/company/foo", "producthunt.com", "ycombinator.com", "apps.apple.com"]
)
def test_third_party_domain_rejected(client_for, sales_ops, domain):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Platform", "domain": domain}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "is a third-party page" in error["fields"]["domain"][0]
    assert not Account.objects.filter(name="Platform").exists()


def test_third_party_website_rejected(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL,
        {"name": "Platform", "website": "https://www.linkedin.com/company/foo"},
        format="json",
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["fields"]["website"] == [
        "https://www.linkedin.com/company/foo is a third-party page, not the company's own "
        "website: enter the company's website."
    ]


def test_website_of_other_account_rejected(client_for, sales_ops):
    existing = AccountFactory(name="Taken Inc", domain="taken.example")
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Other", "website": "https://shop.taken.example/"}, format="json"
    )
    message = response.json()["error"]["fields"]["website"][0]
    assert response.status_code == 400
    assert f"Account “Taken Inc” (id {existing.pk}) already has the domain" in message


def test_domain_of_other_account_rejected(client_for, sdr):
    existing = AccountFactory(name="Taken Inc", domain="taken.example")
    account = AccountFactory(owner=sdr, website="", domain="")
    response = client_for(sdr).patch(
        detail_url(account), {"domain": "taken.example"}, format="json"
    )
    message = response.json()["error"]["fields"]["domain"][0]
    assert response.status_code == 400
    assert f"Account “Taken Inc” (id {existing.pk}) already has the domain" in message


def test_unchanged_third_party_website_kept(client_for, sdr):
    # Imports keep a third-party website but set no domain from it.
    account = AccountFactory(
        owner=sdr, website="https://www.linkedin.com/company/acme", domain="", city="Berlin"
    )
    response = client_for(sdr).patch(
        detail_url(account),
        {"website": "https://www.linkedin.com/company/acme", "city": "Hamburg"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert account.city == "Hamburg"
    assert account.domain == ""


def test_website_cannot_be_emptied(client_for, sdr):
    account = AccountFactory(owner=sdr, website="https://acme.example", domain="acme.example")
    response = client_for(sdr).patch(detail_url(account), {"website": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["website"] == [
        "Website is empty: enter a value such as https://example.com."
    ]
    account.refresh_from_db()
    assert account.website == "https://acme.example"
    assert account.domain == "acme.example"


def test_url_as_domain_without_website_rejected(client_for, sdr):
    account = AccountFactory(owner=sdr, website="", domain="")
    response = client_for(sdr).patch(
        detail_url(account), {"domain": "https://anvil-new.example/x"}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["domain"][0]
    assert "“https://anvil-new.example/x” is a URL, and the account has no website" in message
    assert "send it as website" in message
    account.refresh_from_db()
    assert account.domain == ""


@pytest.mark.parametrize(
    "domain", ["anvil-new.example", "Anvil-New.example.", "www.anvil-new.example"]
)
def test_host_name_without_website_accepted(client_for, sdr, domain):
    account = AccountFactory(owner=sdr, website="", domain="")
    response = client_for(sdr).patch(detail_url(account), {"domain": domain}, format="json")
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert account.domain == "anvil-new.example"
    assert account.website == ""
