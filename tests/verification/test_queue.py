"""The enrichment queue selector and the verification counts."""

import pytest
from django.core.paginator import Paginator

from enrichment.selectors import enrichment_queue, verification_counts
from enrichment.services import accounts_verify

from .conftest import blank_account, employees_value, industry_value, location_value, observe

pytestmark = pytest.mark.django_db


def make_verified(name: str):
    account = blank_account(name=name)
    for source in ("zoominfo", "apollo"):
        observe(account, "industry", industry_value("SaaS"), source)
        observe(account, "employees", employees_value(400), source)
        observe(account, "location", location_value("DE"), source)
    return account


def make_conflicting(name: str, score: int | None = None):
    account = blank_account(name=name, score=score)
    observe(account, "location", location_value("DE"), "zoominfo")
    observe(account, "location", location_value("US"), "apollo")
    return account


@pytest.fixture
def accounts():
    created = {
        "verified": make_verified("Verified Co"),
        "single": blank_account(name="Single Co", score=90),
        "conflict_low": make_conflicting("Conflict Low", score=10),
        "conflict_high": make_conflicting("Conflict High", score=80),
    }
    observe(created["single"], "location", location_value("DE"), "apollo")
    accounts_verify(account_ids=[account.pk for account in created.values()])
    return created


def test_queue_excludes_verified(accounts):
    names = [entry.account.name for entry in enrichment_queue()]

    assert "Verified Co" not in names
    assert len(names) == 3


def test_queue_puts_conflicts_first(accounts):
    names = [entry.account.name for entry in enrichment_queue()]

    assert names == ["Conflict High", "Conflict Low", "Single Co"]


def test_queue_gives_reasons(accounts):
    entries = {entry.account.name: entry.reasons for entry in enrichment_queue()}

    assert entries["Conflict High"][0] == "Industry: no source reports it. Enrich the account."
    assert entries["Conflict High"][2] == (
        "Country: sources disagree (Apollo: US; ZoomInfo: DE). Resolve the conflict."
    )
    assert entries["Single Co"][2] == (
        "Country: only Apollo reports it. Confirm it with a second source."
    )


def test_queue_pages(accounts):
    page = Paginator(enrichment_queue(), 2).page(2)

    assert page.paginator.count == 3
    assert [entry.account.name for entry in page] == ["Single Co"]


def test_queue_for_user_limits_accounts(accounts, make_user):
    owner = make_user("AE", username="ae")
    other = make_user("AE", username="other-ae")
    accounts["single"].owner = owner
    accounts["single"].save()

    assert [entry.account.name for entry in enrichment_queue(owner)] == ["Single Co"]
    assert list(enrichment_queue(other)) == []


def test_verification_counts(accounts):
    counts = verification_counts()

    assert counts["country"]["verified"] == 1
    assert counts["country"]["conflicting"] == 2
    assert counts["country"]["single_source"] == 1
    assert counts["industry"]["missing"] == 3
    assert counts["account"] == {"verified": 1, "unverified": 1, "conflicting": 2}
