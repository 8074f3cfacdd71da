"""Worker functions that child processes run in the rate-limit tests.

They live in their own module because spawned processes import the target by name.
"""

import time

import requests

from enrichment.providers.ratelimit import RateLimitReached, RedisRateLimiter


def take_slots_and_request(
    redis_url: str,
    key: str,
    limit: int,
    window_seconds: float,
    attempts: int,
    max_wait_seconds: float,
    target_url: str,
    start_event,
    results,
    send_delays: tuple[float, ...] = (),
) -> None:
    """Try ``attempts`` times to take a slot, send one request per slot and report the count.

    ``send_delays[i]`` seconds pass between taking the i-th slot and sending its request,
    as on a loaded core. Each slot is reported with ``record_sent`` after its response.
    """
    limiter = RedisRateLimiter(redis_url)
    start_event.wait(timeout=30)
    sent = 0
    for attempt in range(attempts):
        try:
            slot = limiter.take(key, limit, window_seconds, max_wait_seconds, hold_seconds=5)
        except RateLimitReached:
            continue
        if attempt < len(send_delays):
            time.sleep(send_delays[attempt])
        requests.get(target_url, timeout=5)
        slot.record_sent()
        sent += 1
    results.put(sent)
