"""The ``owner`` ordering sorts by the owner's name, not by the login."""

import pytest

from accounts import roles
from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"

# (username, first name, last name) in the expected ascending order. Owners sort by last
# name, then first name. Users without a last name sort by the first name or the login,
# and the login separates owners of the same name.
OWNERS_IN_ORDER = [
    ("zzz", "Amy", "Abel"),
    ("bob", "", ""),
    ("mid", "Cher", ""),
    ("lee1", "Alex", "lee"),
    ("lee2", "Alex", "Lee"),
    ("aaa", "Morgan", "Lee"),
    ("aaron", "Zed", "Young"),
]


@pytest.fixture
def owned_accounts(make_user):
    """Two accounts per owner and two without one, created in reverse order."""
    for username, first_name, last_name in reversed(OWNERS_IN_ORDER):
        owner = make_user(roles.SDR, username=username, first_name=first_name, last_name=last_name)
        AccountFactory(name=f"{username} one", owner=owner)
        AccountFactory(name=f"{username} two", owner=owner)
    AccountFactory(name="unassigned one", owner=None)
    AccountFactory(name="unassigned two", owner=None)


def owner_usernames(client, ordering: str, page_size: int) -> list[str]:
    """Follow the next links and return each row's owner login, None when unassigned."""
    usernames: list[str] = []
    url = f"{LIST_URL}?ordering={ordering}&page_size={page_size}"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        usernames.extend(row["owner"] for row in body["results"])
        url = body["next"]
    return usernames


@pytest.mark.parametrize("page_size", [3, 100])
def test_owner_ordering_by_name(signed_in_api, owned_accounts, page_size):
    expected = [username for username, _, _ in OWNERS_IN_ORDER for _ in range(2)]

    usernames = owner_usernames(signed_in_api, "owner", page_size)

    assert usernames == [*expected, None, None]


@pytest.mark.parametrize("page_size", [3, 100])
def test_owner_ordering_descending(signed_in_api, owned_accounts, page_size):
    expected = [username for username, _, _ in reversed(OWNERS_IN_ORDER) for _ in range(2)]

    usernames = owner_usernames(signed_in_api, "-owner", page_size)

    assert usernames == [*expected, None, None]


def test_owner_ordering_pages_without_repeats(signed_in_api, owned_accounts):
    seen: list[int] = []
    url = f"{LIST_URL}?ordering=owner,-name&page_size=4"
    while url:
        body = signed_in_api.get(url).json()
        seen.extend(row["id"] for row in body["results"])
        url = body["next"]

    assert len(seen) == 16
    assert len(set(seen)) == 16


def test_owner_ordering_ties_by_id(signed_in_api, owned_accounts):
    body = signed_in_api.get(LIST_URL, {"ordering": "owner", "page_size": 100}).json()
    ids_of_zzz = [row["id"] for row in body["results"] if row["owner"] == "zzz"]

    assert ids_of_zzz == sorted(ids_of_zzz)
