"""Chromium loads the main pages under the Content Security Policy without a violation.

The session cookie carries the Secure flag (DEBUG is off in tests), and the live server is
plain HTTP on localhost, which Chromium treats as a secure context, so signing in works.
"""

import pytest
from django.conf import settings

from accounts import roles
from accounts.models import ResearchNote
from tests.factories import AccountFactory

from .conftest import PASSWORD, csp_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_data"),
]


@pytest.fixture
def account(sdr):
    account = AccountFactory(name="Globex", owner=sdr, description="Makes widgets")
    ResearchNote.objects.create(account=account, text="Raised a Series B", author=sdr)
    return account


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_login_sets_secure_cookie_and_signs_in(page, live_server, sdr, host):
    base_url = live_server.url.replace("localhost", host)
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", "sdr")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies[settings.SESSION_COOKIE_NAME]
    assert page.url == f"{base_url}/accounts/"
    assert page.text_content("[data-testid=signed-in-user]").strip().startswith("sdr")
    assert session["secure"] is settings.SESSION_COOKIE_SECURE
    assert session["httpOnly"] is True
    # Expires at browser close: a session cookie has no expiry date.
    assert session["expires"] == -1


def test_main_pages_have_no_csp_violation(page, live_server, sign_in, sdr, account):
    page.goto(f"{live_server.url}/login/")
    page.wait_for_load_state("networkidle")
    sign_in("sdr")
    for path in ("/accounts/", "/accounts/?tier=high", account.get_absolute_url()):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert csp_violations(page) == [], path
    assert page.text_content("h1").strip().startswith("Globex")


def test_htmx_interactions_have_no_csp_violation(page, live_server, sign_in, sdr, account):
    sign_in("sdr")
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.wait_for_load_state("networkidle")
    # htmx swaps in the edit form of a field; its indicator styles must come from portal.css.
    page.locator("[hx-get*='/fields/employees/edit/']").first.click()
    page.wait_for_selector("input[name=employees]")
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert csp_violations(page) == []


def test_other_pages_have_no_csp_violation(page, live_server, sign_in, make_user, account):
    make_user(roles.SALES_MANAGER, username="boss", is_staff=True, is_superuser=True)
    sign_in("boss")
    for path in (
        "/accounts/queue/",
        "/accounts/imports/",
        "/accounts/imports/new/",
        "/governance/dashboards/",
        "/governance/review/",
        "/governance/trail/",
        "/frameworks/",
        "/admin/",
        "/admin/accounts/account/",
        f"/admin/accounts/account/{account.pk}/change/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert csp_violations(page) == [], path


def test_inline_script_is_blocked(page, live_server, sign_in, sdr):
    # Checks that the listener records violations: an injected inline script must appear.
    sign_in("sdr")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran === undefined")
    assert any(entry.startswith("script-src") for entry in csp_violations(page))
