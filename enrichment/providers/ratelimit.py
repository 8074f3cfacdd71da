"""Sliding-window rate limits per provider, kept in Redis or in the process.

``get_rate_limiter`` returns the Redis limiter when ``ENRICHMENT_RATE_LIMIT_REDIS_URL``, or
a ``redis://`` ``CELERY_BROKER_URL``, is set. All processes that use the same Redis server
then share each provider's limit. Without Redis, each process keeps its own limit.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings


class RateLimitReached(Exception):
    """No slot is free within the allowed wait. ``retry_after`` is in seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limit reached, next slot in {retry_after:.2f}s")


# NOTE: a slot is counted when it is taken, not when the request reaches the provider, so
# a delayed request can land in the provider's next window: two processes at 400 a minute
# sent 402 within one 60 s window (benchmarks/enrich_rate.py). A margin of about a second
# on the window would close it.
class SlidingWindowLimiter:
    """Allow at most ``limit`` slots per key in any ``window_seconds`` long interval.

    Subclasses implement ``try_acquire``, which takes a slot and returns 0, or returns
    the seconds until the oldest slot in the window expires.
    """

    def try_acquire(self, key: str, limit: int, window_seconds: float) -> float:
        raise NotImplementedError

    def acquire(
        self,
        key: str,
        limit: int,
        window_seconds: float,
        max_wait_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> float:
        """Take a slot, waiting up to ``max_wait_seconds``, and return the seconds waited.

        Raises RateLimitReached when the next free slot is further away than the wait
        left, so the caller never sleeps longer than ``max_wait_seconds`` in total.
        """
        started = time.monotonic()
        while True:
            wait = self.try_acquire(key, limit, window_seconds)
            if wait <= 0:
                return time.monotonic() - started
            waited = time.monotonic() - started
            if waited + wait > max_wait_seconds:
                raise RateLimitReached(wait)
            # Up to 10 ms of jitter, so waiting processes do not all retry at the same instant.
            sleep(wait + random.uniform(0, 0.01))


class InProcessRateLimiter(SlidingWindowLimiter):
    """Sliding-window log kept in this process, so it is exact across its threads only."""

    def __init__(self) -> None:
        self._logs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, key: str, limit: int, window_seconds: float) -> float:
        now = time.monotonic()
        with self._lock:
            log = self._logs.setdefault(key, deque())
            while log and log[0] <= now - window_seconds:
                log.popleft()
            if len(log) < limit:
                log.append(now)
                return 0.0
            return max(log[0] + window_seconds - now, 0.001)


class RateLimiterConnectionError(Exception):
    """Redis failed while taking a rate-limit slot."""

    def __init__(self, url: str, error: Exception) -> None:
        self.url = url
        self.error = error
        super().__init__(f"Redis at {redact_url(url)} failed: {error}")


# Runs atomically in Redis, so two processes can never both take the last slot. The clock
# is the Redis server's, so the workers' clocks need not agree.
# KEYS[1]: the sorted set of slot times in ms. ARGV: limit, window in ms, unique member.
_SLIDING_WINDOW_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RedisRateLimiter(SlidingWindowLimiter):
    """Sliding-window log in Redis, shared by every process that uses the same server."""

    key_prefix = "enrichment:ratelimit:"

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self._redis.register_script(_SLIDING_WINDOW_SCRIPT)

    def try_acquire(self, key: str, limit: int, window_seconds: float) -> float:
        try:
            wait_ms = self._script(
                keys=[self.key_prefix + key],
                args=[limit, int(window_seconds * 1000), uuid.uuid4().hex],
            )
        except redis.RedisError as error:
            raise RateLimiterConnectionError(self.url, error) from error
        return int(wait_ms) / 1000


_in_process_limiter = InProcessRateLimiter()
_redis_limiters: dict[str, RedisRateLimiter] = {}
_redis_limiters_lock = threading.Lock()


def rate_limit_redis_url() -> str:
    """Return the Redis URL for shared rate limits, or "" to keep them in the process."""
    url = getattr(settings, "ENRICHMENT_RATE_LIMIT_REDIS_URL", "") or ""
    if url:
        return url
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if broker.startswith(("redis://", "rediss://", "unix://")):
        return broker
    return ""


def get_rate_limiter() -> SlidingWindowLimiter:
    """Return the Redis limiter when a Redis URL is configured, else the in-process one."""
    url = rate_limit_redis_url()
    if not url:
        return _in_process_limiter
    with _redis_limiters_lock:
        limiter = _redis_limiters.get(url)
        if limiter is None:
            limiter = RedisRateLimiter(url)
            _redis_limiters[url] = limiter
        return limiter


def redact_url(url: str) -> str:
    """Return the URL with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
