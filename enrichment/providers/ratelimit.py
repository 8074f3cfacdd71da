"""Sliding-window rate limits per provider, kept in Redis or in the process.

``get_rate_limiter`` returns the Redis limiter when ``ENRICHMENT_RATE_LIMIT_REDIS_URL``, or
a ``redis://`` ``CELERY_BROKER_URL``, is set. All processes that use the same Redis server
then share each provider's limit. Without Redis, each process keeps its own limit.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


class RateLimitReached(Exception):
    """No slot is free within the allowed wait. ``retry_after`` is in seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limit reached, next slot in {retry_after:.2f}s")


@dataclass
class Slot:
    """A slot taken from a limiter, to be reported with ``record_sent`` once the request ends.

    ``waited`` is the seconds spent waiting for it.
    """

    limiter: SlidingWindowLimiter
    key: str
    slot_id: str
    waited: float

    def record_sent(self) -> None:
        """Count the slot from now, the end of its request, which is after its arrival."""
        self.limiter.record_sent(self.key, self.slot_id)


class SlidingWindowLimiter:
    """Allow at most ``limit`` requests per key to arrive in any ``window_seconds`` interval.

    A slot counts from the time its request ends, not from the time it was taken, because
    a request can reach the provider later than its slot was taken (a loaded core,
    connection setup). So ``take`` holds a slot as in flight until ``Slot.record_sent``
    moves its time to the end of the request. A slot whose request never reports (the
    process died) counts from the time it was taken plus ``hold_seconds``, which should be
    the longest time a request can take.

    Subclasses implement ``try_take``, which takes a slot and returns 0, or returns the
    seconds until the oldest slot in the window expires, and ``record_sent``.
    """

    def try_take(
        self, key: str, limit: int, window_seconds: float, slot_id: str, hold_seconds: float
    ) -> float:
        raise NotImplementedError

    def record_sent(self, key: str, slot_id: str) -> None:
        raise NotImplementedError

    def try_acquire(self, key: str, limit: int, window_seconds: float) -> float:
        """Take a slot that counts from now, or return the seconds until one is free."""
        return self.try_take(key, limit, window_seconds, uuid.uuid4().hex, 0.0)

    def take(
        self,
        key: str,
        limit: int,
        window_seconds: float,
        max_wait_seconds: float,
        hold_seconds: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Slot:
        """Take a slot, waiting up to ``max_wait_seconds``, and return it.

        Raises RateLimitReached when the next free slot is further away than the wait
        left, so the caller never sleeps longer than ``max_wait_seconds`` in total.
        """
        started = time.monotonic()
        slot_id = uuid.uuid4().hex
        while True:
            wait = self.try_take(key, limit, window_seconds, slot_id, hold_seconds)
            if wait <= 0:
                return Slot(self, key, slot_id, time.monotonic() - started)
            waited = time.monotonic() - started
            if waited + wait > max_wait_seconds:
                raise RateLimitReached(wait)
            # Up to 10 ms of jitter, so waiting processes do not all retry at the same instant.
            sleep(wait + random.uniform(0, 0.01))

    def acquire(
        self,
        key: str,
        limit: int,
        window_seconds: float,
        max_wait_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> float:
        """Take a slot that counts from the time it is taken; return the seconds waited.

        Use ``take`` and ``Slot.record_sent`` when the request may reach the provider
        later than the slot is taken.
        """
        return self.take(key, limit, window_seconds, max_wait_seconds, sleep=sleep).waited


class InProcessRateLimiter(SlidingWindowLimiter):
    """Sliding-window log kept in this process, so it is exact across its threads only."""

    def __init__(self) -> None:
        self._logs: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def try_take(
        self, key: str, limit: int, window_seconds: float, slot_id: str, hold_seconds: float
    ) -> float:
        now = time.monotonic()
        with self._lock:
            log = self._logs.setdefault(key, {})
            for expired in [slot for slot, at in log.items() if at <= now - window_seconds]:
                del log[expired]
            if len(log) < limit:
                log[slot_id] = now + hold_seconds
                return 0.0
            # A slot still in flight may end any moment, so count it from now.
            oldest = min(min(log.values()), now)
            return max(oldest + window_seconds - now, 0.001)

    def record_sent(self, key: str, slot_id: str) -> None:
        with self._lock:
            self._logs.setdefault(key, {})[slot_id] = time.monotonic()


class RateLimiterConnectionError(Exception):
    """Redis failed while taking a rate-limit slot."""

    def __init__(self, url: str, error: Exception) -> None:
        self.url = url
        self.error = error
        super().__init__(f"Redis at {redact_url(url)} failed: {error}")


# Both scripts run atomically in Redis, so two processes can never both take the last
# slot. The clock is the Redis server's, so the workers' clocks need not agree.
# KEYS[1]: the sorted set of slot times in ms. ARGV: limit, window in ms, slot id, hold
# in ms. A slot in flight has the time it was taken plus the hold. The wait returned
# counts such a slot from now, the earliest it can end.
_TAKE_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[2])
local hold = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  if redis.call('PTTL', KEYS[1]) < window + hold then
    redis.call('PEXPIRE', KEYS[1], window + hold)
  end
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.min(tonumber(oldest[2]), now) + window - now)
"""

# KEYS[1]: the sorted set. ARGV: slot id, window in ms. The time is rounded up to the
# next ms, so a slot never counts from before its request ended.
_RECORD_SENT_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000) + 1
redis.call('ZADD', KEYS[1], now, ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RedisRateLimiter(SlidingWindowLimiter):
    """Sliding-window log in Redis, shared by every process that uses the same server."""

    key_prefix = "enrichment:ratelimit:"

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._take_script = self._redis.register_script(_TAKE_SCRIPT)
        self._record_sent_script = self._redis.register_script(_RECORD_SENT_SCRIPT)
        # Windows of the keys this process took slots for, in ms, for record_sent.
        self._windows_ms: dict[str, int] = {}

    def try_take(
        self, key: str, limit: int, window_seconds: float, slot_id: str, hold_seconds: float
    ) -> float:
        window_ms = int(window_seconds * 1000)
        self._windows_ms[key] = window_ms
        try:
            wait_ms = self._take_script(
                keys=[self.key_prefix + key],
                args=[limit, window_ms, slot_id, int(hold_seconds * 1000)],
            )
        except redis.RedisError as error:
            raise RateLimiterConnectionError(self.url, error) from error
        return int(wait_ms) / 1000

    def record_sent(self, key: str, slot_id: str) -> None:
        """Count the slot from now. A Redis failure is logged: the slot keeps its hold."""
        window_ms = self._windows_ms.get(key, 60_000)
        try:
            self._record_sent_script(keys=[self.key_prefix + key], args=[slot_id, window_ms])
        except redis.RedisError as error:
            logger.warning(
                "Recording the end of a %s request in Redis at %s failed, so its slot "
                "counts from when it was taken plus the hold: %s",
                key,
                redact_url(self.url),
                error,
            )


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
