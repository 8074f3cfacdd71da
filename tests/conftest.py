import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import kombu.pools
import pytest
import redis
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, settings

from accounts import roles
from icp_portal.celery import app as celery_app

from .factories import UserFactory

# Debian's Chromium package, or the path in ICP_CHROMIUM_PATH. The tests never download one.
CHROMIUM_PATH = Path(os.environ.get("ICP_CHROMIUM_PATH", "/usr/bin/chromium"))
# Tests run as root on a closed network: no sandbox, and no background connections that
# the network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def broker_test_url() -> str:
    """Return the Redis URL that broker tests queue tasks in: one database per test process.

    The tests that queue tasks without a worker empty their database, so two pytest-xdist
    workers must not share one. Worker gwN takes the database of ICP_TEST_BROKER_URL
    (default 15) minus 3 × N, which keeps the first four workers off databases 13 and 14
    that the reliability and enrichment tests use.
    """
    parts = urlsplit(os.environ.get("ICP_TEST_BROKER_URL", "redis://127.0.0.1:6379/15"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    database = (int(parts.path.lstrip("/") or 0) - 3 * index) % 16
    return urlunsplit(parts._replace(path=f"/{database}"))


# Property tests check results, not speed: a busy machine must not fail them on time.
settings.register_profile("untimed", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("untimed")


def pytest_collection_modifyitems(items):
    """Restore data-migration rows (role groups, taxonomy, default framework) for tests that
    commit to the database.

    Transactional tests, including every live-server browser test, end with a flush that
    deletes those rows, and serialized rollback reloads them before each such test. Every
    transactional test needs it, those marked ``django_db(transaction=True)`` too: the
    flush after a test without it recreates the content types, and reloading them before
    the next serialized test then fails with a duplicate key.
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        if _commits(item, names) and "django_db_serialized_rollback" not in names:
            names.append("django_db_serialized_rollback")


def _commits(item, names) -> bool:
    if {"live_server", "transactional_db"} & set(names):
        return True
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return False
    return bool(marker.kwargs.get("transaction", marker.args[0] if marker.args else False))


@pytest.fixture
def make_user(db):
    """Return a function that creates a user holding the given sales role."""

    def create(role: str | None = None, **fields):
        user = UserFactory(**fields)
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return create


@pytest.fixture
def sdr(make_user):
    return make_user(roles.SDR, username="sdr")


@pytest.fixture
def manager(make_user):
    return make_user(roles.SALES_MANAGER, username="manager")


@pytest.fixture
def sales_ops(make_user):
    return make_user(roles.SALES_OPS, username="salesops")


@pytest.fixture
def marketing(make_user):
    return make_user(roles.MARKETING, username="marketing")


@pytest.fixture
def leadership(make_user):
    return make_user(roles.SALES_LEADERSHIP, username="leadership")


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash test passwords with MD5: PBKDF2 costs most of a test's time and proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clear_cache():
    """Start every test with an empty cache: API throttles and cached lookups live there, and
    user ids repeat across tests because each test's rows are rolled back."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def chromium():
    """Chromium through Playwright's sync API, shared by every browser test of the process.

    Playwright's sync API runs an event loop in this thread and refuses to start a second
    one while it runs, so the browser tests of every folder share this one instance. The
    ORM calls of the tests themselves stay synchronous.
    """
    if not CHROMIUM_PATH.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM_PATH}: install Debian's chromium package")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def broker():
    """Queue Celery tasks in this process's broker test database instead of running them.

    Yields a Redis client of that database, which no worker reads. Celery opens its
    connection and producer pools on first use with the broker_url of that moment, so the
    test starts without pools and closes the ones it opened. Kombu keeps the pools of each
    broker URL in a registry, which kombu.pools.reset() clears too: otherwise the next test
    with this fixture gets the closed pools.
    """
    url = broker_test_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {url} ({error})")
    client.flushdb()
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app._pool = celery_app.amqp._producer_pool = None
    celery_app.conf.update(broker_url=url, task_always_eager=False)
    try:
        yield client
    finally:
        kombu.pools.reset()
        celery_app._pool = celery_app.amqp._producer_pool = None
        celery_app.conf.update(broker_url=saved[0], task_always_eager=saved[1])
        client.flushdb()


@pytest.fixture
def broker_channel(broker):
    """A kombu channel of the broker fixture's database, to take tasks as a worker would."""
    with celery_app.connection_for_write() as connection:
        yield connection.default_channel
