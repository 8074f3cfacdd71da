"""The History section of the account page in Chromium."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from audits.baseline import BASELINE_TITLE

from .test_workspace import accounts, sam  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_first_change_shows_baseline(page, login, live_server, accounts):  # noqa: F811
    account = accounts["high"]
    # As an import leaves it: no history rows, then re-scored a day after its creation.
    Account.history.filter(id=account.pk).delete()
    created = timezone.now() - timedelta(days=2)
    Account.objects.filter(pk=account.pk).update(
        created_at=created, updated_at=created + timedelta(days=1)
    )
    before = timezone.now().replace(microsecond=0)

    login("sam")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.click("[data-testid=edit-segment]")
    page.fill("#segment_tag", "Education – Mid-Market – US")
    page.fill("#segment_reason", "Sells analytics, not generic SaaS")
    page.click("#account-segment button[type=submit]")
    page.wait_for_selector("[data-testid=segment-saved]")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")

    history = page.locator("[data-testid=history]")
    assert "Account created" not in history.inner_text()
    baseline = history.locator("li", has_text=BASELINE_TITLE)
    assert baseline.count() == 1
    assert "Import" not in baseline.inner_text()
    shown_at = datetime.fromisoformat(baseline.locator("time").get_attribute("datetime"))
    assert shown_at >= before
