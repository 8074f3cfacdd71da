import uuid

import pytest
from django.core.cache import cache

from enrichment.providers import ratelimit

from .fake_server import FakeServer

REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def fake_server():
    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def isolated_enrichment(settings, monkeypatch):
    """Give each test an empty cache, its own in-process limiter and no Redis limiter."""
    cache.clear()
    monkeypatch.setattr(ratelimit, "_in_process_limiter", ratelimit.InProcessRateLimiter())
    settings.ENRICHMENT_RATE_LIMIT_REDIS_URL = ""
    settings.CELERY_BROKER_URL = ""
    settings.ENRICHMENT_PROVIDERS = {}
    yield
    cache.clear()


@pytest.fixture
def configure_provider(settings, fake_server):
    """Return a function that points a provider's settings entry at the fake server."""

    def configure(name: str, **options):
        entry = {
            "base_url": fake_server.url,
            "api_key": "test-key",
            "timeout": [1, 2],
            "max_attempts": 3,
            "backoff_seconds": 0.01,
        }
        entry.update(options)
        settings.ENRICHMENT_PROVIDERS = {**settings.ENRICHMENT_PROVIDERS, name: entry}
        return entry

    return configure


@pytest.fixture
def redis_url():
    """Return the Redis URL of the test database 14, or skip when Redis is not running."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(
            f"Redis is not reachable at {REDIS_TEST_URL} ({error}): start it with "
            "scripts/start-services.sh"
        )
    yield REDIS_TEST_URL
    for key in client.scan_iter(match=ratelimit.RedisRateLimiter.key_prefix + "test-*"):
        client.delete(key)
    client.close()


@pytest.fixture
def unique_name():
    """Return a rate-limit key that no other test run uses."""
    return f"test-{uuid.uuid4().hex[:12]}"
