"""Keyboard focus on the account page's inline Edit and Resolve forms, in Chromium.

The forms replace the field row that opened them, so without help the focus falls back
to <body> and the next Tab skips the form.
"""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts import roles
from accounts.models import UserProfile
from enrichment.services import accounts_verify
from segmentation.models import Framework
from tests.browser.keyboard import press_enter
from tests.factories import AccountFactory, UserFactory
from tests.verification.conftest import location_value, observe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conflicting(migration_data):
    """An account of the manager's SDR whose sources disagree on the country."""
    manager = UserFactory(username="morgan", first_name="Morgan", last_name="Lee")
    manager.groups.add(Group.objects.get(name=roles.SALES_MANAGER))
    sdr = UserFactory(username="sam", first_name="Sam", last_name="Reyes")
    sdr.groups.add(Group.objects.get(name=roles.SDR))
    UserProfile.objects.update_or_create(user=sdr, defaults={"manager": manager})
    account = AccountFactory(
        name="Harbor Analytics",
        owner=sdr,
        framework=Framework.objects.get(status="approved"),
        industry_raw="Computer Software",
    )
    observe(account, "location", location_value("US"), "apollo")
    observe(account, "location", location_value("DE"), "zoominfo")
    accounts_verify(account_ids=[account.pk])
    account.refresh_from_db()
    assert account.field_status["country"]["status"] == "conflicting"
    return account


def open_account(page, login, live_server, account) -> None:
    login("morgan")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")


def test_resolve_form_takes_focus(page, login, live_server, conflicting):
    open_account(page, login, live_server, conflicting)
    resolve = page.locator("#field-location a", has_text="Resolve")
    resolve.focus()

    press_enter(page)

    form = page.locator("form#field-location")
    expect(form).to_be_visible()
    expect(form.locator("input[type=radio]").first).to_be_focused()
    page.keyboard.press("Tab")
    inside = "document.getElementById('field-location').contains(document.activeElement)"
    assert page.evaluate(inside)


def test_resolve_cancel_returns_focus(page, login, live_server, conflicting):
    open_account(page, login, live_server, conflicting)
    page.locator("#field-location a", has_text="Resolve").focus()
    press_enter(page)
    cancel = page.locator("form#field-location a", has_text="Cancel")
    expect(cancel).to_be_visible()
    cancel.focus()

    press_enter(page)

    expect(page.locator("div#field-location a", has_text="Resolve")).to_be_focused()


def test_edit_form_takes_and_returns_focus(page, login, live_server, conflicting):
    open_account(page, login, live_server, conflicting)
    page.locator("[data-testid=edit-industry]").focus()

    press_enter(page)

    field = page.locator("#edit_industry_industry_raw")
    expect(field).to_be_focused()
    page.locator("form#field-industry a", has_text="Cancel").focus()
    press_enter(page)
    expect(page.locator("[data-testid=edit-industry]")).to_be_focused()


def test_edit_save_returns_focus(page, login, live_server, conflicting):
    open_account(page, login, live_server, conflicting)
    page.locator("[data-testid=edit-industry]").focus()
    press_enter(page)
    field = page.locator("#edit_industry_industry_raw")
    expect(field).to_be_focused()

    field.fill("Fintech")
    press_enter(page)

    expect(page.locator("#field-industry [data-testid=field-saved]")).to_be_visible()
    expect(page.locator("[data-testid=edit-industry]")).to_be_focused()
    # The save reloads the page's other sections: let them finish before the database
    # is emptied for the next test.
    page.wait_for_load_state("networkidle")


def test_edit_error_focuses_invalid_input(page, login, live_server, conflicting):
    open_account(page, login, live_server, conflicting)
    page.locator("[data-testid=edit-industry]").focus()
    press_enter(page)
    field = page.locator("#edit_industry_industry_raw")
    expect(field).to_be_focused()

    field.fill("")
    page.locator("form#field-industry button[type=submit]").focus()
    press_enter(page)

    expect(page.locator("#edit_industry_industry_raw-error")).to_be_visible()
    expect(page.locator("#edit_industry_industry_raw")).to_be_focused()
