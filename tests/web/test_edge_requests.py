"""Page requests at the edges of their input: huge ids, far pages and refusal reasons."""

import pytest
from django.core.paginator import Paginator
from django.urls import reverse

from icp_portal.pagination import nearest_page
from tests.factories import AccountFactory

LIST_URL = reverse("accounts:account-list")
QUEUE_URL = reverse("accounts:account-queue")
HUGE_IDS = ["99999999999999999999999", "9999999999999999999999"]


@pytest.mark.parametrize("param", ["industry", "owner"])
@pytest.mark.parametrize("value", HUGE_IDS)
def test_list_huge_id_filter_invalid(signed_in, param, value):
    AccountFactory(name="Any Co")
    response = signed_in.get(LIST_URL, {param: value})
    html = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["accounts"]) == []
    assert "Some filter values are invalid" in html
    assert f"{value} is not a valid id" in html


def test_list_largest_id_filter_looked_up(signed_in):
    # The largest id fits the id column, so it is looked up and found to be no user's.
    AccountFactory(name="Any Co")
    value = str(2**63 - 1)
    response = signed_in.get(LIST_URL, {"owner": value})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{value} is not a valid id" not in html
    assert f"“{value}” is not the id of a user" in html


def test_queue_far_page_shows_last(client, sdr):
    AccountFactory.create_batch(3, owner=sdr, needs_enrichment=True)
    client.force_login(sdr)
    response = client.get(QUEUE_URL, {"page": "99999"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == response.context["paginator"].num_pages
    assert len(response.context["accounts"]) == 3


def test_queue_invalid_page_shows_first(client, sdr):
    AccountFactory(owner=sdr, needs_enrichment=True)
    client.force_login(sdr)
    response = client.get(QUEUE_URL, {"page": "abc"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 1


def test_403_page_shows_specific_reason(client, sdr):
    account = AccountFactory()
    client.force_login(sdr)
    response = client.get(reverse("accounts:account-fit-validate", args=[account.pk]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "Only the account&#x27;s AE or their manager may validate its fit." in html
    assert "has no role" not in html
    assert " style=" not in html


def test_403_page_without_role_generic(client, make_user):
    client.force_login(make_user(None, username="no-role"))
    response = client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 403
    assert "Your user has no role that allows this page." in html
    assert " style=" not in html


def test_queue_page_below_one_shows_first(client, sdr):
    AccountFactory.create_batch(30, owner=sdr, needs_enrichment=True)
    client.force_login(sdr)
    response = client.get(QUEUE_URL, {"page": "0"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 1
    assert response.context["paginator"].num_pages > 1


@pytest.mark.parametrize(
    ("number", "expected"),
    [("0", 1), ("-5", 1), ("abc", 1), (None, 1), ("2", 2), ("99", 3), ("last", 1)],
)
def test_nearest_page_numbers(number, expected):
    assert nearest_page(Paginator(range(30), 10), number).number == expected
