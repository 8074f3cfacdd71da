"""Normalizers for values from CRM and enrichment exports (pure Python, no Django).

Each parser returns a normalized value, returns None for an empty value or placeholder,
or raises UnparsedValue for a non-empty value it cannot interpret. Importers keep the
raw value of such a row and flag it for review instead of rejecting it.
"""

from .countries import (
    COUNTRY_ALIASES,
    US_STATES,
    WELL_KNOWN_CITIES,
    Location,
    country_code_fix,
    normalize_country,
    parse_location_text,
    region_code,
    resolve_location,
    us_state_code,
)
from .domains import (
    THIRD_PARTY_HOSTS,
    is_third_party_host,
    is_third_party_url,
    normalize_domain,
    registrable_domain,
    website_url,
    website_url_and_host,
)
from .employees import (
    MAX_EMPLOYEES,
    EmployeeRange,
    bounds_text,
    employee_range_from_bounds,
    from_size_bucket,
    parse_employee_count,
)
from .errors import UnparsedValue, sentence_end, sentence_start
from .money import (
    DEFAULT_RATES_TO_USD,
    MAX_AMOUNT,
    MAX_EXACT_DIGITS,
    RATES_SETTING,
    Money,
    convert_to_usd,
    is_currency_code,
    is_too_large,
    parse_currency,
    parse_money,
    round_converted_amount,
)
from .names import LEGAL_SUFFIXES, clean_company_name, company_name_key
from .numbers import parse_decimal
from .technologies import (
    MAX_TECHNOLOGY_LENGTH,
    TECHNOLOGY_ALIASES,
    long_technologies,
    normalize_technologies,
    technology_key,
    technology_length_message,
)
from .text import (
    MISSING_VALUE_TOKENS,
    clean_text,
    decode_character_references,
    industry_key,
    is_missing,
    strip_footnotes,
)

__all__ = [
    "COUNTRY_ALIASES",
    "DEFAULT_RATES_TO_USD",
    "LEGAL_SUFFIXES",
    "MAX_EMPLOYEES",
    "MISSING_VALUE_TOKENS",
    "RATES_SETTING",
    "TECHNOLOGY_ALIASES",
    "THIRD_PARTY_HOSTS",
    "US_STATES",
    "WELL_KNOWN_CITIES",
    "EmployeeRange",
    "Location",
    "MAX_AMOUNT",
    "MAX_EXACT_DIGITS",
    "MAX_TECHNOLOGY_LENGTH",
    "Money",
    "UnparsedValue",
    "bounds_text",
    "clean_company_name",
    "clean_text",
    "company_name_key",
    "convert_to_usd",
    "decode_character_references",
    "employee_range_from_bounds",
    "from_size_bucket",
    "industry_key",
    "is_currency_code",
    "is_too_large",
    "is_missing",
    "is_third_party_host",
    "is_third_party_url",
    "country_code_fix",
    "normalize_country",
    "normalize_domain",
    "long_technologies",
    "normalize_technologies",
    "parse_decimal",
    "parse_employee_count",
    "parse_currency",
    "parse_location_text",
    "parse_money",
    "registrable_domain",
    "region_code",
    "resolve_location",
    "round_converted_amount",
    "sentence_end",
    "sentence_start",
    "strip_footnotes",
    "technology_key",
    "technology_length_message",
    "us_state_code",
    "website_url",
    "website_url_and_host",
]
