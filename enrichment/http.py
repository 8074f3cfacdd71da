"""HTTP client shared by the provider adapters: settings, retries, rate limits and a response cache.

Each provider has one entry in ``settings.ENRICHMENT_PROVIDERS`` (see docs/enrichment.md)::

    ENRICHMENT_PROVIDERS = {
        "apollo": {"api_key": "...", "rate_limit_per_minute": 50, "timeout": [5, 20]},
    }

A request is retried on 429, 5xx, timeouts and connection errors, with exponential back-off
plus jitter, up to ``max_attempts`` attempts. A 429 waits for its ``Retry-After``. Every
attempt first takes a slot from the provider's rate limit, which is kept in Redis when
``ENRICHMENT_RATE_LIMIT_REDIS_URL`` (or a ``redis://`` ``CELERY_BROKER_URL``) is set, so
all worker processes share it, and in the process otherwise. JSON responses with status 200
are cached in the default Django cache for ``ENRICHMENT_CACHE_SECONDS``.

Each attempt has a total time limit (``total_timeout``), because the ``timeout`` pair
bounds only each socket read and a server that sends one byte at a time never trips it.
A body is read up to ``ENRICHMENT_PROVIDER_MAX_BYTES`` and a larger one is rejected.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from enrichment.providers.base import (
    ProviderNotConfigured,
    ProviderRateLimited,
    ProviderUnavailable,
    ResponseTooLarge,
)
from enrichment.providers.ratelimit import (
    RateLimiterConnectionError,
    RateLimitReached,
    Slot,
    get_rate_limiter,
)

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SECONDS = 7 * 24 * 60 * 60
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
# Time limit of one attempt, from sending the request to the last byte of the response.
DEFAULT_TOTAL_TIMEOUT = 60.0
# Largest response body read, after decompression. A company lookup returns a few KB
# (the example payloads in tests/enrichment/payloads.py are under 2 KB), so 5 MB is ample.
DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
_READ_CHUNK_BYTES = 64 * 1024
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_SECONDS = 1.0
# Maximum single wait between attempts. A Retry-After above it is not waited for:
# the lookup raises ProviderRateLimited so a task queue can reschedule it.
DEFAULT_MAX_RETRY_WAIT_SECONDS = 60.0
# Maximum wait for a slot of the local rate limit before ProviderRateLimited.
DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS = 60.0
RATE_LIMIT_WINDOW_SECONDS = 60.0

# Response headers kept with cached responses. The others describe one HTTP exchange.
_CACHED_HEADERS = ("content-type", "x-ratelimit-limit", "x-ratelimit-remaining")
_BODY_EXCERPT_LENGTH = 300


class RateLimiterUnavailable(ProviderUnavailable):
    """The Redis server that stores the shared rate limit cannot be reached."""


@dataclass(frozen=True)
class ProviderConfig:
    """One provider's entry of ``settings.ENRICHMENT_PROVIDERS`` with defaults filled in.

    ``timeout`` is ``(connect, read)`` in seconds and ``total_timeout`` the seconds one
    attempt may take in all. ``rate_limit_per_minute`` is None when no local limit
    applies. ``options`` contains the whole entry for provider-specific keys.
    """

    name: str
    base_url: str
    api_key: str
    timeout: tuple[float, float]
    total_timeout: float
    rate_limit_per_minute: int | None
    max_attempts: int
    backoff_seconds: float
    max_retry_wait_seconds: float
    max_rate_limit_wait_seconds: float
    options: Mapping[str, Any]

    def setting_name(self, key: str | None = None) -> str:
        """Return the settings path of this entry or one of its keys, for error messages."""
        path = f'ENRICHMENT_PROVIDERS["{self.name}"]'
        return f'{path}["{key}"]' if key else path


def get_provider_config(name: str, default_base_url: str = "") -> ProviderConfig:
    """Read and validate the provider's settings entry.

    Raises ProviderNotConfigured, naming the setting, when the entry is missing or a
    value has the wrong type.
    """
    providers = getattr(settings, "ENRICHMENT_PROVIDERS", None) or {}
    entry = providers.get(name)
    if entry is None:
        raise ProviderNotConfigured(
            name,
            "",
            f'{name} is not configured. Add an "{name}" entry to settings.ENRICHMENT_PROVIDERS '
            "(see docs/enrichment.md).",
        )
    if not isinstance(entry, Mapping):
        raise ProviderNotConfigured(
            name, "", f'ENRICHMENT_PROVIDERS["{name}"] must be a dict, got {type(entry).__name__}.'
        )

    base_url = str(entry.get("base_url") or default_base_url).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ProviderNotConfigured(
            name,
            "",
            f'ENRICHMENT_PROVIDERS["{name}"]["base_url"] = {base_url!r} is invalid. '
            "Use an http:// or https:// URL.",
        )
    return ProviderConfig(
        name=name,
        base_url=base_url,
        api_key=str(entry.get("api_key") or ""),
        timeout=_read_timeout(name, entry.get("timeout")),
        total_timeout=_read_number(name, entry, "total_timeout", DEFAULT_TOTAL_TIMEOUT, 1),
        rate_limit_per_minute=_read_rate_limit(name, entry.get("rate_limit_per_minute")),
        max_attempts=int(_read_number(name, entry, "max_attempts", DEFAULT_MAX_ATTEMPTS, 1)),
        backoff_seconds=_read_number(name, entry, "backoff_seconds", DEFAULT_BACKOFF_SECONDS, 0),
        max_retry_wait_seconds=_read_number(
            name, entry, "max_retry_wait_seconds", DEFAULT_MAX_RETRY_WAIT_SECONDS, 0
        ),
        max_rate_limit_wait_seconds=_read_number(
            name, entry, "max_rate_limit_wait_seconds", DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS, 0
        ),
        options=entry,
    )


def _read_number(
    name: str, entry: Mapping[str, Any], key: str, default: float, minimum: float
) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ProviderNotConfigured(
            name,
            "",
            f'ENRICHMENT_PROVIDERS["{name}"]["{key}"] = {value!r} is invalid. '
            f"Use a number of at least {minimum:g}.",
        )
    return float(value)


def _read_timeout(name: str, value: Any) -> tuple[float, float]:
    if value is None:
        return (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return (float(value), float(value))
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(part, int | float) and not isinstance(part, bool) for part in value)
        and all(part > 0 for part in value)
    ):
        return (float(value[0]), float(value[1]))
    raise ProviderNotConfigured(
        name,
        "",
        f'ENRICHMENT_PROVIDERS["{name}"]["timeout"] = {value!r} is invalid. Use seconds as '
        "a number (20) or a [connect, read] pair ([5, 20]).",
    )


def _read_rate_limit(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ProviderNotConfigured(
        name,
        "",
        f'ENRICHMENT_PROVIDERS["{name}"]["rate_limit_per_minute"] = {value!r} is invalid. '
        "Use a whole number of requests above 0, or leave it out for no limit.",
    )


# Retry timing --------------------------------------------------------------------------


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Return the wait in seconds that a 429 or 503 response requests, or None.

    Reads ``Retry-After`` as delay-seconds or as an HTTP date.
    Without it, ``X-RateLimit-Reset`` is read as a Unix time when above 10^9 (ZoomInfo
    sends one) and as seconds otherwise.
    """
    now = now or timezone.now()
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((when - now).total_seconds(), 0.0)

    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            number = float(reset.strip())
        except ValueError:
            return None
        if number > 1e9:
            return max(number - now.timestamp(), 0.0)
        return max(number, 0.0)
    return None


