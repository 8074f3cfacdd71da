"""Apollo.io Organization Enrichment.

``GET /api/v1/organizations/enrich?domain=example.com`` with the key in the ``X-Api-Key``
header returns ``{"organization": {...}}``, as in Apollo's Organization Enrichment
reference and its published example responses. ``annual_revenue`` and ``total_funding``
are US dollars. 401 means an invalid key, and 403 a key or plan without access to the
endpoint. NOTE: the examples do not show an unknown domain. A 404, or a 200 whose
``organization`` is missing, null or empty, is read as not found. A 200 whose body is not
a JSON object, or whose ``organization`` is not an object, is a malformed response.
"""

from __future__ import annotations

import logging
from typing import Any

from enrichment.providers.base import (
    CompanyFacts,
    CompanyNotFound,
    FundingInfo,
    Provider,
    ProviderUnavailable,
)
from enrichment.providers.mapping import (
    add_social_link,
    as_text,
    describe_json,
    first_text,
    parse_amount,
    read_date,
    set_employees,
    set_location,
    set_technologies,
    set_website,
)

logger = logging.getLogger(__name__)

ENRICH_PATH = "/api/v1/organizations/enrich"


class ApolloProvider(Provider):
    name = "apollo"
    default_base_url = "https://api.apollo.io"

    def fetch(self, domain: str) -> CompanyFacts:
        config = self.client.config
        key_setting = config.setting_name("api_key")
        response = self.client.request_json(
            "GET",
            ENRICH_PATH,
            domain=domain,
            params={"domain": domain},
            headers={
                "X-Api-Key": self.require_setting(config.api_key, key_setting, domain),
                "Accept": "application/json",
                "Cache-Control": "no-cache",
            },
            use_cache=True,
            cache_if=lambda response: bool(_organization(response.data)),
        )
        self.raise_for_status(response, domain, key_setting)
        problem = _malformed_reason(response.data)
        if problem:
            logger.error("apollo returned a malformed response for %s: %s", domain, problem)
            raise ProviderUnavailable(
                self.name,
                domain,
                f"Apollo returned a malformed response: {problem}. Try again later.",
            )
        organization = _organization(response.data)
        if not organization:
            logger.info("apollo has no organization for %s", domain)
            raise CompanyNotFound(self.name, domain, "Apollo returned no organization for it.")

        facts = map_organization(organization, domain)
        facts.fetched_at = response.fetched_at
        facts.from_cache = response.from_cache
        return facts


def _malformed_reason(data: Any) -> str:
    """Return what is wrong with the shape of a 200 response's body, or "" when nothing is."""
    if not isinstance(data, dict):
        body = "empty" if data is None else describe_json(data)
        return f"the body is {body}, not a JSON object"
    organization = data.get("organization")
    if organization is not None and not isinstance(organization, dict):
        return f'"organization" is {describe_json(organization)}, not an object'
    return ""


def _organization(data: Any) -> dict[str, Any]:
    """Return the ``organization`` object of a response, or {} when Apollo has none."""
    if not isinstance(data, dict):
        return {}
    organization = data.get("organization")
    return organization if isinstance(organization, dict) else {}


def map_organization(organization: dict[str, Any], domain: str) -> CompanyFacts:
    """Map an Apollo ``organization`` object to CompanyFacts."""
    facts = CompanyFacts(source=ApolloProvider.name, domain=domain, raw=organization)
    facts.name = as_text(organization.get("name"))
    set_website(facts, organization.get("website_url"), organization.get("primary_domain"))
    facts.industry = first_text(
        [organization.get("industry"), *(organization.get("industries") or [])]
    )
    set_employees(facts, organization.get("estimated_num_employees"))

    revenue = organization.get("annual_revenue")
    if revenue not in (None, ""):
        facts.revenue = parse_amount(facts, revenue, field="annual revenue")
        facts.revenue_raw = as_text(organization.get("annual_revenue_printed")) or str(revenue)

    set_location(
        facts,
        city=organization.get("city"),
        region=organization.get("state"),
        country=organization.get("country"),
    )
    set_technologies(facts, _technology_names(organization))
    facts.description = as_text(organization.get("short_description"))
    facts.funding = _funding(facts, organization)
    for network in ("linkedin", "twitter", "facebook"):
        add_social_link(facts, network, organization.get(f"{network}_url"))
    return facts


def _technology_names(organization: dict[str, Any]) -> list[str]:
    names = organization.get("technology_names")
    if isinstance(names, list) and names:
        return [str(name) for name in names if name]
    current = organization.get("current_technologies")
    if isinstance(current, list):
        return [
            str(item.get("name")) for item in current if isinstance(item, dict) and item.get("name")
        ]
    return []


def _funding(facts: CompanyFacts, organization: dict[str, Any]) -> FundingInfo | None:
    total = parse_amount(facts, organization.get("total_funding"), field="total funding")
    stage = as_text(organization.get("latest_funding_stage"))
    round_date = read_date(organization.get("latest_funding_round_date"))
    latest_amount = None
    events = organization.get("funding_events")
    if isinstance(events, list) and events and isinstance(events[0], dict):
        # Apollo lists the newest round first, with the amount as printed text ("1.8M") and
        # the currency as a symbol ("$").
        event = events[0]
        printed = f"{as_text(event.get('currency'))}{as_text(event.get('amount'))}"
        latest_amount = parse_amount(facts, printed or None, field="funding round amount")
    if total is None and not stage and round_date is None and latest_amount is None:
        return None
    return FundingInfo(
        total=total, latest_stage=stage, latest_round_date=round_date, latest_amount=latest_amount
    )
