"""A manager reviews a rep's accounts in the browser: confirm, correct, see accuracy."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from accounts.models import Account, SegmentOverride, UserProfile
from audits.models import ReviewItem
from tests.browser.keyboard import HTMX_IDLE
from tests.factories import AccountFactory, UserFactory


@pytest.fixture
def review_team(transactional_db):
    manager_group, _ = Group.objects.get_or_create(name=roles.SALES_MANAGER)
    sdr_group, _ = Group.objects.get_or_create(name=roles.SDR)
    manager = UserFactory(username="reviewer", first_name="Morgan", last_name="Lee")
    manager.groups.add(manager_group)
    rep = UserFactory(username="rep", first_name="Sam", last_name="Reyes")
    rep.groups.add(sdr_group)
    UserProfile.objects.create(user=rep, manager=manager)
    for number in range(3):
        account = AccountFactory(name=f"Review Co {number}", owner=rep)
        Account.objects.filter(pk=account.pk).update(
            tag="SaaS – Mid-Market – US", tier="high", score=85, scored_at=timezone.now()
        )
        # The rep set the tag by hand, so a correction counts against the rep's accuracy.
        change = SegmentOverride.objects.create(
            account=account,
            kind=SegmentOverride.Kind.MANUAL_TAG,
            new_tag="SaaS – Mid-Market – US",
            reason="Tagged by hand",
            user=rep,
            rep=rep,
        )
        SegmentOverride.objects.filter(pk=change.pk).update(
            created_at=timezone.now() - timedelta(minutes=1)
        )
    return {"manager": manager, "rep": rep}


def test_manager_confirms_and_corrects(page, live_server, login, review_team):
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "2")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-card]")
    page.evaluate("window.reviewPageMarker = 'still here'")

    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#review-card:has-text('Account 2 of 2')")
    assert page.text_content("[data-testid=rep-accuracy]").strip() == "100%"

    page.keyboard.press("c")
    page.fill("input[name=tag]", "SaaS – SMB – US")
    page.select_option("select[name=tier]", "low")
    page.fill("input[name=reason]", "Only 40 employees after the discovery call")
    page.get_by_role("button", name="Save correction").click()
    page.wait_for_selector("[data-testid=review-progress]:has-text('2 of 2 reviewed')")

    assert page.text_content("[data-testid=rep-accuracy]").strip() == "50%"
    assert page.evaluate("window.reviewPageMarker") == "still here"
    decisions = sorted(ReviewItem.objects.values_list("decision", flat=True))
    correction = SegmentOverride.objects.get(kind="review_correction")
    assert decisions == ["confirmed", "corrected"]
    assert correction.rep == review_team["rep"]
    assert correction.reason == "Only 40 employees after the discovery call"
    assert correction.new_tier == "low"


def test_decision_message_cleared_on_next_card(page, live_server, login, review_team):
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "3")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-card]")
    page.wait_for_load_state("networkidle")
    confirmed_name = page.text_content("#review-account-name").strip()

    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#review-card:has-text('Account 2 of 3')")
    expect(page.locator("#review-message")).to_have_text(f"{confirmed_name}: confirmed.")
    # The Next button of a card that htmx has not settled yet does nothing when clicked.
    page.wait_for_function(HTMX_IDLE)
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#review-card:has-text('Account 3 of 3')")

    expect(page.locator("#review-message")).to_have_text("")
    page.wait_for_function(HTMX_IDLE)
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#review-card:has-text('Account 2 of 3')")
    expect(page.locator("#review-message")).to_have_text("")


def test_correction_shortcut_replaces_tag(page, live_server, login, review_team):
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "1")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-card]")
    # A card swapped in after the key press would lose the focus, and the "c" of the typed
    # text would then open the correction again.
    page.wait_for_load_state("networkidle")

    page.keyboard.press("c")
    page.keyboard.type("Fintech – SMB – US")

    assert page.input_value("input[name=tag]") == "Fintech – SMB – US"


def test_table_view_keeps_accuracy_beside_the_table(page, live_server, login, review_team):
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "2")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-card]")
    page.get_by_role("link", name="Table").click()
    page.wait_for_selector("[data-testid=review-row]")

    page.locator("[data-testid=review-row]").first.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("[data-testid=review-progress]:has-text('1 of 2 reviewed')")

    assert page.locator("table [data-testid=review-accuracy]").count() == 0
    assert page.locator("[data-testid=review-row] ~ tr:not([data-testid=review-row])").count() == 0
    assert page.text_content("[data-testid=rep-accuracy]").strip() == "100%"


def test_correction_reason_takes_500_emoji(page, live_server, login, review_team):
    reason = "🚀" * 500
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "1")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-card]")
    page.wait_for_load_state("networkidle")

    page.keyboard.press("c")
    page.select_option("select[name=tier]", "low")
    # insert_text goes through the browser's text input, which a maxlength would cut.
    page.focus("input[name=reason]")
    page.keyboard.insert_text(reason)
    assert page.input_value("input[name=reason]") == reason
    assert page.inner_text("[data-testid=correct-reason-counter]") == "500"
    page.get_by_role("button", name="Save correction").click()
    page.wait_for_selector("[data-testid=review-progress]:has-text('1 of 1 reviewed')")

    assert SegmentOverride.objects.get(kind="review_correction").reason == reason


def test_second_tab_correction_is_not_overwritten(page, live_server, login, review_team):
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "1")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-card]")
    page.wait_for_load_state("networkidle")
    # A second tab of the same session decides first.
    other_tab = page.context.new_page()
    other_tab.goto(page.url)
    other_tab.get_by_role("button", name="Confirm").click()
    other_tab.wait_for_selector("[data-testid=review-progress]:has-text('1 of 1 reviewed')")

    page.keyboard.press("c")
    page.select_option("select[name=tier]", "low")
    page.fill("input[name=reason]", "Only 40 employees")
    page.get_by_role("button", name="Save correction").click()
    page.wait_for_selector("[data-testid=review-error]")

    error = page.text_content("[data-testid=review-error]")
    assert "Morgan Lee confirmed Review Co" in error
    assert "after this page was loaded, so your decision was not saved" in error
    assert page.text_content("[data-testid=review-decision]").strip() == "Confirmed"
    assert page.input_value("input[name=reason]") == "Only 40 employees"
    assert ReviewItem.objects.get().decision == "confirmed"
    assert not SegmentOverride.objects.filter(kind="review_correction").exists()

    # Saving again, now that the page shows the confirmation, applies the correction.
    page.get_by_role("button", name="Save correction").click()
    page.wait_for_selector("[data-testid=review-decision]:has-text('Corrected')")
    assert SegmentOverride.objects.get(kind="review_correction").reason == "Only 40 employees"


def test_untagged_account_offers_correction_only(page, live_server, login, review_team):
    Account.objects.update(tag="", needs_enrichment=True, missing_fields=["industry"])
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "1")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-untagged-note]")
    page.wait_for_load_state("networkidle")

    # Enter confirms a tagged account, and must do nothing here.
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="Confirm").count() == 0
    assert ReviewItem.objects.get().decision == "pending"

    page.keyboard.press("c")
    page.keyboard.type("SaaS – SMB – US")
    page.fill("input[name=reason]", "Researched: a 40-person SaaS company")
    page.get_by_role("button", name="Save correction").click()
    page.wait_for_selector("[data-testid=review-decision]:has-text('Corrected')")

    assert page.text_content("[data-testid=rep-accuracy]").strip() == "0%"
    assert Account.objects.get(pk=ReviewItem.objects.get().account_id).tag == "SaaS – SMB – US"


def test_back_after_confirm_shows_decision(page, live_server, login, review_team):
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "3")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("[data-testid=review-card]")
    page.get_by_role("button", name="Next →").click()
    page.wait_for_selector("#review-card:has-text('Account 2 of 3')")
    page.get_by_role("button", name="← Previous").click()
    page.wait_for_selector("#review-card:has-text('Account 1 of 3')")

    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#review-card:has-text('Account 2 of 3')")
    expect(page).to_have_url(re.compile(r"\?position=2$"))
    page.go_back()
    page.wait_for_selector("#review-card:has-text('Account 1 of 3')")

    card = page.text_content("#review-card")
    assert "Not reviewed yet" not in card
    assert "Confirmed" in card


def test_back_after_first_confirm_shows_it(page, live_server, login, review_team):
    login("reviewer")
    page.goto(f"{live_server.url}/governance/review/")
    page.get_by_label("Sam Reyes").check()
    page.fill("input[name=sample_size]", "3")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_selector("#review-card:has-text('Account 1 of 3')")
    # The page's script names the position once the document has loaded.
    expect(page).to_have_url(re.compile(r"\?position=1$"))

    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#review-card:has-text('Account 2 of 3')")
    page.go_back()
    page.wait_for_selector("#review-card:has-text('Account 1 of 3')")

    assert "Confirmed" in page.text_content("#review-card")
