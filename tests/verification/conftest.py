"""Fixtures for provenance, verification and enrichment-run tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Account
from enrichment.models import Observation
from enrichment.providers import ratelimit
from segmentation.models import Industry
from tests.enrichment.fake_server import FakeServer
from tests.factories import AccountFactory

# A fixed point in time, so tests can order observations without sleeping.
BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture(autouse=True)
def isolated_enrichment(settings, monkeypatch):
    """Give each test an empty response cache, its own rate limiter and no providers."""
    cache.clear()
    monkeypatch.setattr(ratelimit, "_in_process_limiter", ratelimit.InProcessRateLimiter())
    settings.ENRICHMENT_RATE_LIMIT_REDIS_URL = ""
    settings.ENRICHMENT_PROVIDERS = {}
    yield
    cache.clear()


@pytest.fixture
def fake_server():
    with FakeServer() as server:
        yield server


@pytest.fixture
def configure_provider(settings, fake_server):
    """Return a function that points a provider's settings entry at the fake server."""

    def configure(name: str, **options: Any) -> dict[str, Any]:
        entry = {
            "base_url": fake_server.url,
            "api_key": "test-key",
            "timeout": [1, 2],
            "max_attempts": 2,
            "backoff_seconds": 0.01,
            "max_retry_wait_seconds": 0.05,
        }
        entry.update(options)
        settings.ENRICHMENT_PROVIDERS = {**settings.ENRICHMENT_PROVIDERS, name: entry}
        return entry

    return configure


def blank_account(**fields: Any) -> Account:
    """Create an account without firmographics, so only observations give it values."""
    values = {
        "country": "",
        "employee_count": None,
        "employee_min": None,
        "employee_max": None,
        "employee_raw": "",
    }
    values.update(fields)
    return AccountFactory(**values)


def observe(
    account: Account,
    field: str,
    value: Any,
    source: str,
    *,
    minutes: int = 0,
    raw: str = "",
    entered_by=None,
) -> Observation:
    """Record one observation ``minutes`` after BASE_TIME."""
    return Observation.objects.create(
        account=account,
        field=field,
        value=value,
        raw_value=raw or str(value),
        source=source,
        source_detail=f"{source} test export",
        observed_at=BASE_TIME + timedelta(minutes=minutes),
        entered_by=entered_by,
    )


def industry(name: str) -> Industry:
    return Industry.objects.get(name=name)


def industry_value(name: str, label: str | None = None) -> dict[str, Any]:
    found = industry(name)
    return {"industry_id": found.pk, "label": label or found.name}


def employees_value(count: int, minimum: int | None = None, maximum: Any = "same") -> dict:
    low = count if minimum is None else minimum
    high = count if maximum == "same" else maximum
    return {"count": count, "min": low, "max": high, "approximate": False}


def revenue_value(usd: str) -> dict[str, Any]:
    return {"amount": usd, "currency": "USD", "usd": usd}


def location_value(country: str, region: str = "", city: str = "") -> dict[str, str]:
    return {"country": country, "region": region, "city": city}
