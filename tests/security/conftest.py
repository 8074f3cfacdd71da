"""Fixtures of the security tests: two sales teams, and Chromium that records CSP violations.

Team A (manager_a, sdr_a) and team B (manager_b, sdr_b) each own accounts. The tests act
as a member of team A against team B's objects.
"""

import pytest

from accounts import roles
from accounts.models import UserProfile
from tests.reliability.data import reload_migration_data

PASSWORD = "correct-horse-battery"

# Runs before any page script, so it records every violation of the page's policy. The
# event is the standard SecurityPolicyViolationEvent; each entry is "directive: blocked".
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective}: ${event.blockedURI}`);
});
"""


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash test passwords with MD5: the default PBKDF2 costs most of each test's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Keep uploads and rejected-row reports under the test's temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def migration_data(transactional_db):
    """Load the role groups, industries and approved framework that migrations create."""
    reload_migration_data()


@pytest.fixture
def teams(make_user):
    """Two teams of a Sales Manager and an SDR each."""
    manager_a = make_user(roles.SALES_MANAGER, username="manager-a")
    sdr_a = make_user(roles.SDR, username="sdr-a")
    manager_b = make_user(roles.SALES_MANAGER, username="manager-b")
    sdr_b = make_user(roles.SDR, username="sdr-b")
    UserProfile.objects.create(user=sdr_a, manager=manager_a)
    UserProfile.objects.create(user=sdr_b, manager=manager_b)
    return {"manager_a": manager_a, "sdr_a": sdr_a, "manager_b": manager_b, "sdr_b": sdr_b}


@pytest.fixture(scope="session")
def browser(chromium):
    return chromium


@pytest.fixture
def page(browser):
    """A page that records CSP violations, console errors and JavaScript dialogs.

    ``page.csp_console`` contains the console messages about the Content Security Policy,
    ``page.dialogs`` the message of every alert, confirm or prompt (each is dismissed).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    browser_page = context.new_page()
    browser_page.csp_console = []
    browser_page.dialogs = []

    def on_console(message):
        if "Content Security Policy" in message.text:
            browser_page.csp_console.append(message.text)

    def on_dialog(dialog):
        browser_page.dialogs.append(dialog.message)
        dialog.dismiss()

    browser_page.on("console", on_console)
    browser_page.on("dialog", on_dialog)
    yield browser_page
    context.close()


@pytest.fixture
def sign_in(page, live_server):
    """Return a function that signs a user in through the login form."""

    def submit(username: str, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return submit


def csp_violations(page) -> list[str]:
    """Return the violations the page's listener and console recorded."""
    return [*page.evaluate("window.__cspViolations || []"), *page.csp_console]
