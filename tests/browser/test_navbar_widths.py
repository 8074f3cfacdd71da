"""The manager's menu keeps the user name and Sign out reachable at common window widths.

Sign out sits in the menu that the user's name opens.
"""

import pytest
from django.contrib.auth.models import Group

from accounts import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (800, 1024, 1280)


@pytest.fixture
def morgan(migration_data):
    """A Sales Manager with staff rights, who gets the longest menu."""
    user = UserFactory(username="morgan", first_name="Morgan", last_name="Lee", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.SALES_MANAGER))
    user.groups.add(Group.objects.get(name=roles.SALES_OPS))
    return user


@pytest.mark.parametrize("width", WIDTHS)
def test_sign_out_reachable_for_manager(page, login, live_server, morgan, width):
    login("morgan")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/accounts/")
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        page.locator("#main-nav.show").wait_for()
    page.locator(".portal-user-toggle").click()
    sign_out = page.get_by_role("button", name="Sign out")
    user_name = page.get_by_test_id("signed-in-user")
    sign_out.scroll_into_view_if_needed()
    box = sign_out.bounding_box()
    name_box = user_name.bounding_box()
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert sign_out.is_visible()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    assert name_box is not None
    assert name_box["x"] + name_box["width"] <= width
    assert page_width <= width
