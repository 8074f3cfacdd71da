"""The audit trail and dashboard links in Chromium.

Edits made in the browser must show on the trail with the user, channel and values, and
a dashboard link must open an account list whose count equals the chart's.
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from audits.models import ReviewItem, ReviewSession
from segmentation.models import Framework
from tests.factories import AccountFactory, UserFactory

from .test_workspace import accounts, sam  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

# Bootstrap's success colour, which the dashboard gives verified accounts.
SUCCESS_GREEN = "#198754"


@pytest.fixture
def ops(migration_data):
    user = UserFactory(username="ops", first_name="Olu", last_name="Ops")
    user.groups.add(Group.objects.get(name=roles.SALES_OPS))
    return user


def trail_rows(page) -> list[str]:
    return [row.inner_text() for row in page.locator("[data-testid=trail-entry]").all()]


def test_trail_shows_browser_edits(page, login, live_server, accounts, ops):  # noqa: F811
    account = accounts["high"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.click("[data-testid=edit-employees]")
    page.fill("#edit_employees_employees", "1200")
    page.click("#field-employees button[type=submit]")
    page.wait_for_selector("[data-testid=field-saved]")

    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.click("[data-testid=edit-segment]")
    page.fill("#segment_tag", "Education – Mid-Market – US")
    page.fill("#segment_reason", "Sells analytics, not generic SaaS")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("[data-testid=segment-saved]")

    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.select_option("#note_kind", "hire")
    page.fill("#note_text", "Hired a head of data")
    page.click("#account-notes button[type=submit]")
    page.wait_for_selector("[data-testid=notes-timeline] >> text=Hired a head of data")

    page.context.clear_cookies()
    login("ops")
    page.goto(f"{live_server.url}{reverse('audits:trail')}?account={account.pk}")
    rows = trail_rows(page)
    field_edit = [row for row in rows if "employee count" in row and "1200" in row]
    tag_edit = [row for row in rows if "tag override" in row]
    note = [row for row in rows if "Hired a head of data" in row and "Research note" in row]
    assert len(field_edit) == 1, rows
    assert "Sam Reyes" in field_edit[0]
    assert "Page" in field_edit[0]
    assert "500" in field_edit[0]
    assert len(tag_edit) == 1, rows
    assert "Sam Reyes" in tag_edit[0]
    assert "Education – Mid-Market – US" in tag_edit[0]
    assert len(note) == 1, rows
    assert "Sam Reyes" in note[0]
    assert "Page" in note[0]

    with page.expect_download() as download_info:
        page.click("text=Download CSV")
    exported = download_info.value.path().read_text(encoding="utf-8")
    assert "employee_count" not in exported
    # The user column contains the login name, and the last column the full name.
    assert re.search(
        r",sam,Page,Account,Changed,.*,employee count,500,1200,.*,Sam Reyes\r?$",
        exported,
        re.MULTILINE,
    )
    assert "Hired a head of data" in exported


def test_dashboard_link_opens_matching_list(page, login, live_server, ops):
    framework = Framework.objects.get(status="approved")
    for number in range(3):
        AccountFactory(
            name=f"No size {number}",
            framework=framework,
            employee_count=None,
            employee_min=None,
            employee_max=None,
        )
    AccountFactory(name="Sized", framework=framework)
    login("ops")
    page.goto(f"{live_server.url}{reverse('audits:dashboard')}")
    chart = page.locator("[data-testid=chart-completeness]")
    chart.locator("summary", has_text="Values").click()
    row = chart.locator("tr", has_text="Missing company size")
    chart_count = row.locator("td").inner_text().strip()
    row.locator("a").click()
    page.wait_for_url(re.compile(r"missing_field=size"))
    assert chart_count == "3"
    assert page.inner_text("[data-testid=account-count]").strip() == chart_count
    assert page.locator("[data-testid=data-quality-filters]").get_attribute("open") is not None
    assert page.locator("#id_missing_field").input_value() == "size"


def test_verification_donut_colours(page, login, live_server, ops):
    framework = Framework.objects.get(status="approved")
    for status in ("verified", "unverified", "conflicting"):
        AccountFactory(name=f"Status {status}", framework=framework, verification_status=status)
    login("ops")
    page.goto(f"{live_server.url}{reverse('audits:dashboard')}")
    page.wait_for_function(
        "() => Chart.getChart(document.querySelector('[data-chart=verification]'))"
    )
    legend = page.evaluate(
        """() => Chart.getChart(document.querySelector('[data-chart=verification]'))
            .legend.legendItems.map((item) => [item.text, item.fillStyle])"""
    )
    colours = dict(legend)
    assert colours["Verified"] == SUCCESS_GREEN
    assert colours["Not fully verified"] != SUCCESS_GREEN
    assert colours["Conflicting sources"] != SUCCESS_GREEN
    assert colours["Not fully verified"] != colours["Conflicting sources"]


def test_accuracy_chart_one_month_visible(page, login, live_server, ops, accounts):  # noqa: F811
    manager = UserFactory(username="manager")
    manager.groups.add(Group.objects.get(name=roles.SALES_MANAGER))
    today = timezone.localdate()
    session = ReviewSession.objects.create(
        manager=manager, period_start=today, period_end=today, sample_size=1, seed=1
    )
    ReviewItem.objects.create(
        session=session,
        position=1,
        account=accounts["high"],
        rep=accounts["high"].owner,
        decision=ReviewItem.Decision.CONFIRMED,
        decided_at=timezone.now(),
    )
    login("ops")
    page.goto(f"{live_server.url}{reverse('audits:dashboard')}")
    page.wait_for_function("() => Chart.getChart(document.querySelector('[data-chart=accuracy]'))")

    position = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.querySelector('[data-chart=accuracy]'));
            const point = chart.getDatasetMeta(0).data[0];
            return {x: point.x, left: chart.chartArea.left, right: chart.chartArea.right};
        }"""
    )
    middle = (position["left"] + position["right"]) / 2
    assert position["x"] > position["left"] + 10, "the only point sits on the value axis"
    assert abs(position["x"] - middle) < 10


