"""ZoomInfo Enterprise API: authentication and Company Enrich.

``POST /authenticate`` returns ``{"jwt": "..."}``. It takes either a JSON body with
``username`` and ``password``, or (PKI) a client JWT signed with the private key in the
``Authorization: Bearer`` header. ZoomInfo's access token is valid for 60 minutes and the
API documentation tells clients not to authenticate on every request, so the token is
kept in the Django cache until 5 minutes before it expires.

``POST /enrich/company`` takes ``{"matchCompanyInput": [...], "outputFields": [...]}``
and returns ``{"success": true, "data": {"outputFields": [...], "result": [{"input":
{...}, "data": [{...}], "matchStatus": "FULL_MATCH"}]}}``. ``revenue`` is in thousands of
US dollars (100000 is $100M), per ZoomInfo's output field list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from typing import Any

from django.core.cache import cache

from enrichment.http import JsonResponse, ProviderConfig
from enrichment.providers.base import (
    CompanyFacts,
    CompanyNotFound,
    FundingInfo,
    Provider,
    ProviderAuthError,
    ProviderNotConfigured,
    ProviderUnavailable,
    provider_error_detail,
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

AUTHENTICATE_PATH = "/authenticate"
ENRICH_PATH = "/enrich/company"

# ZoomInfo documents a 60-minute token and a refresh after 55 minutes.
TOKEN_LIFETIME_SECONDS = 60 * 60
TOKEN_REFRESH_MARGIN_SECONDS = 5 * 60
# Claims of the PKI client JWT, as in ZoomInfo's api-auth-python-client.
CLIENT_JWT_AUDIENCE = "enterprise_api"
CLIENT_JWT_ISSUER = "api-client@zoominfo.com"
CLIENT_JWT_LIFETIME_SECONDS = 300

OUTPUT_FIELDS = [
    "id",
    "name",
    "website",
    "domainList",
    "revenue",
    "revenueRange",
    "employeeCount",
    "employeeRange",
    "city",
    "state",
    "country",
    "primaryIndustry",
    "industries",
    "descriptionList",
    "socialMediaUrls",
    "techAttributes",
    "totalFundingAmount",
    "recentFundingAmount",
    "recentFundingDate",
]

# matchStatus values that carry a matched company.
MATCHED_STATUSES = frozenset({"FULL_MATCH", "PARTIAL_MATCH", "COMPANY_ONLY_MATCH"})

_SOCIAL_NETWORKS = {
    "LINKED_IN": "linkedin",
    "LINKEDIN": "linkedin",
    "TWITTER": "twitter",
    "FACEBOOK": "facebook",
    "GITHUB": "github",
}


class ZoomInfoProvider(Provider):
    name = "zoominfo"
    default_base_url = "https://api.zoominfo.com"

    def fetch(self, domain: str) -> CompanyFacts:
        config = self.client.config
        body = {
            "matchCompanyInput": [{"companyWebsite": f"http://www.{domain}"}],
            "outputFields": OUTPUT_FIELDS,
        }
        # A cached response needs no access token, so authentication is skipped for it.
        response = self.client.cached_response("POST", ENRICH_PATH, domain=domain, json_body=body)
        if response is None:
            response = self._enrich(self.access_token(config, domain), body, domain)
        if response.status == 401:
            # The cached token may have been revoked before its expiry time.
            logger.warning(
                "zoominfo rejected the cached token for %s: authenticating again", domain
            )
            self.forget_token(config)
            token = self.access_token(config, domain)
            response = self._enrich(token, body, domain)
        self.raise_for_status(response, domain, self._credential_settings(config))

        company = self._matched_company(response, domain)
        facts = map_company(company, domain)
        facts.fetched_at = response.fetched_at
        facts.from_cache = response.from_cache
        return facts

    def _enrich(self, token: str, body: dict[str, Any], domain: str) -> JsonResponse:
        return self.client.request_json(
            "POST",
            ENRICH_PATH,
            domain=domain,
            json_body=body,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            use_cache=True,
            cache_if=lambda response: _first_match(response.data) is not None,
        )

    def _matched_company(self, response: JsonResponse, domain: str) -> dict[str, Any]:
        payload = response.data
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            if isinstance(payload, dict):
                problem = f'"data" is {describe_json(payload.get("data"))}'
            else:
                problem = "the body is " + ("empty" if payload is None else describe_json(payload))
            logger.error("zoominfo response for %s has no data object: %s", domain, problem)
            raise ProviderUnavailable(
                self.name, domain, f"ZoomInfo returned no data object: {problem}. Try again later."
            )
        if payload.get("success") is False:
            logger.error("zoominfo reported a failure for %s: %s", domain, payload.get("error"))
            raise ProviderUnavailable(
                self.name, domain, f"ZoomInfo reported a failure: {payload.get('error') or payload}"
            )
        company = _first_match(payload)
        problem = _malformed_reason(payload["data"]) if company is None else ""
        if problem:
            logger.error("zoominfo returned a malformed response for %s: %s", domain, problem)
            raise ProviderUnavailable(
                self.name,
                domain,
                f"ZoomInfo returned a malformed response: {problem}. Try again later.",
            )
        if company is None:
            statuses = [
                str(result.get("matchStatus") or "none")
                for result in payload["data"].get("result") or []
                if isinstance(result, dict)
            ]
            match_statuses = ", ".join(statuses) or "none"
            logger.info("zoominfo found no match for %s (matchStatus %s)", domain, match_statuses)
            raise CompanyNotFound(
                self.name,
                domain,
                f"ZoomInfo found no matching company (matchStatus {match_statuses}).",
            )
        return company

    # Authentication --------------------------------------------------------------------

    def access_token(self, config: ProviderConfig, domain: str) -> str:
        """Return a cached access token, or authenticate and cache a new one."""
        key = self._token_cache_key(config)
        cached = cache.get(key)
        if isinstance(cached, str) and cached:
            return cached

        response = self.client.request_json(
            "POST", AUTHENTICATE_PATH, domain=domain, **self._authentication_request(config, domain)
        )
        if response.status in (400, 401, 403):
            self._raise_authentication_failed(config, domain, response)
        self.raise_for_status(response, domain, self._credential_settings(config))
        token = response.data.get("jwt") if isinstance(response.data, dict) else None
        if not isinstance(token, str) or not token:
            logger.error("zoominfo authentication for %s returned no jwt", domain)
            raise ProviderUnavailable(
                self.name, domain, "ZoomInfo's /authenticate response has no jwt. Try again later."
            )
        lifetime = _token_lifetime(token) - TOKEN_REFRESH_MARGIN_SECONDS
        if lifetime > 0:
            cache.set(key, token, timeout=int(lifetime))
        logger.info("zoominfo access token obtained, cached for %ss", max(int(lifetime), 0))
        return token

    def forget_token(self, config: ProviderConfig) -> None:
        """Drop the cached access token, so the next lookup authenticates again."""
        cache.delete(self._token_cache_key(config))

    def _authentication_request(self, config: ProviderConfig, domain: str) -> dict[str, Any]:
        options = config.options
        username = str(options.get("username") or "")
        if options.get("client_id") or options.get("private_key"):
            client_id = self.require_setting(
                str(options.get("client_id") or ""), config.setting_name("client_id"), domain
            )
            private_key = self.require_setting(
                str(options.get("private_key") or ""), config.setting_name("private_key"), domain
            )
            self.require_setting(username, config.setting_name("username"), domain)
            client_jwt = self._client_jwt(config, username, client_id, private_key, domain)
            return {
                "headers": {"Authorization": f"Bearer {client_jwt}", "Accept": "application/json"}
            }

        self.require_setting(username, config.setting_name("username"), domain)
        password = self.require_setting(
            str(options.get("password") or ""), config.setting_name("password"), domain
        )
        return {
            "json_body": {"username": username, "password": password},
            "headers": {"Accept": "application/json"},
        }

    def _client_jwt(
        self, config: ProviderConfig, username: str, client_id: str, private_key: str, domain: str
    ) -> str:
        try:
            import jwt
        except ImportError as error:
            raise ProviderNotConfigured(
                self.name,
                domain,
                f"{config.setting_name('client_id')} selects PKI authentication, which needs "
                "the PyJWT package with RSA support: pip install 'PyJWT[crypto]'. Or use "
                "username and password instead.",
            ) from error
        now = int(time.time())
        claims = {
            "aud": CLIENT_JWT_AUDIENCE,
            "iss": CLIENT_JWT_ISSUER,
            "iat": now,
            "exp": now + CLIENT_JWT_LIFETIME_SECONDS,
            "client_id": client_id,
            "username": username,
        }
        try:
            return jwt.encode(claims, private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            logger.error("zoominfo client JWT could not be signed for %s: %s", domain, error)
            raise ProviderAuthError(
                self.name,
                domain,
                f"{config.setting_name('private_key')} is not a valid RSA private key in PEM "
                f"format ({type(error).__name__}). Paste the key from the ZoomInfo Admin Portal.",
            ) from error

    def _raise_authentication_failed(
        self, config: ProviderConfig, domain: str, response: JsonResponse
    ) -> None:
        detail = provider_error_detail(response)
        logger.warning("zoominfo authentication failed with HTTP %s: %s", response.status, detail)
        detail_text = f" Provider message: {detail}" if detail else ""
        raise ProviderAuthError(
            self.name,
            domain,
            f"ZoomInfo rejected the credentials (HTTP {response.status}). Check "
            f"{self._credential_settings(config)}.{detail_text}",
        )

    def _credential_settings(self, config: ProviderConfig) -> str:
        if config.options.get("client_id") or config.options.get("private_key"):
            keys = ("username", "client_id", "private_key")
        else:
            keys = ("username", "password")
        return ", ".join(config.setting_name(key) for key in keys)

    def _token_cache_key(self, config: ProviderConfig) -> str:
        identity = "|".join(
            [
                config.base_url,
                str(config.options.get("username") or ""),
                str(config.options.get("client_id") or ""),
            ]
        )
        return "enrichment:zoominfo:token:" + hashlib.sha256(identity.encode()).hexdigest()


def _first_match(payload: Any) -> dict[str, Any] | None:
    """Return the first matched company record of an enrich response, or None."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return None
    for result in payload["data"].get("result") or []:
        if not isinstance(result, dict):
            continue
        status = str(result.get("matchStatus") or "")
        companies = [item for item in result.get("data") or [] if isinstance(item, dict)]
        if companies and (not status or status in MATCHED_STATUSES):
            return companies[0]
    return None


