"""Helpers that map provider values into CompanyFacts with the account normalizers.

A value the normalizers reject is left empty and its error, which names the raw value,
goes to ``facts.review_flags``. So a value that cannot be normalized does not fail the lookup.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from accounts.importing.rows import technology_length_flags
from accounts.normalizers import (
    Money,
    UnparsedValue,
    clean_text,
    is_too_large,
    normalize_technologies,
    parse_employee_count,
    parse_money,
    resolve_location,
    website_url,
)
from enrichment.providers.base import CompanyFacts

logger = logging.getLogger(__name__)


def as_text(value: Any) -> str:
    """Return a cleaned string for a provider value; None, lists and dicts give ""."""
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return clean_text(str(value))


def describe_json(value: Any) -> str:
    """Describe a decoded JSON value for an error message, such as 'a string ("Acme")'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        kind = "an object"
    elif isinstance(value, list):
        kind = "an array"
    elif isinstance(value, str):
        kind = "a string"
    else:
        kind = "a number"
    excerpt = json.dumps(value, default=str)
    if len(excerpt) > 80:
        excerpt = excerpt[:77] + "..."
    return f"{kind} ({excerpt})"


def flag(facts: CompanyFacts, error: UnparsedValue) -> None:
    """Record a value that could not be normalized."""
    logger.info("%s value for %s needs review: %s", facts.source, facts.domain, error)
    facts.review_flags.append(f"{facts.source}: {error}")


def set_technologies(facts: CompanyFacts, names: list[str]) -> None:
    """Set ``technologies`` from the provider's names, and flag each name stored cut."""
    facts.technologies = normalize_technologies(names)
    for review_flag in technology_length_flags(names):
        logger.info(
            "%s value for %s needs review: %s", facts.source, facts.domain, review_flag["message"]
        )
        facts.account_flags.append(review_flag)


def set_employees(facts: CompanyFacts, *values: Any) -> None:
    """Set ``employees`` from the first value that parses; keep that value's text."""
    for value in values:
        if value is None or value == "":
            continue
        try:
            employees = parse_employee_count(value)
        except UnparsedValue as error:
            flag(facts, error)
            continue
        if employees is not None:
            facts.employees = employees
            facts.employees_raw = str(value)
            return


def parse_amount(
    facts: CompanyFacts,
    value: Any,
    *,
    field: str,
    multiplier: int = 1,
    default_currency: str = "USD",
) -> Money | None:
    """Parse one money amount, flagging it when it cannot be read."""
    if value is None or value == "":
        return None
    try:
        money = parse_money(
            value, default_currency=default_currency, multiplier=multiplier, field=field
        )
    except UnparsedValue as error:
        flag(facts, error)
        return None
    return _storable(facts, money, field=field, text=str(value))


def _storable(facts: CompanyFacts, money: Money | None, *, field: str, text: str) -> Money | None:
    """Return ``money``, or flag it and return None when it is too large to store."""
    if money is not None and is_too_large(money.amount):
        flag(facts, UnparsedValue(field, text, "the amount is too large: check the unit"))
        return None
    return money


def parse_money_band(facts: CompanyFacts, text: str, *, field: str) -> Money | None:
    """Read a revenue band such as ``$10M-$50M`` or ``$10B+`` as one estimate.

    A closed band gives its midpoint and an open band its lower bound, because the
    account stores a single revenue figure. Single amounts parse as usual.
    """
    cleaned = text.strip()
    if not cleaned:
        return None
    if cleaned.endswith("+"):
        return parse_amount(facts, cleaned[:-1], field=field)
    low_text, separator, high_text = cleaned.partition("-")
    if not separator:
        return parse_amount(facts, cleaned, field=field)
    try:
        low = parse_money(low_text, field=field)
        high = parse_money(high_text, field=field)
    except UnparsedValue as error:
        flag(facts, error)
        return None
    if low is None or high is None or low.currency != high.currency or high.amount < low.amount:
        flag(facts, UnparsedValue(field, text, "expected a band such as $10M-$50M"))
        return None
    midpoint = Money((low.amount + high.amount) / Decimal(2), low.currency)
    return _storable(facts, midpoint, field=field, text=text)


def set_location(facts: CompanyFacts, *, city: Any, region: Any, country: Any) -> None:
    """Set city, region and country (ISO alpha-2) and flag conflicts between them."""
    location = resolve_location(
        city=as_text(city), region=as_text(region), country=as_text(country)
    )
    facts.city = location.city
    facts.region = location.region
    facts.country = location.country or ""
    for message in location.flags:
        facts.review_flags.append(f"{facts.source}: {message}")


def set_website(facts: CompanyFacts, *values: Any) -> None:
    """Set ``website`` from the first value that is a valid http(s) URL."""
    for value in values:
        text = as_text(value)
        if not text:
            continue
        try:
            url = website_url(text)
        except UnparsedValue as error:
            flag(facts, error)
            continue
        if url:
            facts.website = url
            return


def add_social_link(facts: CompanyFacts, network: str, url: Any) -> None:
    """Add a profile URL for ``network`` unless one is already set."""
    text = as_text(url)
    if not text or network in facts.social_links:
        return
    if not text.startswith(("http://", "https://")):
        text = "https://" + text.lstrip("/")
    facts.social_links[network] = text


def read_date(value: Any) -> date | None:
    """Parse an ISO 8601 date or date-time (``2023-03-01T00:00:00.000+00:00``)."""
    text = as_text(value)
    if not text:
        return None
    try:
        moment = parse_datetime(text)
        if moment is not None:
            return moment.date()
        return parse_date(text[:10])
    except ValueError:
        return None


def first_text(values: Iterable[Any]) -> str:
    """Return the first non-empty cleaned text of ``values``."""
    for value in values:
        text = as_text(value)
        if text:
            return text
    return ""