def test_accuracy_chart_draws_framework_corrections(
    page,
    login,
    live_server,
    ops,
    accounts,  # noqa: F811
):
    manager = UserFactory(username="manager")
    manager.groups.add(Group.objects.get(name=roles.SALES_MANAGER))
    today = timezone.localdate()
    session = ReviewSession.objects.create(
        manager=manager, period_start=today, period_end=today, sample_size=1, seed=1
    )
    # No person changed the account's tag, so the correction is the framework's miss.
    ReviewItem.objects.create(
        session=session,
        position=1,
        account=accounts["high"],
        rep=accounts["high"].owner,
        decision=ReviewItem.Decision.CORRECTED,
        decided_at=timezone.now(),
    )
    login("ops")
    page.goto(f"{live_server.url}{reverse('audits:dashboard')}")
    page.wait_for_function("() => Chart.getChart(document.querySelector('[data-chart=accuracy]'))")

    drawn = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.querySelector('[data-chart=accuracy]'));
            const bars = chart.getDatasetMeta(1);
            return {
                legend: chart.legend.legendItems.map((item) => item.text),
                type: bars.type,
                axis: bars.yAxisID,
                top: bars.data[0].y,
                zero: chart.scales.count.getPixelForValue(0),
                one: chart.scales.count.getPixelForValue(1),
            };
        }"""
    )
    assert drawn["legend"] == ["Confirmed of reviewed (%)", "Framework tags corrected"]
    assert drawn["type"] == "bar"
    assert drawn["axis"] == "count"
    assert drawn["top"] == pytest.approx(drawn["one"], abs=1)
    assert drawn["top"] < drawn["zero"] - 10, "the bar of one correction has no height"

    page.locator("canvas[data-chart=accuracy]").focus()
    page.keyboard.press("ArrowRight")
    status = page.locator("[data-chart-status=accuracy]")
    # The month's one decision corrected a framework tag, so its accuracy is 0%.
    expect(status).to_have_text(
        f"{today:%Y-%m} · Confirmed of reviewed (%): 0%. Press Enter to open the list."
    )
    page.keyboard.press("ArrowRight")
    expect(status).to_have_text(
        f"{today:%Y-%m} · Framework tags corrected: 1. Press Enter to open the list."
    )


def test_dashboard_chart_opens_by_keyboard(page, login, live_server, ops):
    framework = Framework.objects.get(status="approved")
    AccountFactory(name="Mapped", framework=framework, country="US", geography="US")
    AccountFactory(name="Mapped too", framework=framework, country="US", geography="US")
    AccountFactory(name="No country", framework=framework, country="", geography="")
    login("ops")
    page.goto(f"{live_server.url}{reverse('audits:dashboard')}")
    hint = page.inner_text("[data-testid=chart-hint]")
    assert "Tab to a chart" in hint
    assert "arrow keys" in hint
    assert "Enter" in hint
    page.wait_for_function("() => Chart.getChart(document.querySelector('[data-chart=geography]'))")
    canvas = page.locator("canvas[data-chart=geography]")
    assert canvas.get_attribute("tabindex") == "0"

    # Reach the chart with Tab from the top of the page, as a keyboard user would.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.chart") == "geography":
            break
    expect(canvas).to_be_focused()
    page.keyboard.press("ArrowRight")
    status = page.locator("[data-chart-status=geography]")
    expect(status).to_have_text("US: 2. Press Enter to open the list.")
    page.keyboard.press("ArrowRight")
    expect(status).to_have_text("No geography: 1. Press Enter to open the list.")
    active = page.evaluate(
        """() => Chart.getChart(document.querySelector('[data-chart=geography]'))
            .getActiveElements().map((element) => element.index)"""
    )
    assert active == [1]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"geography=none"))
    assert page.inner_text("[data-testid=account-count]").strip() == "1"
    assert "No country" in page.inner_text("#account-results tbody")


def test_unlinked_chart_not_focusable(page, login, live_server, accounts):  # noqa: F811
    manager = UserFactory(username="manager")
    manager.groups.add(Group.objects.get(name=roles.SALES_MANAGER))
    today = timezone.localdate()
    session = ReviewSession.objects.create(
        manager=manager, period_start=today, period_end=today, sample_size=1, seed=1
    )
    ReviewItem.objects.create(
        session=session,
        position=1,
        account=accounts["high"],
        rep=accounts["high"].owner,
        decision=ReviewItem.Decision.CONFIRMED,
        decided_at=timezone.now(),
    )
    # The dashboard shows an SDR review accuracy without links to the review pages.
    login("sam")
    page.goto(f"{live_server.url}{reverse('audits:dashboard')}")
    page.wait_for_function("() => Chart.getChart(document.querySelector('[data-chart=accuracy]'))")
    accuracy = page.locator("canvas[data-chart=accuracy]")
    tier = page.locator("canvas[data-chart=tier]")
    assert accuracy.get_attribute("tabindex") is None
    assert accuracy.get_attribute("role") == "img"
    assert tier.get_attribute("tabindex") == "0"
    assert tier.get_attribute("role") == "application"
