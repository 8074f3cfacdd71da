"""Clearbit Company API (Enrichment, domain lookup).

``GET /v2/companies/find?domain=example.com`` with ``Authorization: Bearer <key>`` on
``company.clearbit.com``. Status codes, from Clearbit's help center and client libraries:

- 200: the company, with ``name``, ``domain``, ``category`` (``sector``, ``industryGroup``,
  ``industry``, ``subIndustry``), ``geo`` (``city``, ``state``, ``stateCode``, ``country``,
  ``countryCode``), ``metrics`` (``employees``, ``employeesRange`` such as ``251-1K``,
  ``annualRevenue`` in USD, ``estimatedAnnualRevenue`` such as ``$10M-$50M``, ``raised``),
  ``tech`` (tags such as ``google_analytics``), ``description`` and social handles;
- 202: the lookup is queued and a later request returns the result (LookupPending);
- 404: unknown domain, 422: invalid domain, 401 or 403: invalid key, 402: over quota.

Error bodies look like ``{"error": {"type": "unknown_record", "message": "..."}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from accounts.normalizers import TECHNOLOGY_ALIASES
from enrichment.http import parse_retry_after
from enrichment.providers.base import (
    CompanyFacts,
    FundingInfo,
    LookupPending,
    Provider,
    ProviderUnavailable,
)
from enrichment.providers.mapping import (
    add_social_link,
    as_text,
    describe_json,
    first_text,
    parse_amount,
    parse_money_band,
    set_employees,
    set_location,
    set_technologies,
    set_website,
)

logger = logging.getLogger(__name__)

FIND_PATH = "/v2/companies/find"

# Clearbit tells clients to retry a queued (202) lookup "after a few minutes".
QUEUED_RETRY_SECONDS = 180.0

# Tag words written in capitals when a tech tag is turned into a display name.
_ACRONYMS = frozenset({"aws", "api", "cdn", "cms", "crm", "css", "dns", "erp", "gcp", "ibm"})

_SOCIAL_BASE_URLS = {
    "linkedin": "https://www.linkedin.com/",
    "twitter": "https://twitter.com/",
    "facebook": "https://www.facebook.com/",
    "github": "https://github.com/",
}


class ClearbitProvider(Provider):
    name = "clearbit"
    default_base_url = "https://company.clearbit.com"

    def fetch(self, domain: str) -> CompanyFacts:
        config = self.client.config
        key_setting = config.setting_name("api_key")
        api_key = self.require_setting(config.api_key, key_setting, domain)
        response = self.client.request_json(
            "GET",
            FIND_PATH,
            domain=domain,
            params={"domain": domain},
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            use_cache=True,
        )
        if response.status == 202:
            retry_after = parse_retry_after(response.headers) or QUEUED_RETRY_SECONDS
            logger.info("clearbit queued the lookup of %s: retry in %.0fs", domain, retry_after)
            raise LookupPending(
                self.name,
                domain,
                f"Clearbit queued the lookup and has no result yet. Try again in "
                f"{retry_after:.0f} seconds.",
                retry_after=retry_after,
            )
        self.raise_for_status(response, domain, key_setting)
        if not isinstance(response.data, dict):
            body = "empty" if response.data is None else describe_json(response.data)
            logger.error(
                "clearbit returned %s for %s without a company object: the body is %s",
                response.status,
                domain,
                body,
            )
            raise ProviderUnavailable(
                self.name,
                domain,
                f"Clearbit returned no company object: the body is {body}. Try again later.",
            )

        facts = map_company(response.data, domain)
        facts.fetched_at = response.fetched_at
        facts.from_cache = response.from_cache
        return facts


def map_company(company: dict[str, Any], domain: str) -> CompanyFacts:
    """Map a Clearbit company object to CompanyFacts."""
    facts = CompanyFacts(source=ClearbitProvider.name, domain=domain, raw=company)
    facts.name = as_text(company.get("name"))
    set_website(facts, company.get("url"), company.get("domain"))

    category = _mapping(company.get("category"))
    facts.industry = first_text(
        [
            category.get("industry"),
            category.get("subIndustry"),
            category.get("industryGroup"),
            category.get("sector"),
        ]
    )

    metrics = _mapping(company.get("metrics"))
    set_employees(facts, metrics.get("employees"), metrics.get("employeesRange"))
    _set_revenue(facts, metrics)

    geo = _mapping(company.get("geo"))
    set_location(
        facts,
        city=geo.get("city"),
        region=geo.get("stateCode") or geo.get("state"),
        country=geo.get("countryCode") or geo.get("country"),
    )
    set_technologies(
        facts, [tag_display_name(str(tag)) for tag in company.get("tech") or [] if tag]
    )
    facts.description = as_text(company.get("description"))

    raised = parse_amount(facts, metrics.get("raised"), field="funding raised")
    if raised is not None:
        facts.funding = FundingInfo(total=raised)

    for network, base_url in _SOCIAL_BASE_URLS.items():
        handle = as_text(_mapping(company.get(network)).get("handle"))
        if handle:
            add_social_link(facts, network, base_url + handle.lstrip("/"))
    return facts


def tag_display_name(tag: str) -> str:
    """Turn a Clearbit tech tag such as ``google_tag_manager`` into ``Google Tag Manager``."""
    words = tag.replace("_", " ").split()
    alias = TECHNOLOGY_ALIASES.get(" ".join(words).casefold())
    if alias is not None:
        return alias
    return " ".join(word.upper() if word in _ACRONYMS else word.capitalize() for word in words)


def _set_revenue(facts: CompanyFacts, metrics: dict[str, Any]) -> None:
    exact = metrics.get("annualRevenue")
    if exact not in (None, ""):
        facts.revenue = parse_amount(facts, exact, field="annual revenue")
        facts.revenue_raw = str(exact)
        if facts.revenue is not None:
            return
    band = as_text(metrics.get("estimatedAnnualRevenue"))
    if band:
        facts.revenue = parse_money_band(facts, band, field="estimated annual revenue")
        facts.revenue_raw = band


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