def _malformed_reason(data: dict[str, Any]) -> str:
    """Return what is wrong with the shape of an enrich response's ``data``, or "".

    A missing or empty ``result`` is not malformed: it means no match.
    """
    results = data.get("result")
    if results is None:
        return ""
    if not isinstance(results, list):
        return f'"data.result" is {describe_json(results)}, not an array'
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            return f'"data.result[{index}]" is {describe_json(result)}, not an object'
        companies = result.get("data")
        if companies is None:
            continue
        if not isinstance(companies, list):
            return f'"data.result[{index}].data" is {describe_json(companies)}, not an array'
        for position, company in enumerate(companies):
            if not isinstance(company, dict):
                return (
                    f'"data.result[{index}].data[{position}]" is {describe_json(company)}, '
                    "not an object"
                )
    return ""


def _token_lifetime(token: str) -> float:
    """Return the seconds until the token's ``exp`` claim, or the documented 60 minutes.

    The claim is read without verifying the signature: it only decides when to refresh.
    """
    try:
        payload_part = token.split(".")[1]
        padded = payload_part + "=" * (-len(payload_part) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
        return float(claims["exp"]) - time.time()
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        return float(TOKEN_LIFETIME_SECONDS)


def map_company(company: dict[str, Any], domain: str) -> CompanyFacts:
    """Map one ZoomInfo Company Enrich record to CompanyFacts."""
    facts = CompanyFacts(source=ZoomInfoProvider.name, domain=domain, raw=company)
    facts.name = as_text(company.get("name"))
    set_website(facts, company.get("website"), *(company.get("domainList") or []))
    facts.industry = first_text(
        [*(company.get("primaryIndustry") or []), *(company.get("industries") or [])]
    )
    set_employees(facts, company.get("employeeCount"), company.get("employeeRange"))

    revenue = company.get("revenue")
    if revenue not in (None, "", 0):
        facts.revenue = parse_amount(facts, revenue, field="revenue", multiplier=1000)
        facts.revenue_raw = f"{revenue} (thousands of USD)"
    elif company.get("revenueRange"):
        facts.revenue_raw = as_text(company.get("revenueRange"))

    set_location(
        facts, city=company.get("city"), region=company.get("state"), country=company.get("country")
    )
    set_technologies(
        facts,
        [
            as_text(item.get("product"))
            for item in company.get("techAttributes") or []
            if isinstance(item, dict)
        ],
    )
    facts.description = first_text(
        item.get("description")
        for item in company.get("descriptionList") or []
        if isinstance(item, dict)
    )
    facts.funding = _funding(facts, company)
    for item in company.get("socialMediaUrls") or []:
        if isinstance(item, dict):
            network = _SOCIAL_NETWORKS.get(str(item.get("type") or "").upper())
            if network:
                add_social_link(facts, network, item.get("url"))
    return facts


def _funding(facts: CompanyFacts, company: dict[str, Any]) -> FundingInfo | None:
    # NOTE: the output field list does not state the unit of the funding amounts. They
    # are read as thousands of USD, like revenue.
    total = parse_amount(
        facts, company.get("totalFundingAmount") or None, field="total funding", multiplier=1000
    )
    latest = parse_amount(
        facts, company.get("recentFundingAmount") or None, field="recent funding", multiplier=1000
    )
    round_date = read_date(company.get("recentFundingDate"))
    if total is None and latest is None and round_date is None:
        return None
    return FundingInfo(total=total, latest_round_date=round_date, latest_amount=latest)
