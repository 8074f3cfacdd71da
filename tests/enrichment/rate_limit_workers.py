"""Worker functions that child processes run in the rate-limit tests.

They live in their own module because spawned processes import the target by name.
"""

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
) -> None:
    """Try ``attempts`` times to take a slot, send one request per slot and report the count."""
    limiter = RedisRateLimiter(redis_url)
    start_event.wait(timeout=30)
    sent = 0
    for _ in range(attempts):
        try:
            limiter.acquire(key, limit, window_seconds, max_wait_seconds)
        except RateLimitReached:
            continue
        requests.get(target_url, timeout=5)
        sent += 1
    results.put(sent)