def backoff_delay(attempt: int, base_seconds: float, max_seconds: float) -> float:
    """Return the wait before retry number ``attempt`` (1-based): base * 2^(attempt-1).

    The result is capped at ``max_seconds`` and then jittered to between half and all
    of it, so clients that failed together spread out their retries.
    """
    delay = min(base_seconds * (2 ** (attempt - 1)), max_seconds)
    return delay / 2 + random.uniform(0, delay / 2)


# Client --------------------------------------------------------------------------------


@dataclass
class JsonResponse:
    """A provider response. ``data`` is the decoded JSON body, or None for an empty body.

    ``text`` is the start of a body that is not JSON (error pages). ``fetched_at`` is
    when the provider responded, earlier than now for a response from the cache.
    """

    status: int
    data: Any
    headers: Mapping[str, str]
    fetched_at: datetime
    from_cache: bool = False
    text: str = ""

    @property
    def age(self) -> timedelta:
        return timezone.now() - self.fetched_at


def cache_seconds() -> int:
    """Return ENRICHMENT_CACHE_SECONDS; 0 turns the response cache off."""
    value = getattr(settings, "ENRICHMENT_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProviderNotConfigured(
            "enrichment",
            "",
            f"ENRICHMENT_CACHE_SECONDS = {value!r} is invalid. Use a whole number of seconds "
            "(0 turns the cache off).",
        )
    return value


