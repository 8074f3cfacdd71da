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


def run_worker_processes(redis_url, key, limit, window, attempts, max_wait, target_url, count=2):
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
