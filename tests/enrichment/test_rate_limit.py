import multiprocessing
import threading
import time

import pytest

from enrichment.http import ProviderClient
from enrichment.providers import ProviderRateLimited
from enrichment.providers.base import ProviderUnavailable
from enrichment.providers.ratelimit import (
    InProcessRateLimiter,
    RateLimitReached,
    RedisRateLimiter,
    get_rate_limiter,
    redact_url,
)

from .fake_server import FakeResponse
from .rate_limit_workers import take_slots_and_request


def test_redact_url_hides_password():
    assert redact_url("redis://:hunter2@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_url("redis://127.0.0.1:6379/14") == "redis://127.0.0.1:6379/14"


def test_no_redis_uses_in_process_limiter(settings):
    assert isinstance(get_rate_limiter(), InProcessRateLimiter)


def test_redis_broker_url_selects_redis(settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url

    assert isinstance(get_rate_limiter(), RedisRateLimiter)


def test_in_process_limit_exact_across_threads(unique_name):
    limiter = InProcessRateLimiter()
    granted = []
    start = threading.Barrier(4)

    def worker():
        start.wait()
        for _ in range(5):
            try:
                limiter.acquire(unique_name, 7, 60, max_wait_seconds=0)
            except RateLimitReached:
                continue
            granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == 7


def test_limiter_waits_for_slot(unique_name):
    limiter = InProcessRateLimiter()
    limiter.acquire(unique_name, 1, 0.3, max_wait_seconds=0)

    waited = limiter.acquire(unique_name, 1, 0.3, max_wait_seconds=1)

    assert waited >= 0.25


def test_limiter_reports_next_slot(unique_name):
    limiter = InProcessRateLimiter()
    limiter.acquire(unique_name, 1, 60, max_wait_seconds=0)

    with pytest.raises(RateLimitReached) as raised:
        limiter.acquire(unique_name, 1, 60, max_wait_seconds=5)

    assert 55 < raised.value.retry_after <= 60


def test_slot_counts_from_record_sent(unique_name):
    limiter = InProcessRateLimiter()
    slot = limiter.take(unique_name, 1, 0.3, max_wait_seconds=0)
    time.sleep(0.2)
    slot.record_sent()

    wait = limiter.try_acquire(unique_name, 1, 0.3)

    assert wait > 0.25


def test_unreported_slot_held_for_hold(unique_name):
    limiter = InProcessRateLimiter()
    limiter.take(unique_name, 1, 0.1, max_wait_seconds=0, hold_seconds=30)
    time.sleep(0.2)

    with pytest.raises(RateLimitReached) as raised:
        limiter.acquire(unique_name, 1, 0.1, max_wait_seconds=0)

    # A slot in flight may end at any moment, so the wait reported is one window.
    # The clock readings add float rounding of a few nanoseconds.
    assert 0.05 < raised.value.retry_after <= 0.1 + 1e-6


def test_client_counts_slot_from_response(
    monkeypatch, unique_name, configure_provider, fake_server
):
    monkeypatch.setattr("enrichment.http.RATE_LIMIT_WINDOW_SECONDS", 1.0)
    configure_provider(unique_name, rate_limit_per_minute=1, max_rate_limit_wait_seconds=5)
    fake_server.route("GET", "/slow", FakeResponse(json={}, delay=0.4))
    client = ProviderClient(unique_name)

    client.request_json("GET", "/slow", domain="example.com")
    client.request_json("GET", "/slow", domain="example.com")

    first, second = fake_server.timestamps("/slow")
    # The first slot counts from its response, 0.4 s after its arrival.
    assert second - first >= 1.35


def run_worker_processes(
    redis_url, key, limit, window, attempts, max_wait, target_url, count=2, send_delays=()
):
    context = multiprocessing.get_context("spawn")
    start_event = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=take_slots_and_request,
            args=(
                redis_url,
                key,
                limit,
                window,
                attempts,
                max_wait,
                target_url,
                start_event,
                results,
                send_delays,
            ),
        )
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    # Give both interpreters time to import before they compete for slots.
    time.sleep(1.5)
    start_event.set()
    sent = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return sent


def test_redis_limit_exact_across_processes(redis_url, unique_name, fake_server):
    fake_server.route("GET", "/ping", FakeResponse(json={}))

    sent = run_worker_processes(
        redis_url,
        unique_name,
        limit=5,
        window=60,
        attempts=6,
        max_wait=0,
        target_url=fake_server.url + "/ping",
    )

    assert sum(sent) == 5
    assert fake_server.count("/ping") == 5


def test_redis_sliding_window_across_processes(redis_url, unique_name, fake_server):
    fake_server.route("GET", "/ping", FakeResponse(json={}))

    sent = run_worker_processes(
        redis_url,
        unique_name,
        limit=3,
        window=1.0,
        attempts=4,
        max_wait=10,
        target_url=fake_server.url + "/ping",
    )

    arrivals = sorted(fake_server.timestamps("/ping"))
    assert sum(sent) == 8
    assert len(arrivals) == 8
    # Any 4 consecutive requests span at least one window. The tolerance covers the
    # difference in request latency between the first and the fourth request.
    for first, fourth in zip(arrivals, arrivals[3:], strict=False):
        assert fourth - first >= 0.9
    assert arrivals[-1] - arrivals[0] >= 1.9


def test_redis_delayed_sends_stay_in_limit(redis_url, unique_name, fake_server):
    """The first request of each worker is sent 0.4 s after its slot was taken. Counting
    slots when taken would let the next two requests arrive 0.6 s after those."""
    fake_server.route("GET", "/ping", FakeResponse(json={}))

    sent = run_worker_processes(
        redis_url,
        unique_name,
        limit=2,
        window=1.0,
        attempts=3,
        max_wait=10,
        target_url=fake_server.url + "/ping",
        send_delays=(0.4,),
    )

    arrivals = sorted(fake_server.timestamps("/ping"))
    assert sum(sent) == 6
    assert len(arrivals) == 6
    # At most 2 arrivals in any 1 s window: the third after any one is 1 s or more later.
    # The tolerance covers the clocks of Redis and the server reading 1 ms apart.
    for first, third in zip(arrivals, arrivals[2:], strict=False):
        assert third - first >= 0.998


def test_client_limit_exact_across_threads_with_redis(
    settings, redis_url, unique_name, configure_provider, fake_server
):
    settings.ENRICHMENT_RATE_LIMIT_REDIS_URL = redis_url
    configure_provider(unique_name, rate_limit_per_minute=4, max_rate_limit_wait_seconds=0)
    fake_server.route("GET", "/x", FakeResponse(json={}))
    outcomes = []
    start = threading.Barrier(2)

    def worker():
        client = ProviderClient(unique_name)
        start.wait()
        for _ in range(3):
            try:
                client.request_json("GET", "/x", domain="example.com")
                outcomes.append("sent")
            except ProviderRateLimited:
                outcomes.append("limited")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("sent") == 4
    assert outcomes.count("limited") == 2
    assert fake_server.count("/x") == 4


def test_redis_down_raises_unavailable(settings, configure_provider, fake_server):
    settings.ENRICHMENT_RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:1/0"
    configure_provider("demo", rate_limit_per_minute=10)
    fake_server.route("GET", "/x", FakeResponse(json={}))

    with pytest.raises(ProviderUnavailable) as raised:
        ProviderClient("demo").request_json("GET", "/x", domain="example.com")

    assert "ENRICHMENT_RATE_LIMIT_REDIS_URL" in str(raised.value)
    assert fake_server.count() == 0
