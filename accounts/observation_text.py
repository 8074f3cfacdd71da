"""Observation values and buying signals as a person reads them on the account page.

Observations store normalized JSON: head counts as ``{"count", "min", "max",
"approximate"}``, money as ``{"amount", "currency", "usd"}``, industries as
``{"industry_id", "label"}`` and so on (see ``accounts.importing.rows`` and
``enrichment.services.facts_observations``). These functions turn each shape into one
line of text, such as "11–50 employees" or "€7,000,000 (about $8,190,000)".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.text import capfirst

EMPTY = "—"

# Symbols written before an amount. Other currencies follow the amount as an ISO code.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}

# Buying signals that imports, notes and the demo data write, with their labels. Other
# signals are free text from a source or a person.
BUYING_SIGNAL_LABELS = {
    "recent_funding": "Recent funding",
    "recent funding": "Recent funding",
    "funding": "Funding",
    "hiring": "Hiring",
    "expansion": "Expansion",
}
SLUG = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")

SOCIAL_NETWORK_LABELS = {
    "linkedin": "LinkedIn",
    "twitter": "Twitter",
    "github": "GitHub",
    "facebook": "Facebook",
}


def buying_signal_label(signal: Any) -> str:
    """Return the label of a buying signal, such as "Recent funding" for recent_funding.

    A slug (lower case words joined by underscores) reads as words. Free text keeps its
    words and only gets an upper-case first letter.
    """
    text = str(signal).strip()
    known = BUYING_SIGNAL_LABELS.get(text.casefold())
    if known:
        return known
    if SLUG.fullmatch(text):
        text = text.replace("_", " ")
    return capfirst(text)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def money_text(amount: Any, currency: str | None) -> str:
    """Return an amount such as "$8,190,000", "€12.50" or "7,000,000 CHF".

    Whole amounts drop their cents. Returns "" for an amount that is not a number.
    """
    number = _decimal(amount)
    if number is None:
        return ""
    code = (currency or "USD").upper()
    if number == number.to_integral_value():
        digits = f"{abs(number):,.0f}"
    else:
        digits = f"{abs(number):,.2f}"
    sign = "-" if number < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}"


def _money_value_text(value: Mapping[str, Any]) -> str:
    """Return a money value in its currency, with the US-dollar amount when converted."""
    currency = str(value.get("currency") or "USD")
    text = money_text(value.get("amount"), currency)
    if not text:
        return EMPTY
    usd = money_text(value.get("usd"), "USD")
    if usd and currency.upper() != "USD":
        text = f"{text} (about {usd})"
    return text


def _count_text(count: int) -> str:
    return f"{count:,} employee" if count == 1 else f"{count:,} employees"


def employees_text(value: Mapping[str, Any]) -> str:
    """Return a head count such as "27 employees", "about 27 employees" or "11–50 employees"."""
    minimum, maximum, count = value.get("min"), value.get("max"), value.get("count")
    if minimum is not None and maximum is None:
        return f"{minimum:,}+ employees"
    if minimum is not None and maximum is not None and minimum != maximum:
        return f"{minimum:,}–{maximum:,} employees"
    if count is None:
        count = minimum
    if count is None:
        return EMPTY
    text = _count_text(count)
    return f"about {text}" if value.get("approximate") else text


def industry_text(value: Mapping[str, Any], industry_names: Mapping[int, str]) -> str:
    """Return the canonical industry's name, or the source's label marked as not mapped."""
    label = str(value.get("label") or "")
    industry_id = value.get("industry_id")
    if industry_id is None:
        return f"{label} (not mapped)" if label else EMPTY
    name = industry_names.get(industry_id)
    if name:
        return name
    # The industry was deleted after the observation was recorded.
    return f"{label} (industry {industry_id}, deleted)" if label else f"Industry {industry_id}"


def location_text(value: Mapping[str, Any]) -> str:
    """Return a location such as "Bentonville, AR, US"."""
    parts = [str(value.get(name) or "").strip() for name in ("city", "region", "country")]
    return ", ".join(part for part in parts if part) or EMPTY


def funding_text(value: Mapping[str, Any]) -> str:
    """Return funding such as "$20,000,000 in total; latest round Series B, $10,000,000"."""
    parts = []
    total = value.get("total")
    if isinstance(total, Mapping):
        total_text = money_text(total.get("amount"), total.get("currency"))
        if total_text:
            parts.append(f"{total_text} in total")
    latest = []
    if value.get("latest_stage"):
        latest.append(str(value["latest_stage"]))
    latest_amount = value.get("latest_amount")
    if isinstance(latest_amount, Mapping):
        amount_text = money_text(latest_amount.get("amount"), latest_amount.get("currency"))
        if amount_text:
            latest.append(amount_text)
    if value.get("latest_round_date"):
        latest.append(str(value["latest_round_date"]))
    if latest:
        parts.append("latest round " + ", ".join(latest))
    return "; ".join(parts) or EMPTY


def _social_links_text(value: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{SOCIAL_NETWORK_LABELS.get(str(network), capfirst(str(network)))}: {url}"
        for network, url in value.items()
        if url
    )


def _mapping_text(value: Mapping[str, Any]) -> str:
    """Return a mapping of an unknown shape as "Key: value" pairs."""
    return "; ".join(
        f"{capfirst(str(key).replace('_', ' '))}: {item}" for key, item in value.items()
    )


MONEY_FIELDS = frozenset({"revenue", "market_cap", "ebitda"})


def observation_text(field_name: str, value: Any, industry_names: Mapping[int, str]) -> str:
    """Return an observation's value as one line of text, EMPTY when it has none.

    ``industry_names`` maps industry ids to names, for industry observations.
    """
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        if field_name == "buying_signals":
            items = [
                buying_signal_label(item) if isinstance(item, str) else _mapping_text(item)
                for item in value
            ]
        else:
            items = [
                _mapping_text(item) if isinstance(item, Mapping) else str(item) for item in value
            ]
        return ", ".join(items)
    if not isinstance(value, Mapping):
        return str(value)
    if field_name == "industry":
        return industry_text(value, industry_names)
    if field_name == "employees":
        return employees_text(value)
    if field_name in MONEY_FIELDS or ("amount" in value and "currency" in value):
        return _money_value_text(value)
    if field_name == "location":
        return location_text(value)
    if field_name == "funding":
        return funding_text(value)
    if field_name == "social_links":
        return _social_links_text(value) or EMPTY
    return _mapping_text(value) or EMPTY
