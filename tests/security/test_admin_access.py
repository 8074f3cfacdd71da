"""The Django admin is for staff only: every admin URL sends other users to the admin login."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth import SESSION_KEY
from django.urls import URLPattern, URLResolver, reverse

from accounts import roles
from tests.factories import AccountFactory

from .conftest import PASSWORD

# Admin URLs that need no staff session. The catch-all pattern, which only redirects, is
# skipped as well.
PUBLIC_ADMIN_NAMES = {"login", "logout"}


def admin_paths(object_id: int) -> list[str]:
    """Return a path for every admin URL pattern, with ``object_id`` for each argument."""
    paths: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern):
                if pattern.name in PUBLIC_ADMIN_NAMES or "(?P<url>" in route:
                    continue
                paths.append(prefix + fill_route(route, object_id))

    walk(admin.site.urls[0], "/admin/")
    return sorted(set(paths))


def fill_route(route: str, object_id: int) -> str:
    """Turn a route such as ``<path:object_id>/change/`` or a regex into a concrete path."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: argument_value(match[1], object_id), route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: argument_value(match[1], object_id), route)
    # Unnamed groups, such as the history record id of django-simple-history.
    route = re.sub(r"\([^)]*\)", str(object_id), route)
    return route.lstrip("^").rstrip("$").replace("\\", "")


def argument_value(name: str, object_id: int) -> str:
    if name == "app_label":
        return "accounts"
    if name == "content_type_id":
        return "1"
    return str(object_id)


@pytest.fixture
def account(db):
    return AccountFactory(name="Admin Probe")


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_OPS, None])
def test_non_staff_redirected_from_admin_index(client, make_user, role):
    client.force_login(make_user(role, username="not-staff"))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next=/admin/"


def test_anonymous_redirected_from_admin_index(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_redirected_from_every_admin_url(client, make_user, account):
    client.force_login(make_user(roles.SDR, username="not-staff"))
    paths = admin_paths(account.pk)
    assert f"/admin/accounts/account/{account.pk}/change/" in paths
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("admin:login")), path


def test_non_staff_post_to_admin_changes_nothing(client, make_user, account):
    client.force_login(make_user(roles.SDR, username="not-staff"))
    change = reverse("admin:accounts_account_change", args=[account.pk])
    delete = reverse("admin:accounts_account_delete", args=[account.pk])
    changed = client.post(change, {"name": "Renamed by a non-staff user"})
    deleted = client.post(delete, {"post": "yes"})
    account.refresh_from_db()
    assert changed.status_code == 302
    assert deleted.status_code == 302
    assert account.name == "Admin Probe"


def test_non_staff_cannot_sign_in_to_admin(client, make_user):
    make_user(roles.SALES_OPS, username="not-staff")
    response = client.post(reverse("admin:login"), {"username": "not-staff", "password": PASSWORD})
    assert response.status_code == 200
    assert "Please enter the correct username and password for a staff account" in (
        response.content.decode()
    )
    assert SESSION_KEY not in client.session


def test_staff_user_reaches_admin_index(client, make_user):
    client.force_login(make_user(roles.SALES_OPS, username="ops-staff", is_staff=True))
    assert client.get("/admin/").status_code == 200
