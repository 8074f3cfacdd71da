"""Page layout in Chromium on a phone-sized window."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from audits.models import AuditRun, Violation
from tests.factories import AccountFactory, UserFactory

from .test_workspace import fast_password_hashing, migration_data, sam  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 375


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