def response_max_bytes() -> int:
    """Return ENRICHMENT_PROVIDER_MAX_BYTES, the largest provider response body read."""
    value = getattr(settings, "ENRICHMENT_PROVIDER_MAX_BYTES", DEFAULT_MAX_RESPONSE_BYTES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProviderNotConfigured(
            "enrichment",
            "",
            f"ENRICHMENT_PROVIDER_MAX_BYTES = {value!r} is invalid. Use a whole number of "
            "bytes above 0, such as 5242880 for 5 MB.",
        )
    return value


class _BodyNotRead(Exception):
    """The response body could not be read in time or at all, so the attempt may be retried."""


class ProviderClient:
    """HTTP client for one provider, configured from settings on each request.

    The client keeps one requests.Session; use one client per thread.
    """

    def __init__(
        self,
        provider: str,
        *,
        default_base_url: str = "",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.default_base_url = default_base_url
        self.session = session or requests.Session()
        self._sleep = sleep

    @property
    def config(self) -> ProviderConfig:
        return get_provider_config(self.provider, self.default_base_url)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        domain: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        use_cache: bool = False,
        cache_if: Callable[[JsonResponse], bool] | None = None,
    ) -> JsonResponse:
        """Send a request to the provider and return its JSON response.

        Retries 429, 5xx, timeouts and connection errors. Any other status is returned
        for the adapter to interpret. ``use_cache`` serves and stores 200 responses in the
        response cache. ``cache_if`` can refuse to store a response, such as a 200 that
        reports no match. ``domain`` appears in logs and errors.

        Raises ProviderRateLimited when 429 persists or requests a longer wait than
        ``max_retry_wait_seconds``, ProviderUnavailable when the attempts run out or a
        2xx body is not JSON, and ResponseTooLarge, without a retry, for a body larger than
        ENRICHMENT_PROVIDER_MAX_BYTES. Only a response read in full is cached.
        """
        config = self.config
        url = config.base_url + path
        key = self._cache_key(method, url, params, json_body) if use_cache else None
        if key is not None:
            cached = self._read_cache(key, domain)
            if cached is not None:
                return cached

        response = self._send_with_retries(config, method, url, domain, params, json_body, headers)
        if key is not None and response.status == 200 and (cache_if is None or cache_if(response)):
            self._write_cache(key, response)
        return response

    def _send_with_retries(
        self,
        config: ProviderConfig,
        method: str,
        url: str,
        domain: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> JsonResponse:
        failure = ""
        connect_timeout, read_timeout = config.timeout
        for attempt in range(1, config.max_attempts + 1):
            slot = self._take_rate_limit_slot(config, domain)
            retry_after: float | None = None
            deadline = time.monotonic() + config.total_timeout
            try:
                # stream=True lets _read_body check the deadline and the size limit
                # between reads instead of reading the whole body at once.
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=dict(headers or {}),
                    timeout=(
                        min(connect_timeout, config.total_timeout),
                        min(read_timeout, config.total_timeout),
                    ),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.Timeout as error:
                failure = f"the request timed out ({_describe_timeout(config, error)})"
            except requests.ConnectionError as error:
                failure = f"the connection to {config.base_url} failed ({error})"
            else:
                try:
                    if response.status_code == 429:
                        retry_after = parse_retry_after(response.headers)
                        failure = "the provider returned 429 Too Many Requests"
                        self._check_rate_limit_wait(config, domain, attempt, retry_after)
                    elif response.status_code >= 500:
                        failure = f"the provider returned HTTP {response.status_code}"
                        if response.status_code == 503:
                            retry_after = parse_retry_after(response.headers)
                    else:
                        content = self._read_body(config, domain, response, deadline)
                        return self._decode(config, domain, response, content)
                except _BodyNotRead as error:
                    failure = str(error)
                finally:
                    response.close()
            finally:
                # The request has reached the provider by now, so its slot counts from here.
                if slot is not None:
                    slot.record_sent()

            if attempt == config.max_attempts:
                break
            wait = self._retry_wait(config, attempt, retry_after)
            logger.warning(
                "Retrying %s request for %s in %.2fs (attempt %s of %s): %s",
                config.name,
                domain,
                wait,
                attempt + 1,
                config.max_attempts,
                failure,
            )
            self._sleep(wait)

        logger.error(
            "%s request for %s failed after %s attempts: %s",
            config.name,
            domain,
            config.max_attempts,
            failure,
        )
        raise ProviderUnavailable(
            config.name,
            domain,
            f"{failure} on all {config.max_attempts} attempts. The provider may be down, so "
            "try again later.",
        )

    def _check_rate_limit_wait(
        self, config: ProviderConfig, domain: str, attempt: int, retry_after: float | None
    ) -> None:
        """Raise ProviderRateLimited unless another attempt may follow this 429 response."""
        wait = retry_after if retry_after is not None else config.backoff_seconds
        too_long = retry_after is not None and retry_after > config.max_retry_wait_seconds
        if attempt < config.max_attempts and not too_long:
            return
        logger.error(
            "%s rate limit reached for %s: retry after %.1fs (attempt %s of %s)",
            config.name,
            domain,
            wait,
            attempt,
            config.max_attempts,
        )
        raise ProviderRateLimited(
            config.name,
            domain,
            f"the provider's rate limit is reached. Try again in {wait:.0f} seconds, or lower "
            f"{config.setting_name('rate_limit_per_minute')} to stay below the plan's limit.",
            retry_after=wait,
        )

    def _retry_wait(self, config: ProviderConfig, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            # Honour the provider's wait, capped like any retry wait, plus up to 10% jitter.
            wait = min(retry_after, config.max_retry_wait_seconds)
            return wait + random.uniform(0, wait * 0.1)
        return backoff_delay(attempt, config.backoff_seconds, config.max_retry_wait_seconds)

    def _take_rate_limit_slot(self, config: ProviderConfig, domain: str) -> Slot | None:
        if config.rate_limit_per_minute is None:
            return None
        try:
            limiter = get_rate_limiter()
            slot = limiter.take(
                config.name,
                config.rate_limit_per_minute,
                RATE_LIMIT_WINDOW_SECONDS,
                config.max_rate_limit_wait_seconds,
                # A request that never reports its end ended within its total time limit
                # plus one read timeout, the most that _read_body can overrun the limit.
                hold_seconds=config.total_timeout + config.timeout[1],
                sleep=self._sleep,
            )
        except RateLimitReached as error:
            logger.warning(
                "%s local rate limit of %s per minute reached for %s: next slot in %.1fs",
                config.name,
                config.rate_limit_per_minute,
                domain,
                error.retry_after,
            )
            raise ProviderRateLimited(
                config.name,
                domain,
                f"the configured limit of {config.rate_limit_per_minute} requests per minute "
                f"is used up. Try again in {error.retry_after:.0f} seconds.",
                retry_after=error.retry_after,
            ) from error
        except RateLimiterConnectionError as error:
            logger.error("%s rate limiter failed for %s: %s", config.name, domain, error)
            raise RateLimiterUnavailable(
                config.name,
                domain,
                f"{error}. Start Redis, or correct ENRICHMENT_RATE_LIMIT_REDIS_URL "
                "(CELERY_BROKER_URL when that is unset).",
            ) from error
        if slot.waited > 0.05:
            logger.info(
                "Waited %.2fs for a %s rate-limit slot for %s", slot.waited, config.name, domain
            )
        return slot

    def _read_body(
        self, config: ProviderConfig, domain: str, response: requests.Response, deadline: float
    ) -> bytes:
        """Read the body up to ENRICHMENT_PROVIDER_MAX_BYTES and before the deadline.

        Raises ResponseTooLarge for a larger body and _BodyNotRead when the deadline
        passes or the connection fails. NOTE: the deadline is checked between socket
        reads, so a server that stops sending overruns it by up to the read timeout.
        """
        max_bytes = response_max_bytes()
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > max_bytes:
            size_text = f"declares {int(declared):,} bytes, more than"
            raise self._too_large(config, domain, max_bytes, size_text)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise _BodyNotRead(
                        f"the response took longer than the limit of {config.total_timeout:g} "
                        f"seconds ({config.setting_name('total_timeout')})"
                    )
                chunk = response.raw.read1(_READ_CHUNK_BYTES, decode_content=True)
                if not chunk:
                    return b"".join(chunks)
                size += len(chunk)
                if size > max_bytes:
                    raise self._too_large(config, domain, max_bytes, "is larger than")
                chunks.append(chunk)
        except (requests.RequestException, Urllib3HTTPError, OSError) as error:
            raise _BodyNotRead(f"reading the response failed ({error})") from error

    def _too_large(
        self, config: ProviderConfig, domain: str, max_bytes: int, size_text: str
    ) -> ResponseTooLarge:
        """Return the error for a body over the limit; ``size_text`` ends with "than"."""
        logger.error(
            "%s response for %s %s ENRICHMENT_PROVIDER_MAX_BYTES = %s, so it was not read",
            config.name,
            domain,
            size_text,
            max_bytes,
        )
        return ResponseTooLarge(
            config.name,
            domain,
            f"the response {size_text} the limit of {max_bytes:,} bytes "
            "(ENRICHMENT_PROVIDER_MAX_BYTES), so it was not read. A company lookup needs far "
            "less: check the provider's base URL, or raise the limit.",
        )

    def _decode(
        self, config: ProviderConfig, domain: str, response: requests.Response, content: bytes
    ) -> JsonResponse:
        headers = dict(response.headers)
        data: Any = None
        text = ""
        if content.strip():
            try:
                data = json.loads(content)
            except ValueError as error:
                text = content[: _BODY_EXCERPT_LENGTH * 4].decode("utf-8", "replace")
                text = text[:_BODY_EXCERPT_LENGTH]
                if 200 <= response.status_code < 300:
                    logger.error(
                        "%s returned HTTP %s for %s with a body that is not JSON: %s",
                        config.name,
                        response.status_code,
                        domain,
                        error,
                    )
                    raise ProviderUnavailable(
                        config.name,
                        domain,
                        f"the provider returned HTTP {response.status_code} with a body that "
                        f"is not valid JSON ({error}), starting {text[:80]!r}. "
                        "Try again later.",
                    ) from error
        return JsonResponse(
            status=response.status_code,
            data=data,
            headers=headers,
            fetched_at=timezone.now(),
            text=text,
        )

    def _cache_key(
        self, method: str, url: str, params: Mapping[str, Any] | None, json_body: Any
    ) -> str | None:
        if cache_seconds() == 0:
            return None
        material = json.dumps(
            [method.upper(), url, sorted((params or {}).items()), json_body],
            sort_keys=True,
            default=str,
        )
        digest = hashlib.sha256(material.encode()).hexdigest()
        return f"enrichment:response:{self.provider}:{digest}"

    def _read_cache(self, key: str, domain: str) -> JsonResponse | None:
        entry = cache.get(key)
        if not isinstance(entry, dict):
            return None
        fetched_at = parse_datetime(str(entry.get("fetched_at", "")))
        if fetched_at is None:
            return None
        response = JsonResponse(
            status=int(entry["status"]),
            data=entry.get("data"),
            headers=dict(entry.get("headers") or {}),
            fetched_at=fetched_at,
            from_cache=True,
        )
        logger.debug("Cache hit for %s lookup of %s (age %s)", self.provider, domain, response.age)
        return response

    def _write_cache(self, key: str, response: JsonResponse) -> None:
        kept_headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() in _CACHED_HEADERS
        }
        entry = {
            "status": response.status,
            "data": response.data,
            "headers": kept_headers,
            "fetched_at": response.fetched_at.isoformat(),
        }
        cache.set(key, entry, timeout=cache_seconds())

    def cached_response(
        self,
        method: str,
        path: str,
        *,
        domain: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> JsonResponse | None:
        """Return the cached response for a request, or None, without contacting the provider."""
        key = self._cache_key(method, self.config.base_url + path, params, json_body)
        if key is None:
            return None
        return self._read_cache(key, domain)

    def invalidate_cache(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> None:
        """Remove a cached response, so the next identical request reaches the provider."""
        key = self._cache_key(method, self.config.base_url + path, params, json_body)
        if key is not None:
            cache.delete(key)


def _describe_timeout(config: ProviderConfig, error: requests.Timeout) -> str:
    connect, read = config.timeout
    if isinstance(error, requests.ConnectTimeout):
        return f"no connection within {connect:g}s"
    return f"no response within {read:g}s"
