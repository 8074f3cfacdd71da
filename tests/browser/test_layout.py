"""Layout on a phone-sized window, keyboard focus and text contrast, in Chromium."""

import re
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import ImportRun
from audits.models import AuditRun, Violation
from tests.factories import AccountFactory, UserFactory

from .test_workspace import (  # noqa: F401
    accounts,
    sam,
)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 375
# WCAG 2.2 success criterion 1.4.11: a focus indicator needs 3:1 against its background.
MIN_FOCUS_CONTRAST = 3.0
# WCAG 2.2 success criterion 1.4.3 (level AA): normal-size text needs 4.5:1.
MIN_TEXT_CONTRAST = 4.5


def relative_luminance(css_color: str) -> float:
    """Return the WCAG relative luminance of an ``rgb()`` or ``rgba()`` colour."""
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_color)[:3])
    channels = []
    for value in (red, green, blue):
        scaled = value / 255
        if scaled <= 0.03928:
            channels.append(scaled / 12.92)
        else:
            channels.append(((scaled + 0.055) / 1.055) ** 2.4)
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.fixture
def audit_month(sam):  # noqa: F811
    """Create a finished audit of November 2025 with one violation by sam."""
    month = date(2025, 11, 1)
    run = AuditRun.objects.create(month=month, status="succeeded", started_at=timezone.now())
    Violation.objects.create(
        audit_run=run,
        account=AccountFactory(name="Harbor Analytics", owner=sam),
        kind="unverified_data",
        rule_code="unverified_data.not_verified",
        detail="Tagged while verification is not yet verified.",
        severity="minor",
        responsible=sam,
    )
    return month


def test_audit_report_fits_phone_width(page, login, live_server, audit_month):
    ops = UserFactory(username="ops")
    ops.groups.add(Group.objects.get(name=roles.SALES_OPS))
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    login("ops")

    report_url = reverse("audits:audit-report", args=[f"{audit_month:%Y-%m}"])
    page.goto(f"{live_server.url}{report_url}")

    assert page.locator("[data-testid=violations-table] tbody tr").count() == 1
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE_WIDTH, "the page scrolls sideways; only the table should"


def test_navbar_focus_ring_visible(page, login, live_server, sam):  # noqa: F811
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    navbar_color = page.locator(".portal-navbar").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )

    navbar = page.locator(".portal-navbar")
    controls = {
        "ICP Portal": navbar.get_by_text("ICP Portal", exact=True),
        "Accounts": navbar.get_by_text("Accounts", exact=True),
        "user menu": navbar.get_by_role("button", name="Sam Reyes"),
    }

    for name, control in controls.items():
        control.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        # Bootstrap animates the box-shadow of buttons for 0.15 s.
        page.wait_for_timeout(300)
        outline_style = control.evaluate("e => getComputedStyle(e).outlineStyle")
        outline_color = control.evaluate("e => getComputedStyle(e).outlineColor")
        assert outline_style == "solid", f"{name} shows no outline when focused"
        ratio = contrast_ratio(outline_color, navbar_color)
        assert ratio >= MIN_FOCUS_CONTRAST, f"{name} focus outline contrast is {ratio:.2f}:1"


def test_user_menu_focus_ring_visible(page, login, live_server, sam):  # noqa: F811
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.locator(".portal-user-toggle").focus()
    page.keyboard.press("Enter")
    menu = page.get_by_test_id("user-menu")
    menu_color = menu.evaluate("e => getComputedStyle(e).backgroundColor")
    sign_out = menu.get_by_role("button", name="Sign out")

    # The arrow keys move through the open menu: API tokens first, then Sign out.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")

    assert sign_out.evaluate("e => e === document.activeElement")
    outline_style = sign_out.evaluate("e => getComputedStyle(e).outlineStyle")
    outline_color = sign_out.evaluate("e => getComputedStyle(e).outlineColor")
    assert outline_style == "solid", "Sign out shows no outline when focused"
    ratio = contrast_ratio(outline_color, menu_color)
    assert ratio >= MIN_FOCUS_CONTRAST, f"Sign out focus outline contrast is {ratio:.2f}:1"


def test_list_links_readable_on_background(page, login, live_server, accounts):  # noqa: F811
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    controls = {
        "export link": "[data-testid=export-all]",
        "page size link": ".page-size a",
        "Clear button": "#account-filters a.btn-outline-secondary",
    }

    for name, selector in controls.items():
        color = page.locator(selector).first.evaluate("e => getComputedStyle(e).color")
        ratio = contrast_ratio(color, background)
        assert ratio >= MIN_TEXT_CONTRAST, f"{name} text contrast is {ratio:.2f}:1"


def test_long_file_name_fits_phone_width(page, login, live_server, sam):  # noqa: F811
    run = ImportRun.objects.create(
        file_name="hubspot_crm_exports_all_companies_2026_12_05.csv",
        file_path="unused.csv",
        source="hubspot",
        status=ImportRun.Status.SUCCEEDED,
        created_by=sam,
    )
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    login("sam")

    page.goto(f"{live_server.url}{reverse('accounts:import-detail', args=[run.pk])}")

    assert "hubspot_crm_exports" in page.locator("h1").inner_text()
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE_WIDTH, "a long file name makes the page scroll sideways"


# Widths of each option's text and of the room for it inside the select, which is the
# select's width less its padding (Bootstrap's right padding holds the arrow).
OPTION_FIT_SCRIPT = """(select) => {
  const style = getComputedStyle(select);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room =
    select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return Array.from(select.options).map((option) => ({
    text: option.text,
    width: context.measureText(option.text).width,
    room: room,
  }));
}"""


@pytest.mark.parametrize(
    ("role", "action", "select_ids"),
    [
        (roles.SALES_OPS, "assign", ["bulk_action", "bulk_owner"]),
        (roles.SDR, "tag", ["bulk_action", "bulk_tier"]),
    ],
)
def test_bulk_bar_selects_fit_800_px(
    page,
    login,
    live_server,
    accounts,  # noqa: F811
    role,
    action,
    select_ids,
):
    user = UserFactory(username="bulk-user", first_name="Morgan", last_name="Lee-Okafor")
    user.groups.add(Group.objects.get(name=role))
    page.set_viewport_size({"width": 800, "height": 900})
    login("bulk-user")
    page.goto(f"{live_server.url}{reverse('accounts:account-list')}")

    page.select_option("#bulk_action", action)

    for select_id in select_ids:
        select = page.locator(f"#{select_id}")
        assert select.is_visible(), select_id
        for option in select.evaluate(OPTION_FIT_SCRIPT):
            assert option["width"] <= option["room"], (
                f"#{select_id} cuts “{option['text']}”: {option['width']:.0f} px of text "
                f"in {option['room']:.0f} px"
            )
