import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from accounts.models import Tier
from accounts.selectors import DeferredJoinPaginator, account_list
from tests.factories import AccountFactory


def test_account_list_applies_filters(sdr):
    AccountFactory(name="Mine", owner=sdr, tier=Tier.HIGH)
    AccountFactory(name="Unowned", owner=None, tier=Tier.HIGH)
    accounts = account_list(user=sdr, filters={"owner": "me", "tier": "high"})
    assert [account.name for account in accounts] == ["Mine"]


def test_account_list_rejects_invalid_filter(sdr):
    with pytest.raises(ValidationError) as raised:
        account_list(user=sdr, filters={"country": "Germany"})
    assert "country" in raised.value.message_dict


@pytest.mark.django_db
def test_account_list_empty_for_anonymous():
    AccountFactory()
    assert list(account_list(user=AnonymousUser())) == []


def test_account_list_empty_without_role(make_user):
    AccountFactory()
    assert list(account_list(user=make_user(None, username="no-role"))) == []


def test_paginator_keeps_order(sdr):
    for score in (30, 90, 60, 10, 75):
        AccountFactory(name=f"Score {score}", score=score)
    accounts = account_list(user=sdr, filters={"ordering": "-score"})
    paginator = DeferredJoinPaginator(accounts, per_page=2)
    pages = [[account.score for account in paginator.page(number)] for number in (1, 2, 3)]
    assert pages == [[90, 75], [60, 30], [10]]
    assert paginator.count == 5


def test_paginator_rows_have_joins(sdr, industry, django_assert_num_queries):
    AccountFactory.create_batch(3, industry=industry, owner=sdr)
    paginator = DeferredJoinPaginator(account_list(user=sdr), per_page=10)
    with django_assert_num_queries(3):
        names = [(row.industry.name, row.owner.username) for row in paginator.page(1)]
    assert names == [("Web Test SaaS", "sdr")] * 3
