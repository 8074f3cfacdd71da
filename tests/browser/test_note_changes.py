"""Edit a research note and delete it after the confirmation, in Chromium."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts import roles
from accounts.models import ResearchNote
from tests.browser.keyboard import HTMX_IDLE
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def note(migration_data) -> ResearchNote:
    """A published note of the SDR who owns the account."""
    sdr = UserFactory(username="sam", first_name="Sam", last_name="Reyes")
    sdr.groups.add(Group.objects.get(name=roles.SDR))
    account = AccountFactory(name="Harbor Analytics", owner=sdr, buying_signals=[])
    return ResearchNote.objects.create(
        account=account, kind="other", text="Hirring a VP of Sales.", author=sdr
    )


def test_note_edited_then_deleted(page, login, live_server, note):
    login("sam")
    page.goto(f"{live_server.url}{note.account.get_absolute_url()}")
    item = page.locator(f"#note-{note.pk}")
    expect(item).to_contain_text("Hirring a VP of Sales.")

    item.get_by_role("link", name=f"Edit note {note.pk}").click()
    form = item.locator("[data-testid=note-edit-form]")
    expect(form).to_be_visible()
    kind = form.locator("select")
    expect(kind).to_be_focused()
    kind.select_option("hire")
    form.locator("textarea").fill("Hiring a VP of Sales.")
    form.get_by_role("button", name="Save note").click()

    expect(page.locator("#account-notes")).to_contain_text("Note saved.")
    expect(item).to_contain_text("Hiring a VP of Sales.")
    expect(item.locator(".note-kind")).to_have_text("+ Hire")
    page.wait_for_function(HTMX_IDLE)

    item.get_by_role("link", name=f"Delete note {note.pk}").click()
    confirmation = item.locator("[data-testid=note-delete-confirm]")
    expect(confirmation).to_contain_text("Delete this hire note?")
    expect(confirmation).to_contain_text("Hiring a VP of Sales.")
    expect(confirmation).to_contain_text("also removes its buying signal \u201chiring\u201d")
    assert ResearchNote.objects.filter(pk=note.pk).exists()
    confirmation.get_by_role("button", name="Delete note").click()

    expect(page.locator("#account-notes")).to_contain_text("Note deleted.")
    expect(page.locator("#account-notes")).to_contain_text(
        "Buying signal \u201chiring\u201d removed from the account"
    )
    expect(page.locator(f"#note-{note.pk}")).to_have_count(0)
    assert not ResearchNote.objects.filter(pk=note.pk).exists()
