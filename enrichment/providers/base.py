"""The provider-neutral lookup result, the Provider interface and the errors every source raises.

Adapters only read: ``Provider.lookup`` returns a CompanyFacts and never writes to the
database, so callers decide which values become observations.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.normalizers import EmployeeRange, Money
    from enrichment.http import JsonResponse, ProviderClient

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """Base class of lookup errors. ``provider`` is the source id, ``domain`` the lookup key."""

    def __init__(self, provider: str, domain: str, message: str) -> None:
        self.provider = provider
        self.domain = domain
        self.detail = message
        super().__init__(f"{provider} lookup for {domain or 'no domain'} failed: {message}")


class ProviderNotConfigured(ProviderError, ImproperlyConfigured):
    """The provider's settings entry, or one of its required values, is missing or invalid."""


class ProviderAuthError(ProviderError):
    """The provider rejected the credentials. The message names the setting to fix."""


class ProviderQuotaExceeded(ProviderError):
    """The provider account has used up its plan quota or credits."""


class CompanyNotFound(ProviderError):
    """The provider has no company for the domain."""


class InvalidDomain(ProviderError):
    """The domain is not a valid company domain, for us or for the provider."""


class ProviderRateLimited(ProviderError):
    """Too many requests, because the provider returned 429 or the local rate limit is reached.

    ``retry_after`` is the wait in seconds before a new attempt can succeed.
    """

    def __init__(self, provider: str, domain: str, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(provider, domain, message)


class LookupPending(ProviderError):
    """The provider queued the lookup and has no result yet. Try again after ``retry_after``.

    Distinct from CompanyNotFound: the company may exist once the provider has looked it up.
    """

    def __init__(self, provider: str, domain: str, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(provider, domain, message)


class ProviderUnavailable(ProviderError):
    """Timeouts, connection errors, 5xx responses and malformed response bodies."""


class ResponseTooLarge(ProviderError):
    """The provider's response body exceeds ENRICHMENT_PROVIDER_MAX_BYTES.

    Not a ProviderUnavailable, because asking again would most likely return the same body.
    """


@dataclass(frozen=True)
class FundingInfo:
    """Funding as the provider reports it. Amounts keep the provider's currency."""

    total: Money | None = None
    latest_stage: str = ""
    latest_round_date: date | None = None
    latest_amount: Money | None = None


@dataclass
class CompanyFacts:
    """Facts that one source reports about one company, mapped to account fields.

    ``domain`` is the normalized lookup domain. ``industry`` is the provider's own label,
    unmapped. ``employees_raw`` and ``revenue_raw`` keep the provider's value as text.
    ``country`` is an ISO 3166-1 alpha-2 code. ``social_links`` maps a network
    (``linkedin``, ``twitter``, ``github``, ``facebook``) to a URL. ``raw`` is the payload
    the values were mapped from. A value that could not be normalized is left empty and
    ``review_flags`` says why, naming the raw value. ``account_flags`` are review flags
    that enrichment stores on the account as an import stores its flags, such as a
    technology name stored cut. ``fetched_at`` is when the provider responded, which is
    earlier than now when ``from_cache`` is true.
    """

    source: str
    domain: str
    name: str = ""
    website: str = ""
    industry: str = ""
    employees: EmployeeRange | None = None
    employees_raw: str = ""
    revenue: Money | None = None
    revenue_raw: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    technologies: list[str] = field(default_factory=list)
    description: str = ""
    funding: FundingInfo | None = None
    social_links: dict[str, str] = field(default_factory=dict)
    raw: Any = None
    review_flags: list[str] = field(default_factory=list)
    account_flags: list[dict[str, str]] = field(default_factory=list)
    fetched_at: datetime = field(default_factory=timezone.now)
    from_cache: bool = False

    @property
    def employee_count(self) -> int | None:
        """Single headcount estimate, or None when the provider gave no size."""
        if self.employees is None:
            return None
        return self.employees.estimate

    @property
    def age(self) -> timedelta:
        """Time since the provider produced this response."""
        return timezone.now() - self.fetched_at


class Provider(abc.ABC):
    """One enrichment source. Subclasses set ``name`` and implement ``fetch``."""

    name: ClassVar[str]
    default_base_url: ClassVar[str] = ""

    def __init__(self, client: ProviderClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> ProviderClient:
        """The HTTP client, built from settings on first use."""
        if self._client is None:
            from enrichment.http import ProviderClient

            self._client = ProviderClient(self.name, default_base_url=self.default_base_url)
        return self._client

    def lookup(self, domain: str) -> CompanyFacts:
        """Look the company up by domain and return what the source reports.

        Raises InvalidDomain for a value that is not a domain, and the other ProviderError
        subclasses for responses that carry no company data.
        """
        normalized = self.normalize_lookup_domain(domain)
        return self.fetch(normalized)

    @abc.abstractmethod
    def fetch(self, domain: str) -> CompanyFacts:
        """Query the source for a normalized domain."""

    def require_setting(self, value: str, setting: str, domain: str) -> str:
        """Return a required setting value; raise ProviderNotConfigured naming it when empty."""
        if not value:
            raise ProviderNotConfigured(
                self.name,
                domain,
                f"{setting} is missing or empty. Set it as docs/enrichment.md describes.",
            )
        return value

    def raise_for_status(self, response: JsonResponse, domain: str, key_setting: str) -> None:
        """Raise the ProviderError for a non-2xx response and return for 2xx.

        401 and 403 mean the credentials in ``key_setting`` were rejected, 402 an exhausted
        quota, 404 an unknown company, 400 and 422 an invalid domain. Any other status is
        unexpected and raises ProviderUnavailable.
        """
        status = response.status
        if 200 <= status < 300:
            return
        detail = provider_error_detail(response)
        logger.warning(
            "%s returned HTTP %s for %s: %s", self.name, status, domain, detail or "no detail"
        )
        detail_text = f" Provider message: {detail}" if detail else ""
        if status == 401:
            raise ProviderAuthError(
                self.name,
                domain,
                f"the provider rejected the credentials (HTTP 401). Check {key_setting}."
                f"{detail_text}",
            )
        if status == 403:
            raise ProviderAuthError(
                self.name,
                domain,
                "the credentials are not allowed to use this endpoint (HTTP 403). Check that "
                f"{key_setting} belongs to a plan with API access to company enrichment."
                f"{detail_text}",
            )
        if status == 402:
            raise ProviderQuotaExceeded(
                self.name,
                domain,
                "the account's quota or credits are used up (HTTP 402). Wait for the next "
                f"billing period or raise the plan's limit.{detail_text}",
            )
        if status == 404:
            raise CompanyNotFound(
                self.name, domain, f"the provider has no company for it.{detail_text}"
            )
        if status in (400, 422):
            raise InvalidDomain(
                self.name,
                domain,
                f"the provider rejected the domain as invalid (HTTP {status}). Check the "
                f"account's domain.{detail_text}",
            )
        raise ProviderUnavailable(
            self.name,
            domain,
            f"the provider returned an unexpected HTTP {status}.{detail_text}",
        )

    def normalize_lookup_domain(self, domain: str) -> str:
        """Return the registrable host name of a domain, URL or e-mail address."""
        from accounts.normalizers import UnparsedValue, normalize_domain

        try:
            normalized = normalize_domain(domain)
        except UnparsedValue as error:
            logger.warning("Rejected lookup domain for %s: %s", self.name, error)
            raise InvalidDomain(self.name, str(domain), str(error)) from error
        if not normalized:
            raise InvalidDomain(
                self.name, str(domain), "the domain is empty. Enter a domain such as example.com."
            )
        return normalized


def provider_error_detail(response: JsonResponse) -> str:
    """Return the error message in a provider's error body, or "".

    Reads ``{"error": {"type": ..., "message": ...}}`` (Clearbit),
    ``{"error": "..."}`` (Apollo, ZoomInfo) and ``{"message": "..."}``.
    """
    data = response.data
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            parts = [str(error[key]) for key in ("type", "message") if error.get(key)]
            return ": ".join(parts)[:300]
        for key in ("error", "message", "error_message", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:300]
    return response.text[:300].strip()
