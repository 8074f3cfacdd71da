"""The account list's sorting, paging and filters by keyboard and with Back, in Chromium.

Sorting, paging and filtering replace the results table through htmx. The control that
the user pressed must keep the focus, and each change must add one history entry.
"""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts import roles
from segmentation.models import Framework
from tests.browser.keyboard import press_enter
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Rows per page of the paging tests: 30 accounts make two pages.
PAGE_SIZE = 25


@pytest.fixture
def sam(migration_data):
    user = UserFactory(username="sam", first_name="Sam", last_name="Reyes")
    user.groups.add(Group.objects.get(name=roles.SDR))
    return user


@pytest.fixture
def accounts(sam):
    framework = Framework.objects.get(status="approved")
    common = {"owner": sam, "framework": framework}
    AccountFactory(
        name="Harbor Analytics", tier="high", score=88, tag="SaaS – Mid-Market – US", **common
    )
    AccountFactory(name="Ledger Works", tier="medium", score=61, tag="FinTech – SMB – US", **common)
    for number in range(28):
        AccountFactory(
            name=f"Granite Retail {number:02}",
            tier="low",
            score=20,
            tag="Retail – SMB – US",
            **common,
        )


def sort_link(page, label: str):
    return page.locator("#account-results th a.sort-link", has_text=label)


def header_cell(page, label: str):
    return page.locator("#account-results th", has=page.locator("a.sort-link", has_text=label))


def test_sort_by_keyboard_keeps_focus(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    sort_link(page, "Score").focus()

    press_enter(page)
    page.wait_for_url(re.compile(r"ordering=-score"))

    expect(header_cell(page, "Score")).to_have_attribute("aria-sort", "descending")
    expect(sort_link(page, "Score")).to_be_focused()

    press_enter(page)
    page.wait_for_url(re.compile(r"ordering=score"))

    expect(header_cell(page, "Score")).to_have_attribute("aria-sort", "ascending")
    expect(sort_link(page, "Score")).to_be_focused()
    expect(header_cell(page, "Name")).to_have_attribute("aria-sort", "none")


def test_next_page_by_keyboard_keeps_focus(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/?page_size={PAGE_SIZE}")
    next_link = page.locator("#account-results nav [rel=next]")
    next_link.focus()

    press_enter(page)
    page.wait_for_url(re.compile(r"page=2"))

    # The last page has no Next link, so its disabled Next item takes the focus.
    expect(page.locator("#page-next")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#account-results nav [rel=prev]")).to_be_focused()

    press_enter(page)
    page.wait_for_url(re.compile(r"page=1"))

    expect(page.locator("#page-previous")).to_be_focused()


def test_apply_by_keyboard_keeps_focus(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.fill("#id_q", "Harbor")
    apply = page.locator("#account-filters button[type=submit]")
    apply.focus()

    press_enter(page)
    page.wait_for_url(re.compile(r"q=Harbor"))

    expect(page.locator("[data-testid=account-count]")).to_have_text("1")
    expect(apply).to_be_focused()


def test_back_after_apply_returns_once(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.fill("#id_q", "Harbor")
    page.click("#account-filters button[type=submit]")
    page.wait_for_url(re.compile(r"q=Harbor"))
    expect(page.locator("[data-testid=account-count]")).to_have_text("1")

    page.go_back()

    page.wait_for_url(f"{live_server.url}/accounts/")
    expect(page.locator("[data-testid=account-count]")).to_have_text("30")
    expect(page.locator("#id_q")).to_have_value("")


def test_back_after_select_and_apply_returns_once(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.select_option("#id_tier", "high")
    page.wait_for_url(re.compile(r"tier=high"))
    expect(page.locator("[data-testid=account-count]")).to_have_text("1")
    # Apply after a select that already applied itself requests the list that is shown.
    page.click("#account-filters button[type=submit]")
    expect(page.locator("#results-loading")).not_to_have_class(re.compile("htmx-request"))

    page.go_back()

    page.wait_for_url(f"{live_server.url}/accounts/")
    expect(page.locator("[data-testid=account-count]")).to_have_text("30")
    expect(page.locator("#id_tier")).to_have_value("")


def test_back_after_enter_in_search_returns_once(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.fill("#id_q", "Ledger")

    page.press("#id_q", "Enter")
    page.wait_for_url(re.compile(r"q=Ledger"))
    expect(page.locator("[data-testid=account-count]")).to_have_text("1")

    page.go_back()

    page.wait_for_url(f"{live_server.url}/accounts/")
    expect(page.locator("[data-testid=account-count]")).to_have_text("30")


def test_tag_part_filters_list(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    suggestions = page.locator("#id_tag_contains-suggestions option")
    expect(suggestions).to_have_count(3)

    page.fill("#id_tag_contains", "mid-market")
    page.press("#id_tag_contains", "Enter")
    page.wait_for_url(re.compile(r"tag_contains=mid-market"))

    expect(page.locator("[data-testid=account-count]")).to_have_text("1")
    expect(page.locator("#account-results tbody tr")).to_contain_text("Harbor Analytics")
