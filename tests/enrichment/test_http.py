import time
from datetime import UTC, datetime

import pytest

from enrichment.http import (
    ProviderClient,
    backoff_delay,
    get_provider_config,
    parse_retry_after,
)
from enrichment.providers import ProviderNotConfigured
from enrichment.providers.base import ProviderUnavailable, ResponseTooLarge

from .fake_server import FakeResponse


def test_config_missing_names_setting():
    with pytest.raises(ProviderNotConfigured) as raised:
        get_provider_config("apollo")

    assert "settings.ENRICHMENT_PROVIDERS" in str(raised.value)
    assert '"apollo"' in str(raised.value)


def test_config_defaults(settings):
    settings.ENRICHMENT_PROVIDERS = {"apollo": {"api_key": "k"}}

    config = get_provider_config("apollo", "https://api.apollo.io")

    assert config.base_url == "https://api.apollo.io"
    assert config.timeout == (5.0, 20.0)
    assert config.max_attempts == 4
    assert config.rate_limit_per_minute is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("timeout", "slow"),
        ("timeout", [5]),
        ("timeout", 0),
        ("rate_limit_per_minute", 0),
        ("rate_limit_per_minute", 2.5),
        ("max_attempts", 0),
        ("total_timeout", 0),
        ("base_url", "ftp://api.example.com"),
    ],
)
def test_config_invalid_value_named(settings, key, value):
    settings.ENRICHMENT_PROVIDERS = {"apollo": {"api_key": "k", key: value}}

    with pytest.raises(ProviderNotConfigured) as raised:
        get_provider_config("apollo", "https://api.apollo.io")

    assert f'ENRICHMENT_PROVIDERS["apollo"]["{key}"]' in str(raised.value)
    assert repr(value) in str(raised.value)


def test_cache_seconds_invalid(settings, configure_provider, fake_server):
    configure_provider("demo")
    settings.ENRICHMENT_CACHE_SECONDS = "week"
    fake_server.route("GET", "/x", FakeResponse(json={}))

    with pytest.raises(ProviderNotConfigured) as raised:
        ProviderClient("demo").request_json("GET", "/x", domain="example.com", use_cache=True)

    assert "ENRICHMENT_CACHE_SECONDS = 'week'" in str(raised.value)


def test_slow_body_stops_at_total_timeout(configure_provider, fake_server):
    configure_provider("demo", timeout=[1, 2], total_timeout=1, max_attempts=1)
    # 100 bytes at one byte per 0.2 s: every read is within the read timeout of 2 s.
    slow = FakeResponse(body=b"{" + b" " * 98 + b"}", chunk_size=1, chunk_delay=0.2)
    fake_server.route("GET", "/x", slow)
    client = ProviderClient("demo")

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as raised:
        client.request_json("GET", "/x", domain="example.com", use_cache=True)
    elapsed = time.monotonic() - started

    message = str(raised.value)
    assert elapsed < 3
    assert "example.com" in message
    assert "took longer than the limit of 1 seconds" in message
    assert 'ENRICHMENT_PROVIDERS["demo"]["total_timeout"]' in message
    assert client.cached_response("GET", "/x", domain="example.com") is None


@pytest.mark.parametrize("send_content_length", [True, False], ids=["declared", "undeclared"])
def test_oversized_body_rejected_uncached(
    settings, configure_provider, fake_server, send_content_length
):
    configure_provider("demo", max_attempts=3)
    settings.ENRICHMENT_PROVIDER_MAX_BYTES = 1000
    big = FakeResponse(
        json={"organization": {"name": "x" * 2000}}, send_content_length=send_content_length
    )
    fake_server.route("GET", "/x", big)
    client = ProviderClient("demo")

    with pytest.raises(ResponseTooLarge) as raised:
        client.request_json("GET", "/x", domain="example.com", use_cache=True)

    message = str(raised.value)
    assert message.startswith("demo lookup for example.com failed")
    assert "the limit of 1,000 bytes (ENRICHMENT_PROVIDER_MAX_BYTES)" in message
    assert fake_server.count("/x") == 1
    assert client.cached_response("GET", "/x", domain="example.com") is None


