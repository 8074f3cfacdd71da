"""Per-user request rates, from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``.

Each class reads the rates at request time, so a settings change (or a test override)
applies without a restart. Counters live in the default cache: shared by all processes
when the cache is Redis, per process with the local-memory cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


class SettingsRatesMixin:
    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:  # noqa: N802 - DRF's attribute name
        return api_settings.DEFAULT_THROTTLE_RATES


class ApiUserThrottle(SettingsRatesMixin, UserRateThrottle):
    """Every request of a signed-in user or token, at the ``user`` rate."""


class ApiAnonThrottle(SettingsRatesMixin, AnonRateThrottle):
    """Requests without credentials, per client address, at the ``anon`` rate."""


class ApiWriteThrottle(SettingsRatesMixin, SimpleRateThrottle):
    """POST, PUT, PATCH and DELETE requests of one user, at the ``write`` rate."""

    scope = "write"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiScopedThrottle(SettingsRatesMixin, ScopedRateThrottle):
    """Requests to views with a ``throttle_scope`` (csv_export, imports), per user."""


class CsvExportThrottle(SettingsRatesMixin, SimpleRateThrottle):
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
