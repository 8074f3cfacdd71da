"""Playwright fixtures that drive the system Chromium against Django's live server.

The tests never download a browser: they use ``/usr/bin/chromium`` (Debian's package) or
the path in ``ICP_CHROMIUM_PATH``, and skip with the reason when it is missing. A failing
test saves a full-page screenshot under ``test-artifacts/``.
"""

import contextlib
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group

from accounts import roles
from tests.browser.keyboard import HTMX_IDLE

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
DEFAULT_PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(autouse=True)
def migration_data(transactional_db) -> None:
    """Load the rows of the data migrations again when a live-server test emptied the tables.

    Every live-server test flushes the database when it ends, which also deletes the role
    groups, the industry taxonomy and the default framework that migrations created.
    Passwords are hashed fast by the suite's own ``fast_password_hasher`` fixture.
    """
    if Group.objects.filter(name=roles.SDR).exists():
        return
    for module, function in (
        ("accounts.migrations.0003_role_groups", "create_role_groups"),
        ("segmentation.migrations.0002_industry_taxonomy", "load_taxonomy"),
        ("segmentation.migrations.0003_default_framework", "create_default_framework"),
    ):
        getattr(import_module(module), function)(django_apps, None)


@pytest.fixture(scope="session")
def browser(chromium):
    return chromium


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    browser_page = context.new_page()
    yield browser_page
    # An edit makes htmx reload the page's sections after the test's last check. Their
    # requests must finish first, because the live server would otherwise still read rows
    # while the test's database flush truncates the tables, and PostgreSQL then reports a
    # deadlock. A page stuck in a request fails the test by its own checks, so a timeout
    # here is not reported again.
    from playwright.sync_api import Error as PlaywrightError

    with contextlib.suppress(PlaywrightError):
        browser_page.wait_for_function(HTMX_IDLE, timeout=5_000)
    call_report = getattr(request.node, "report_call", None)
    if call_report is not None and call_report.failed:
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        screenshot = ARTIFACTS_DIR / f"{request.node.name}.png"
        browser_page.screenshot(path=str(screenshot), full_page=True)
    context.close()


@pytest.fixture
def login(page, live_server):
    """Return a function that signs a user in through the login form."""

    def sign_in(username: str, password: str = DEFAULT_PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return sign_in