def test_body_at_size_limit_is_read(settings, configure_provider, fake_server):
    configure_provider("demo")
    body = b'{"name": "' + b"x" * 88 + b'"}'
    settings.ENRICHMENT_PROVIDER_MAX_BYTES = len(body)
    fake_server.route("GET", "/x", FakeResponse(body=body, send_content_length=False))

    response = ProviderClient("demo").request_json("GET", "/x", domain="example.com")

    assert response.data == {"name": "x" * 88}


def test_max_bytes_invalid(settings, configure_provider, fake_server):
    configure_provider("demo")
    settings.ENRICHMENT_PROVIDER_MAX_BYTES = "5 MB"
    fake_server.route("GET", "/x", FakeResponse(json={}))

    with pytest.raises(ProviderNotConfigured) as raised:
        ProviderClient("demo").request_json("GET", "/x", domain="example.com")

    assert "ENRICHMENT_PROVIDER_MAX_BYTES = '5 MB' is invalid" in str(raised.value)


def test_retry_after_seconds():
    assert parse_retry_after({"Retry-After": "7"}) == 7.0


def test_retry_after_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    wait = parse_retry_after({"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"}, now=now)

    assert wait == 30.0


def test_retry_after_past_date_is_zero():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after({"Retry-After": "Thu, 01 Jan 2026 11:00:00 GMT"}, now=now) == 0.0


def test_retry_after_reset_epoch():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    wait = parse_retry_after({"X-RateLimit-Reset": str(int(now.timestamp()) + 12)}, now=now)

    assert wait == 12.0


def test_retry_after_missing_or_garbage():
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None


def test_backoff_grows_and_is_capped():
    for attempt, (low, high) in {1: (0.5, 1.0), 2: (1.0, 2.0), 3: (2.0, 4.0)}.items():
        delay = backoff_delay(attempt, base_seconds=1.0, max_seconds=60.0)
        assert low <= delay <= high
    assert backoff_delay(20, base_seconds=1.0, max_seconds=8.0) <= 8.0


def test_backoff_is_jittered():
    delays = {backoff_delay(3, base_seconds=1.0, max_seconds=60.0) for _ in range(20)}

    assert len(delays) > 1


def test_5xx_retry_waits_with_backoff(configure_provider, fake_server):
    configure_provider("demo", backoff_seconds=0.2, max_attempts=2)
    fake_server.route("GET", "/x", [FakeResponse(status=502), FakeResponse(json={"ok": True})])

    response = ProviderClient("demo").request_json("GET", "/x", domain="example.com")

    first, second = fake_server.timestamps("/x")
    assert response.data == {"ok": True}
    assert second - first >= 0.1


def test_connection_refused_raises_unavailable(configure_provider, fake_server):
    configure_provider("demo", base_url="http://127.0.0.1:9", max_attempts=2)

    with pytest.raises(ProviderUnavailable) as raised:
        ProviderClient("demo").request_json("GET", "/x", domain="example.com")

    assert "connection" in str(raised.value)


def test_error_status_returned_to_adapter(configure_provider, fake_server):
    configure_provider("demo")
    fake_server.route("GET", "/x", FakeResponse(status=404, body="<html>missing</html>"))

    response = ProviderClient("demo").request_json("GET", "/x", domain="example.com")

    assert response.status == 404
    assert response.data is None
    assert response.text == "<html>missing</html>"


def test_cached_response_reports_age(configure_provider, fake_server):
    configure_provider("demo")
    fake_server.route("GET", "/x", FakeResponse(json={"n": 1}))
    client = ProviderClient("demo")

    first = client.request_json("GET", "/x", domain="example.com", params={"q": 1}, use_cache=True)
    time.sleep(0.05)
    second = client.request_json("GET", "/x", domain="example.com", params={"q": 1}, use_cache=True)
    other = client.request_json("GET", "/x", domain="example.com", params={"q": 2}, use_cache=True)

    assert fake_server.count("/x") == 2
    assert second.from_cache is True
    assert second.fetched_at == first.fetched_at
    assert second.age.total_seconds() >= 0.05
    assert other.from_cache is False
