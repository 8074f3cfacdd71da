"""Per-user request rates, from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``.

Each class reads the rates at request time, so a settings change (or a test override)
applies without a restart. Counters live in the default cache: shared by all processes
when the cache is Redis, per process with the local-memory cache. When the Redis cache
fails, the throttles let requests through rather than fail them (see CacheOutage).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import redis
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

if TYPE_CHECKING:
    from rest_framework.views import APIView


logger = logging.getLogger(__name__)

# Seconds that the throttles of a process skip the cache after it failed. A Redis outage
# then costs one failed cache call, and one warning, per process and interval.
CACHE_RETRY_SECONDS = 30.0


class CacheOutage:
    """The time until which the throttles of this process do not use the cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0

    def is_active(self) -> bool:
        return time.monotonic() < self._until

    def record(self, error: Exception) -> None:
        """Start an outage interval and log a warning, unless an interval is running."""
        with self._lock:
            if self.is_active():
                return
            self._until = time.monotonic() + CACHE_RETRY_SECONDS
        logger.warning(
            "API rate limits are off for %.0f s in this process because the cache failed: %r",
            CACHE_RETRY_SECONDS,
            error,
        )

    def reset(self) -> None:
        with self._lock:
            self._until = 0.0


cache_outage = CacheOutage()


class FailOpenMixin:
    """Throttle mixin that allows the request when the counters' cache raises a Redis error."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if cache_outage.is_active():
            return True
        try:
            return super().allow_request(request, view)
        except redis.RedisError as error:
            cache_outage.record(error)
            return True


class SettingsRatesMixin:
    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:  # noqa: N802 - DRF's attribute name
        return api_settings.DEFAULT_THROTTLE_RATES


class ApiUserThrottle(FailOpenMixin, SettingsRatesMixin, UserRateThrottle):
    """Every request of a signed-in user or token, at the ``user`` rate."""


class ApiAnonThrottle(FailOpenMixin, SettingsRatesMixin, AnonRateThrottle):
    """Requests without credentials, per client address, at the ``anon`` rate."""


class ApiWriteThrottle(FailOpenMixin, SettingsRatesMixin, SimpleRateThrottle):
    """POST, PUT, PATCH and DELETE requests of one user, at the ``write`` rate."""

    scope = "write"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiScopedThrottle(FailOpenMixin, SettingsRatesMixin, ScopedRateThrottle):
    """Requests to views with a ``throttle_scope`` (csv_export, imports), per user."""


class CsvExportThrottle(FailOpenMixin, SettingsRatesMixin, SimpleRateThrottle):
    """CSV downloads of one user, at the ``csv_export`` rate; JSON requests pass."""

    scope = "csv_export"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is None or renderer.format != "csv":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident_key(request)}

    def get_ident_key(self, request: Request) -> str:
        if request.user.is_authenticated:
            return str(request.user.pk)
        return self.get_ident(request)
