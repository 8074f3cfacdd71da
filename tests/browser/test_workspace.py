"""The SDR/AE workspace in Chromium: filters, inline edits, notes and the import wizard.

Celery runs tasks eagerly without a broker, so an import started in the browser runs
inside the live server's request and the progress bar reaches 100 % right away.

Set ICP_SCREENSHOTS_DIR to a folder such as docs/screenshots to also save screenshots of
the main pages on generated demo data. Without it, that test is skipped.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts import roles
from accounts.models import Account, ImportRun, ResearchNote, SegmentOverride, UserProfile
from segmentation.models import Framework
from tests.factories import AccountFactory, UserFactory
from tests.import_locks import import_in_progress

pytestmark = pytest.mark.django_db(transaction=True)

MARKER = "window.__icpPageMarker"


@pytest.fixture
def sam(migration_data):
    user = UserFactory(username="sam", first_name="Sam", last_name="Reyes")
    user.groups.add(Group.objects.get(name=roles.SDR))
    return user


@pytest.fixture
def accounts(sam):
    framework = Framework.objects.get(status="approved")
    common = {"owner": sam, "framework": framework}
    return {
        "high": AccountFactory(
            name="Harbor Analytics", tier="high", score=88, tag="SaaS – Mid-Market – US", **common
        ),
        "medium": AccountFactory(
            name="Ledger Works", tier="medium", score=61, tag="FinTech – SMB – US", **common
        ),
        "low": AccountFactory(
            name="Granite Retail", tier="low", score=22, tag="Retail – SMB – US", **common
        ),
    }


def mark_page(page) -> None:
    """Set a marker that a full page load would clear."""
    page.evaluate(f"{MARKER} = 'still here'")


def assert_not_reloaded(page) -> None:
    assert page.evaluate(f"{MARKER}") == "still here"


def test_filter_list_keeps_filter_in_url(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    mark_page(page)
    page.select_option("#id_tier", "high")
    page.wait_for_url(re.compile(r"tier=high"))
    page.wait_for_function(
        "document.querySelector('[data-testid=account-count]').textContent.trim() === '1'"
    )
    rows = page.locator("#account-results tbody tr")
    assert rows.count() == 1
    assert "Harbor Analytics" in rows.first.inner_text()
    expect(page).to_have_title("Accounts: High tier · ICP Portal")
    expect(page.locator("[data-testid=account-list-heading]")).to_have_text("Accounts: High tier")
    assert page.locator("h1").count() == 1
    assert_not_reloaded(page)
    page.reload()
    assert page.locator("#id_tier").input_value() == "high"
    assert page.locator("#account-results tbody tr").count() == 1


def test_back_restores_filter_form(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.select_option("#id_tier", "high")
    page.wait_for_url(re.compile(r"tier=high"))
    expect(page.locator("[data-testid=account-count]")).to_have_text("1")
    page.select_option("#id_tier", "low")
    page.wait_for_url(re.compile(r"tier=low"))
    expect(page.locator("#account-results tbody tr")).to_contain_text("Granite Retail")

    page.go_back()
    page.wait_for_url(re.compile(r"tier=high"))

    expect(page.locator("#account-results tbody tr")).to_contain_text("Harbor Analytics")
    expect(page.locator("#id_tier")).to_have_value("high")
    expect(page).to_have_title("Accounts: High tier · ICP Portal")
    expect(page.locator("[data-testid=account-list-heading]")).to_have_text("Accounts: High tier")


def test_bulk_dialog_returns_focus(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.check("[data-select-row] >> nth=0")
    page.select_option("#bulk_action", "export")
    page.focus("[data-bulk-submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#bulk-dialog")).to_be_focused()

    page.keyboard.press("Escape")
    page.wait_for_selector("#bulk-dialog", state="hidden")

    expect(page.locator("[data-bulk-submit]")).to_be_focused()


def test_edit_tag_inline_with_reason(page, login, live_server, accounts):
    account = accounts["medium"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    mark_page(page)
    page.click("[data-testid=edit-segment]")
    page.fill("#segment_tag", "Insurance – Mid-Market – US")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("#segment_reason-error")
    assert "Reason is empty" in page.inner_text("#segment_reason-error")
    assert Account.objects.get(pk=account.pk).tag == "FinTech – SMB – US"

    page.fill("#segment_reason", "Sells card payments to restaurants")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("[data-testid=segment-saved]")
    assert page.inner_text("[data-testid=account-tag]") == "Insurance – Mid-Market – US"
    assert_not_reloaded(page)
    override = SegmentOverride.objects.get(account=account)
    assert override.reason == "Sells card payments to restaurants"
    assert override.new_tag == "Insurance – Mid-Market – US"


EMOJI_REASON = "🚀" * 500


def test_tag_reason_takes_500_emoji(page, login, live_server, accounts):
    account = accounts["medium"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.click("[data-testid=edit-segment]")
    page.fill("#segment_tag", "Insurance – Mid-Market – US")
    # insert_text goes through the browser's text input, which a maxlength would cut.
    page.focus("#segment_reason")
    page.keyboard.insert_text(EMOJI_REASON)
    assert page.input_value("#segment_reason") == EMOJI_REASON
    counter = page.locator("#segment_reason-counter")
    expect(counter).to_have_text("500")
    assert "text-danger" not in (counter.get_attribute("class") or "")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("[data-testid=segment-saved]")
    assert SegmentOverride.objects.get(account=account).reason == EMOJI_REASON


def test_tag_reason_counter_counts_clusters(page, login, live_server, accounts):
    account = accounts["medium"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.click("[data-testid=edit-segment]")
    page.focus("#segment_reason")
    # A flag, a skin-tone emoji, a family emoji and an e with two combining accents.
    page.keyboard.insert_text("🇩🇪👍🏽👨‍👩‍👧‍👦e\u0301\u0302")

    expect(page.locator("#segment_reason-counter")).to_have_text("4")


def test_tag_reason_over_limit_rejected(page, login, live_server, accounts):
    account = accounts["medium"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.click("[data-testid=edit-segment]")
    page.fill("#segment_tag", "Insurance – Mid-Market – US")
    page.focus("#segment_reason")
    page.keyboard.insert_text(EMOJI_REASON + "🚀")
    counter = page.locator("#segment_reason-counter")
    expect(counter).to_have_text("501")
    assert "text-danger" in counter.get_attribute("class")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("#segment_reason-error")
    assert "Reason is 501 characters long" in page.inner_text("#segment_reason-error")
    assert not SegmentOverride.objects.filter(account=account).exists()


def test_tag_reason_line_break_counts_once(page, login, live_server, accounts):
    account = accounts["medium"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.click("[data-testid=edit-segment]")
    page.fill("#segment_tag", "Insurance – Mid-Market – US")
    page.focus("#segment_reason")
    page.keyboard.type("Sells insurance")
    page.keyboard.press("Enter")
    page.keyboard.type("Confirmed")
    expect(page.locator("#segment_reason-counter")).to_have_text("25")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("[data-testid=segment-saved]")
    assert SegmentOverride.objects.get(account=account).reason == "Sells insurance\nConfirmed"


def test_bulk_reason_takes_500_emoji(page, login, live_server, accounts):
    login("sam")
    page.goto(f"{live_server.url}/accounts/")
    page.check("[data-select-row] >> nth=0")
    page.select_option("#bulk_action", "tag")
    page.fill("#bulk_tag", "Insurance – Mid-Market – US")
    page.focus("#bulk_reason")
    page.keyboard.insert_text(EMOJI_REASON)
    assert page.input_value("#bulk_reason") == EMOJI_REASON
    expect(page.locator("#bulk_reason-counter")).to_have_text("500")
    page.click("[data-bulk-submit]")
    page.click("[data-testid=bulk-confirm]")
    page.wait_for_selector("[data-testid=bulk-done]")
    assert SegmentOverride.objects.get().reason == EMOJI_REASON
    expect(page.locator("#bulk-dialog .modal-footer .btn")).to_be_focused()


def test_edit_field_inline(page, login, live_server, accounts):
    account = accounts["high"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    mark_page(page)
    page.click("[data-testid=edit-employees]")
    page.fill("#edit_employees_employees", "a lot")
    page.click("#field-employees button[type=submit]")
    page.wait_for_selector("#edit_employees_employees-error")
    page.fill("#edit_employees_employees", "51-200")
    page.click("#field-employees button[type=submit]")
    page.wait_for_selector("[data-testid=field-saved]")
    assert "51–200" in page.inner_text("#field-employees")
    assert_not_reloaded(page)
    assert Account.objects.get(pk=account.pk).employee_raw == "51-200"


def test_add_note(page, login, live_server, accounts):
    account = accounts["high"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    mark_page(page)
    page.select_option("#note_kind", "funding")
    page.fill("#note_text", "Raised a $40M Series B")
    assert page.inner_text("[data-testid=note-counter]") == "22"
    page.fill("#note_source_url", "https://news.example/harbor")
    page.click("#account-notes button[type=submit]")
    page.wait_for_selector("[data-testid=notes-timeline] >> text=Raised a $40M Series B")
    link = page.locator("[data-testid=notes-timeline] a", has_text="Source")
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.input_value("#note_text") == ""
    # The note adds its buying signal, and the signals section reloads with it.
    page.wait_for_selector("#account-signals >> text=recent funding")
    assert "recent funding" in page.inner_text("[data-testid=note-signal-notice]")
    assert_not_reloaded(page)
    assert ResearchNote.objects.get(account=account).kind == "funding"


def test_note_counter_counts_emoji_once(page, login, live_server, accounts):
    account = accounts["high"]
    text = "🚀" * 300 + "\n" + "Launch"
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.fill("#note_text", text)
    assert page.input_value("#note_text") == text
    assert page.inner_text("[data-testid=note-counter]") == str(len(text))
    page.click("#account-notes button[type=submit]")
    page.wait_for_selector("[data-testid=notes-timeline] >> text=Launch")
    assert ResearchNote.objects.get(account=account).text == text


def test_note_over_limit_rejected(page, login, live_server, accounts):
    account = accounts["high"]
    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.fill("#note_text", "🚀" * 501)
    counter = page.locator("[data-testid=note-counter]")
    assert counter.inner_text() == "501"
    assert "text-danger" in counter.get_attribute("class")
    page.click("#account-notes button[type=submit]")
    page.wait_for_selector("#account-notes >> text=Note is 501 characters long")
    assert not ResearchNote.objects.filter(account=account).exists()


def test_import_shows_progress_and_summary(page, login, live_server, sam, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    export = tmp_path / "hubspot-export.csv"
    export.write_text(
        "Company name,Company Domain Name,Number of Employees,Country/Region\n"
        "Harbor Analytics,harbor.example,250,United States\n"
        ",,12,Germany\n"
        "Ledger Works,ledger.example,40,Germany\n",
        encoding="utf-8",
    )
    login("sam")
    page.goto(f"{live_server.url}/accounts/imports/new/")
    page.set_input_files("#id_file", str(export))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=detected-layout]")
    assert page.inner_text("[data-testid=detected-layout]") == "hubspot"
    assert page.inner_text("[data-testid=detected-rows]") == "3"

    page.click("text=Preview rows")
    page.wait_for_selector("[data-testid=preview]")
    assert page.locator("[data-testid=preview-row]").count() == 3
    assert "no company name" in page.inner_text("[data-testid=preview]")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=start-import]")
    page.wait_for_selector("[data-testid=import-summary]")
    progress = page.locator("[data-testid=import-progress]")
    assert progress.get_attribute("aria-valuenow") == "100"
    assert page.inner_text("[data-testid=import-status]") == "Succeeded"
    assert "Download the 1 rejected row" in page.inner_text("[data-testid=import-report]")
    assert Account.objects.filter(domain__in=["harbor.example", "ledger.example"]).count() == 2


def test_progress_bar_polls_until_finished(page, login, live_server, sam):
    run = ImportRun.objects.create(
        source="csv",
        file_name="big-export.csv",
        status=ImportRun.Status.RUNNING,
        total_rows=400,
        rows_read=120,
        created_by=sam,
    )
    login("sam")
    with import_in_progress(run):
        page.goto(f"{live_server.url}/accounts/imports/{run.pk}/")
        mark_page(page)
        assert page.get_attribute("[data-testid=import-progress]", "aria-valuenow") == "30"
        ImportRun.objects.filter(pk=run.pk).update(rows_read=300)
        page.wait_for_selector("[data-testid=import-progress][aria-valuenow='75']")
        ImportRun.objects.filter(pk=run.pk).update(
            rows_read=400, created=400, status=ImportRun.Status.SUCCEEDED
        )
    page.wait_for_selector("[data-testid=import-summary]")
    assert page.get_attribute("[data-testid=import-progress]", "aria-valuenow") == "100"
    assert_not_reloaded(page)


# Screenshots for the docs --------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("ICP_SCREENSHOTS_DIR"),
    reason="set ICP_SCREENSHOTS_DIR to save screenshots of the main pages",
)
def test_capture_screenshots(page, login, live_server, tmp_path, settings):
    from django.utils import timezone

    from accounts.sample_data import write_companies_csv
    from accounts.services import accounts_import
    from enrichment.models import Observation
    from enrichment.services import accounts_resegment, accounts_verify

    folder = Path(os.environ["ICP_SCREENSHOTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    settings.MEDIA_ROOT = tmp_path / "media"
    people = {}
    for username, role, first, last in (
        ("sam", roles.SDR, "Sam", "Reyes"),
        ("dana", roles.SDR, "Dana", "Okafor"),
        ("morgan", roles.SALES_MANAGER, "Morgan", "Lee"),
    ):
        people[username] = UserFactory(username=username, first_name=first, last_name=last)
        people[username].groups.add(Group.objects.get(name=role))
    for username in ("sam", "dana"):
        UserProfile.objects.create(user=people[username], manager=people["morgan"])

    source = write_companies_csv(tmp_path / "companies.csv", 400, seed=2026)
    accounts_import(path=source, source="demo", created_by=people["sam"])
    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    Account.objects.filter(id__in=ids[0::2]).update(owner=people["sam"])
    Account.objects.filter(id__in=ids[1::4]).update(owner=people["dana"])
    featured = (
        Account.objects.filter(owner=people["sam"]).exclude(tag="").order_by("-score").first()
    )
    ResearchNote.objects.create(
        account=featured,
        kind="funding",
        text="Closed a $25M Series B led by Northwind Ventures to expand into EMEA.",
        source_url="https://news.example/series-b",
        author=people["sam"],
    )
    ResearchNote.objects.create(
        account=featured,
        kind="hire",
        text="Hired a VP of Revenue Operations from a larger competitor.",
        status=ResearchNote.Status.PROPOSED,
        source_url="https://blog.example/new-vp",
    )

    # A second source: ZoomInfo agrees on the industry and Apollo disagrees on the size.
    industry = Observation.objects.get(account=featured, field="industry", source="demo")
    Observation.objects.create(
        account=featured,
        field="industry",
        value=industry.value,
        raw_value=industry.raw_value,
        source="zoominfo",
        observed_at=timezone.now(),
    )
    Observation.objects.create(
        account=featured,
        field="employees",
        value={"count": 4200, "min": 4200, "max": 4200, "approximate": False},
        raw_value="4,200",
        source="apollo",
        observed_at=timezone.now(),
    )
    accounts_resegment(accounts_verify(account_ids=[featured.pk]).resegment_ids)

    login("sam")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/accounts/?ordering=-score")
    page.check("[data-select-row] >> nth=0")
    page.check("[data-select-row] >> nth=1")
    page.select_option("#bulk_action", "tag")
    page.select_option("#bulk_tier", "medium")
    page.fill("#bulk_reason", "Seat counts below 1,000 after discovery")
    page.screenshot(path=str(folder / "account-list.png"))
    page.click("[data-bulk-submit]")
    page.wait_for_selector("[data-testid=bulk-question]")
    page.wait_for_timeout(400)
    page.screenshot(path=str(folder / "account-list-confirm.png"))
    page.goto(f"{live_server.url}{featured.get_absolute_url()}")
    page.screenshot(path=str(folder / "account-page.png"), full_page=True)
    page.click("[data-testid=edit-segment]")
    page.fill("#segment_tag", "SaaS – Enterprise – US")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("#segment_reason-error")
    page.screenshot(
        path=str(folder / "account-tag-edit.png"),
        clip={"x": 0, "y": 0, "width": 1440, "height": 420},
    )
    page.goto(f"{live_server.url}/accounts/queue/")
    page.screenshot(path=str(folder / "queue.png"), full_page=True)

    export = tmp_path / "hubspot-export.csv"
    export.write_text(
        "Company name;Company Domain Name;Number of Employees;Annual Revenue;Industry;"
        "Country/Region\n"
        "Harbor Analytics;harbor.example;250;12000000;Computer Software;United States\n"
        ";;50;;;Germany\n"
        "Ledger Works;ledger.example;about forty;EUR 4M;Financial Services;Germany\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/accounts/imports/new/")
    page.set_input_files("#id_file", str(export))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=detected-layout]")
    page.screenshot(path=str(folder / "import-mapping.png"), full_page=True)
    page.click("text=Preview rows")
    page.wait_for_selector("[data-testid=preview]")
    page.screenshot(path=str(folder / "import-preview.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=start-import]")
    page.wait_for_selector("[data-testid=import-summary]")
    page.screenshot(path=str(folder / "import-summary.png"), full_page=True)
