"""Account page forms opened as pages of their own, such as a tag-edit link opened in a
new tab, in Chromium.

The page loads htmx, but a save must still return to the account page with its message,
as it does without JavaScript.
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from accounts import roles
from segmentation.models import Framework
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tagged(migration_data):
    """A tagged account of an SDR."""
    sdr = UserFactory(username="sam", first_name="Sam", last_name="Reyes")
    sdr.groups.add(Group.objects.get(name=roles.SDR))
    return AccountFactory(
        name="Harbor Analytics",
        owner=sdr,
        framework=Framework.objects.get(status="approved"),
        country="US",
        tag="SaaS – SMB – US",
        tier="medium",
        score=55,
    )


def test_tag_edit_page_save_returns_to_account(page, login, live_server, tagged):
    login("sam")
    page.goto(f"{live_server.url}{reverse('accounts:account-segment-edit', args=[tagged.pk])}")
    page.fill("#segment_tag", "FinTech – SMB – US")
    page.fill("#segment_reason", "Payments product")

    page.locator("form#account-segment button[type=submit]").click()

    expect(page).to_have_url(re.compile(re.escape(tagged.get_absolute_url()) + "$"))
    expect(page.locator(".messages")).to_contain_text("Tag and tier saved.")
    expect(page.locator("[data-testid=account-tag]")).to_have_text("FinTech – SMB – US")
    expect(page.locator("#firmographics-heading")).to_be_visible()
