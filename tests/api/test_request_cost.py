"""Per-request shortcuts of the account pages keep their responses and security checks.

Token authentication reads the user's roles in its own query on PostgreSQL, the filter
set is skipped when no filter is requested, and AccountRowsSerializer formats datetimes
without a time zone lookup per value.
"""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request

from accounts import roles, selectors
from accounts.api.serializers import AccountRowsSerializer, AccountSerializer
from accounts.models import Tier
from tests.factories import AccountFactory

OUTBOUND_URL = "/api/v1/segments/routes/Outbound/members/"


def test_token_page_query_count(token_client, marketing):
    AccountFactory.create_batch(3, route="Outbound")
    client = token_client(marketing)
    client.get(OUTBOUND_URL)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(OUTBOUND_URL)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    # The token, its user and (on PostgreSQL) the user's roles, then the page itself.
    expected = 2 if connection.vendor == "postgresql" else 3
    assert len(captured) == expected


def test_exact_tag_page_query_count(token_client, marketing):
    AccountFactory.create_batch(3, tag="SaaS – SMB – US")
    client = token_client(marketing)
    url = "/api/v1/segments/tags/SaaS%20%E2%80%93%20SMB%20%E2%80%93%20US/members/"
    client.get(url)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    # As for a route: the tag as the framework spells it needs no framework lookup.
    expected = 2 if connection.vendor == "postgresql" else 3
    assert len(captured) == expected


def test_token_roles_read_on_every_request(token_client, marketing):
    AccountFactory(route="Outbound")
    client = token_client(marketing)
    assert client.get(OUTBOUND_URL).status_code == 200

    marketing.groups.remove(Group.objects.get(name=roles.MARKETING))
    response = client.get(OUTBOUND_URL)

    assert response.status_code == 403


def test_token_of_user_without_roles_is_forbidden(token_client, marketing):
    client = token_client(marketing)
    marketing.groups.clear()

    response = client.get(OUTBOUND_URL)

    assert response.status_code == 403


def test_empty_filter_value_lists_all(signed_in_api):
    AccountFactory(route="Outbound", tier=Tier.HIGH)
    AccountFactory(route="Outbound", tier=Tier.LOW)

    response = signed_in_api.get(OUTBOUND_URL, {"tier": ""})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_invalid_filter_value_still_rejected(signed_in_api):
    AccountFactory(route="Outbound")

    response = signed_in_api.get(OUTBOUND_URL, {"tier": "top"})

    assert response.status_code == 400
    assert "tier" in response.json()["error"]["fields"]


def test_unknown_parameter_lists_all(signed_in_api):
    AccountFactory.create_batch(2, route="Outbound")

    response = signed_in_api.get(OUTBOUND_URL, {"colour": "blue"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


@pytest.mark.parametrize(
    ("name", "suggestion"), [("teir", "tier"), ("Tier", "tier"), ("contry", "country")]
)
def test_misspelt_filter_rejected(signed_in_api, name, suggestion):
    AccountFactory.create_batch(2, route="Outbound")

    response = signed_in_api.get(OUTBOUND_URL, {name: "high"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"][name] == [
        f"{name!r} is not a filter: did you mean {suggestion!r}? A parameter that no filter "
        "reads would be ignored and the response would not be filtered."
    ]


def test_cache_busting_parameter_ignored(signed_in_api):
    AccountFactory.create_batch(2, route="Outbound")

    response = signed_in_api.get(OUTBOUND_URL, {"_": "1733400000", "page_size": "1"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_rows_serializer_datetimes_follow_current_zone(sdr, zone):
    AccountFactory(scored_at=timezone.now())
    request = Request(RequestFactory().get("/api/v1/accounts/"))
    context = {"request": request, "format": None}
    accounts = selectors.account_list_base(user=sdr).order_by("id")
    rows_serializer = AccountRowsSerializer(context)

    with timezone.override(zone):
        expected = AccountSerializer(list(accounts), many=True, context=context).data
        built = rows_serializer.data(list(accounts.values(*rows_serializer.lookups())))

    assert built[0]["scored_at"] == expected[0]["scored_at"]
    assert built[0]["created_at"] == expected[0]["created_at"]
    assert built[0]["updated_at"] == expected[0]["updated_at"]
    assert built == [dict(row) for row in expected]
