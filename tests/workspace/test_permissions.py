"""Each workspace view against each role: who gets the page and who gets 403."""

import pytest
from django.urls import reverse

from tests.factories import AccountFactory

from .conftest import HTMX

ALL = ("sdr", "ae", "manager", "sales_ops", "marketing", "leadership")
# The account belongs to the AE, whose manager is "manager"; the SDR is on the same team.
RESEARCHERS = ("ae", "manager")
REVIEWERS = ("manager",)
IMPORTERS = ("sdr", "manager", "sales_ops")
QUEUE_USERS = ("sdr", "ae", "manager")
ENRICHERS = ("sdr", "ae", "manager", "sales_ops")

VIEWS = [
    ("queue", lambda account: reverse("accounts:account-queue"), QUEUE_USERS),
    ("detail", lambda account: account.get_absolute_url(), ALL),
    (
        "section",
        lambda account: reverse("accounts:account-section", args=[account.pk, "history"]),
        ALL,
    ),
    (
        "field display",
        lambda account: reverse("accounts:account-field", args=[account.pk, "employees"]),
        ALL,
    ),
    (
        "field edit",
        lambda account: reverse("accounts:account-field-edit", args=[account.pk, "employees"]),
        RESEARCHERS,
    ),
    (
        "segment edit",
        lambda account: reverse("accounts:account-segment-edit", args=[account.pk]),
        RESEARCHERS,
    ),
    (
        "fit",
        lambda account: reverse("accounts:account-fit-validate", args=[account.pk]),
        RESEARCHERS,
    ),
    (
        "resolve",
        lambda account: reverse(
            "accounts:account-conflict-resolve", args=[account.pk, "employees"]
        ),
        REVIEWERS,
    ),
    ("import list", lambda account: reverse("accounts:import-list"), IMPORTERS),
    ("import upload", lambda account: reverse("accounts:import-upload"), IMPORTERS),
    ("enrichment run list", lambda account: reverse("accounts:enrichment-run-list"), ENRICHERS),
]


@pytest.fixture
def users(sdr, ae, manager, sales_ops, marketing, leadership, team):
    return {
        "sdr": sdr,
        "ae": ae,
        "manager": manager,
        "sales_ops": sales_ops,
        "marketing": marketing,
        "leadership": leadership,
    }


@pytest.fixture
def account(ae):
    return AccountFactory(name="Owned by the AE", owner=ae)


@pytest.mark.parametrize(("name", "url_of", "allowed"), VIEWS, ids=[view[0] for view in VIEWS])
def test_get_allowed_and_denied_roles(client, users, account, name, url_of, allowed):
    url = url_of(account)
    for role, user in users.items():
        client.force_login(user)
        expected = 200 if role in allowed else 403
        assert client.get(url, **HTMX).status_code == expected, role


@pytest.mark.parametrize(("name", "url_of", "allowed"), VIEWS, ids=[view[0] for view in VIEWS])
def test_user_without_role_denied(client, make_user, account, name, url_of, allowed):
    client.force_login(make_user(None, username="no-role"))
    assert client.get(url_of(account), **HTMX).status_code == 403


@pytest.mark.parametrize(("name", "url_of", "allowed"), VIEWS, ids=[view[0] for view in VIEWS])
def test_anonymous_redirected_to_login(client, account, name, url_of, allowed):
    response = client.get(url_of(account))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_note_create_denied_to_non_researchers(client, users, account):
    url = reverse("accounts:research-note-create", args=[account.pk])
    for role, user in users.items():
        client.force_login(user)
        response = client.post(url, {"kind": "other", "text": f"By {role}"}, **HTMX)
        assert response.status_code == (200 if role in RESEARCHERS else 403), role


def test_field_save_denied_to_sdr_of_other_account(client, users, account):
    client.force_login(users["sdr"])
    url = reverse("accounts:account-field-edit", args=[account.pk, "employees"])
    response = client.post(url, {"employees": "10"}, **HTMX)
    account.refresh_from_db()
    assert response.status_code == 403
    assert account.employee_raw == "500"


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("assign", ("manager", "sales_ops")),
        ("enrich", ("sdr", "ae", "manager", "sales_ops")),
        ("tag", ("sdr", "ae", "manager")),
        ("export", ALL),
    ],
)
def test_bulk_actions_by_role(client, users, account, action, allowed):
    for role, user in users.items():
        client.force_login(user)
        response = client.post(
            reverse("accounts:account-bulk"),
            {"action": action, "account_ids": [str(account.pk)]},
            **HTMX,
        )
        denied = response.status_code == 403
        assert denied == (role not in allowed), role


def test_missing_account_is_404(client, users):
    client.force_login(users["manager"])
    url = reverse("accounts:account-field-edit", args=[999999, "employees"])
    assert client.get(url, **HTMX).status_code == 404
