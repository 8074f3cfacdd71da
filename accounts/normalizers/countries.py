"""Countries, states and provinces, and locations built from them.

``normalize_country`` accepts ISO 3166-1 alpha-2 and alpha-3 codes, the names pycountry
stores (short, official and common names, by exact lookup after folding) and the
aliases in COUNTRY_ALIASES (``USA``, ``U.K.``, ``England``, ``Holland``, ``UAE``,
``Ivory Coast`` …). Case, accents, periods, apostrophes and a leading ``The`` are ignored.
It returns the alpha-2 code. ``Korea`` means South Korea. Ambiguous names such as
``Congo`` and unknown names raise UnparsedValue(field="country").

``us_state_code`` and ``region_code`` map state and province names and abbreviations to
postal codes: USPS codes and AP-style abbreviations for the US, and the ISO 3166-2
subdivision codes of Canada, India and Australia with common variants. Indian, Canadian
and Australian codes are only used when the country is known, because ``TN``, ``WA``
and ``SA`` also mean other places.

``resolve_location`` combines city, region and country columns, and ``parse_location_text``
reads a one-string location such as ``San Francisco, CA, USA``. Both only flag conflicts
(a US state with country DE, Indianapolis with country IN) and never change a country
given in the data. WELL_KNOWN_CITIES is used for those flags, and parse_location_text
also uses it to choose between the two readings of ``DE`` or ``Georgia`` (US state or
country) in texts such as ``Berlin, DE``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

import pycountry

from .errors import UnparsedValue
from .text import (
    clean_text,
    collapse_whitespace,
    is_missing,
    remove_accents,
    replace_punctuation,
    strip_footnotes,
)

# Folded keys (see _place_key) of names that pycountry lacks or spells differently.
COUNTRY_ALIASES: dict[str, str] = {
    "us": "US",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "united states america": "US",
    "u s": "US",
    "u s a": "US",
    "uk": "GB",
    "u k": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "korea south": "KR",
    "s korea": "KR",
    "north korea": "KP",
    "korea north": "KP",
    "dprk": "KP",
    "czech republic": "CZ",
    "czechia": "CZ",
    "holland": "NL",
    "netherlands": "NL",
    "nederland": "NL",
    "uae": "AE",
    "u a e": "AE",
    "emirates": "AE",
    "vietnam": "VN",
    "viet nam": "VN",
    "turkey": "TR",
    "turkiye": "TR",
    "taiwan": "TW",
    "republic of china taiwan": "TW",
    "hong kong": "HK",
    "hong kong sar": "HK",
    "hong kong sar china": "HK",
    "macau": "MO",
    "macao": "MO",
    "ivory coast": "CI",
    "cote divoire": "CI",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "macedonia": "MK",
    "north macedonia": "MK",
    "brunei": "BN",
    "cape verde": "CV",
    "swaziland": "SZ",
    "eswatini": "SZ",
    "burma": "MM",
    "myanmar": "MM",
    "palestine": "PS",
    "state of palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "holy see": "VA",
    "micronesia": "FM",
    "st kitts and nevis": "KN",
    "saint kitts and nevis": "KN",
    "st lucia": "LC",
    "st vincent and the grenadines": "VC",
    "drc": "CD",
    "dr congo": "CD",
    "democratic republic of the congo": "CD",
    "democratic republic of congo": "CD",
    "congo kinshasa": "CD",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "east timor": "TL",
    "the bahamas": "BS",
    "the gambia": "GM",
    "curacao": "CW",
    "reunion": "RE",
    "aland": "AX",
    "aland islands": "AX",
    # Names in the country's own language that exports copy from local sources.
    "brasil": "BR",
    "deutschland": "DE",
    "espana": "ES",
    "italia": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "osterreich": "AT",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "belgique": "BE",
    "belgie": "BE",
    "polska": "PL",
    "cesko": "CZ",
    "magyarorszag": "HU",
    "eire": "IE",
}

# Folded names that fit more than one country. The message lists the candidates.
_AMBIGUOUS_COUNTRY_NAMES: dict[str, str] = {
    "congo": "Republic of the Congo (CG) or Democratic Republic of the Congo (CD)",
}

# Values meaning that the company has no single country.
_NO_COUNTRY_KEYS = frozenset({"remote", "fully remote", "worldwide", "global", "anywhere"})

# Full names, USPS codes and AP-style abbreviations (with common older variants) of the
# 50 states, the District of Columbia and Puerto Rico.
US_STATES: dict[str, str] = {
    "Alabama": "AL", "AL": "AL", "Ala.": "AL",
    "Alaska": "AK", "AK": "AK",
    "Arizona": "AZ", "AZ": "AZ", "Ariz.": "AZ",
    "Arkansas": "AR", "AR": "AR", "Ark.": "AR",
    "California": "CA", "CA": "CA", "Calif.": "CA", "Cal.": "CA", "Cali": "CA",
    "Colorado": "CO", "CO": "CO", "Colo.": "CO",
    "Connecticut": "CT", "CT": "CT", "Conn.": "CT",
    "Delaware": "DE", "DE": "DE", "Del.": "DE",
    "District of Columbia": "DC", "DC": "DC", "D.C.": "DC", "Washington, D.C.": "DC",
    "Washington D.C.": "DC",
    "Florida": "FL", "FL": "FL", "Fla.": "FL",
    "Georgia": "GA", "GA": "GA", "Ga.": "GA",
    "Hawaii": "HI", "Hawaiʻi": "HI", "HI": "HI",
    "Idaho": "ID", "ID": "ID",
    "Illinois": "IL", "IL": "IL", "Ill.": "IL",
    "Indiana": "IN", "IN": "IN", "Ind.": "IN",
    "Iowa": "IA", "IA": "IA",
    "Kansas": "KS", "KS": "KS", "Kan.": "KS", "Kans.": "KS",
    "Kentucky": "KY", "KY": "KY", "Ky.": "KY",
    "Louisiana": "LA", "LA": "LA", "La.": "LA",
    "Maine": "ME", "ME": "ME",
    "Maryland": "MD", "MD": "MD", "Md.": "MD",
    "Massachusetts": "MA", "MA": "MA", "Mass.": "MA",
    "Michigan": "MI", "MI": "MI", "Mich.": "MI",
    "Minnesota": "MN", "MN": "MN", "Minn.": "MN",
    "Mississippi": "MS", "MS": "MS", "Miss.": "MS",
    "Missouri": "MO", "MO": "MO", "Mo.": "MO",
    "Montana": "MT", "MT": "MT", "Mont.": "MT",
    "Nebraska": "NE", "NE": "NE", "Neb.": "NE", "Nebr.": "NE",
    "Nevada": "NV", "NV": "NV", "Nev.": "NV",
    "New Hampshire": "NH", "NH": "NH", "N.H.": "NH",
    "New Jersey": "NJ", "NJ": "NJ", "N.J.": "NJ",
    "New Mexico": "NM", "NM": "NM", "N.M.": "NM", "N. Mex.": "NM",
    "New York": "NY", "NY": "NY", "N.Y.": "NY",
    "North Carolina": "NC", "NC": "NC", "N.C.": "NC",
    "North Dakota": "ND", "ND": "ND", "N.D.": "ND", "N. Dak.": "ND",
    "Ohio": "OH", "OH": "OH",
    "Oklahoma": "OK", "OK": "OK", "Okla.": "OK",
    "Oregon": "OR", "OR": "OR", "Ore.": "OR", "Oreg.": "OR",
    "Pennsylvania": "PA", "PA": "PA", "Pa.": "PA", "Penn.": "PA", "Penna.": "PA",
    "Rhode Island": "RI", "RI": "RI", "R.I.": "RI",
    "South Carolina": "SC", "SC": "SC", "S.C.": "SC",
    "South Dakota": "SD", "SD": "SD", "S.D.": "SD", "S. Dak.": "SD",
    "Tennessee": "TN", "TN": "TN", "Tenn.": "TN",
    "Texas": "TX", "TX": "TX", "Tex.": "TX",
    "Utah": "UT", "UT": "UT",
    "Vermont": "VT", "VT": "VT", "Vt.": "VT",
    "Virginia": "VA", "VA": "VA", "Va.": "VA",
    "Washington": "WA", "WA": "WA", "Wash.": "WA",
    "West Virginia": "WV", "WV": "WV", "W.Va.": "WV", "W. Va.": "WV",
    "Wisconsin": "WI", "WI": "WI", "Wis.": "WI", "Wisc.": "WI",
    "Wyoming": "WY", "WY": "WY", "Wyo.": "WY",
    "Puerto Rico": "PR", "PR": "PR", "P.R.": "PR",
}  # fmt: skip

# Variants that the ISO 3166-2 names in pycountry do not cover, by country.
_REGION_ALIASES: dict[str, dict[str, str]] = {
    "CA": {
        "Que.": "QC", "Québec": "QC", "PQ": "QC", "Ont.": "ON", "B.C.": "BC", "Alta.": "AB",
        "Man.": "MB", "Sask.": "SK", "N.S.": "NS", "N.B.": "NB", "P.E.I.": "PE", "PEI": "PE",
        "Nfld.": "NL", "NF": "NL", "Newfoundland": "NL", "Yukon Territory": "YT",
        "Y.T.": "YT", "N.W.T.": "NT", "NWT": "NT",
    },
    "IN": {
        "CT": "CG", "TG": "TS", "OR": "OD", "Orissa": "OD", "Uttaranchal": "UK", "UT": "UK",
        "Pondicherry": "PY", "NCT of Delhi": "DL", "National Capital Territory of Delhi": "DL",
        "DD": "DH", "DN": "DH", "Jammu & Kashmir": "JK",
    },
    "AU": {
        "N.S.W.": "NSW", "Vic.": "VIC", "Qld.": "QLD", "Tas.": "TAS", "W.A.": "WA",
        "S.A.": "SA", "N.T.": "NT", "A.C.T.": "ACT",
    },
}  # fmt: skip

# Countries whose region column is stored as a postal code.
REGION_CODE_COUNTRIES = frozenset({"US", "CA", "IN", "AU"})

# Large cities and the country they are in. They flag rows for review and decide between
# the readings of a part that is both a US state and a country, but never set a country
# on their own. Names shared by another large city in a different country (Birmingham,
# Cambridge, Hamilton, Hyderabad, Perth, San Jose, Vancouver …) are left out because the
# check would flag correct rows.
WELL_KNOWN_CITIES: dict[str, str] = {
    # United States
    "New York": "US", "New York City": "US", "NYC": "US", "Brooklyn": "US",
    "Los Angeles": "US", "Chicago": "US", "Houston": "US", "Phoenix": "US",
    "Philadelphia": "US", "San Antonio": "US", "San Diego": "US", "Dallas": "US",
    "Austin": "US", "Jacksonville": "US", "Fort Worth": "US", "Columbus": "US",
    "Charlotte": "US", "Indianapolis": "US", "San Francisco": "US", "Seattle": "US",
    "Denver": "US", "Boston": "US", "Nashville": "US", "Detroit": "US",
    "Oklahoma City": "US", "Las Vegas": "US", "Memphis": "US", "Louisville": "US",
    "Baltimore": "US", "Milwaukee": "US", "Albuquerque": "US", "Tucson": "US",
    "Sacramento": "US", "Atlanta": "US", "Miami": "US", "Minneapolis": "US",
    "Saint Paul": "US", "St. Paul": "US", "Raleigh": "US", "Omaha": "US", "Oakland": "US",
    "Cleveland": "US", "Pittsburgh": "US", "Cincinnati": "US", "St. Louis": "US",
    "Saint Louis": "US", "Salt Lake City": "US", "Palo Alto": "US", "Mountain View": "US",
    "Menlo Park": "US", "Sunnyvale": "US", "Cupertino": "US", "Redmond": "US",
    "Santa Clara": "US", "Boulder": "US", "Honolulu": "US", "New Orleans": "US",
    "Orlando": "US", "Tampa": "US", "Kansas City": "US", "Bentonville": "US",
    # Canada
    "Toronto": "CA", "Montreal": "CA", "Calgary": "CA", "Ottawa": "CA", "Edmonton": "CA",
    "Winnipeg": "CA", "Quebec City": "CA", "Mississauga": "CA",
    # Europe
    "London": "GB", "Edinburgh": "GB", "Glasgow": "GB", "Leeds": "GB", "Liverpool": "GB",
    "Bristol": "GB", "Sheffield": "GB", "Belfast": "GB", "Cardiff": "GB",
    "Dublin": "IE", "Cork": "IE", "Galway": "IE",
    "Paris": "FR", "Lyon": "FR", "Marseille": "FR", "Toulouse": "FR", "Nice": "FR",
    "Bordeaux": "FR", "Lille": "FR", "Nantes": "FR",
    "Berlin": "DE", "Munich": "DE", "München": "DE", "Hamburg": "DE",
    "Frankfurt": "DE", "Frankfurt am Main": "DE", "Cologne": "DE", "Köln": "DE",
    "Stuttgart": "DE", "Düsseldorf": "DE", "Leipzig": "DE", "Dresden": "DE",
    "Amsterdam": "NL", "Rotterdam": "NL", "The Hague": "NL", "Den Haag": "NL",
    "Utrecht": "NL", "Eindhoven": "NL",
    "Brussels": "BE", "Antwerp": "BE", "Ghent": "BE",
    "Zurich": "CH", "Zürich": "CH", "Geneva": "CH", "Basel": "CH", "Lausanne": "CH",
    "Bern": "CH",
    "Vienna": "AT", "Wien": "AT",
    "Madrid": "ES", "Barcelona": "ES", "Seville": "ES", "Bilbao": "ES", "Málaga": "ES",
    "Lisbon": "PT", "Porto": "PT",
    "Rome": "IT", "Milan": "IT", "Turin": "IT", "Florence": "IT", "Bologna": "IT",
    "Stockholm": "SE", "Gothenburg": "SE", "Malmö": "SE",
    "Oslo": "NO", "Copenhagen": "DK", "Aarhus": "DK", "Helsinki": "FI", "Espoo": "FI",
    "Reykjavik": "IS",
    "Warsaw": "PL", "Kraków": "PL", "Wrocław": "PL", "Gdańsk": "PL",
    "Prague": "CZ", "Budapest": "HU", "Bucharest": "RO", "Cluj-Napoca": "RO",
    "Sofia": "BG", "Istanbul": "TR", "Ankara": "TR", "Kyiv": "UA", "Kiev": "UA",
    "Lviv": "UA", "Moscow": "RU", "Tallinn": "EE", "Vilnius": "LT", "Riga": "LV",
    # Middle East and Africa
    "Tel Aviv": "IL", "Tel Aviv-Yafo": "IL", "Jerusalem": "IL", "Haifa": "IL",
    "Herzliya": "IL", "Dubai": "AE", "Abu Dhabi": "AE", "Riyadh": "SA", "Jeddah": "SA",
    "Doha": "QA", "Cairo": "EG", "Lagos": "NG", "Abuja": "NG", "Nairobi": "KE",
    "Johannesburg": "ZA", "Cape Town": "ZA", "Durban": "ZA", "Casablanca": "MA",
    "Accra": "GH", "Tbilisi": "GE",
    # Asia
    "Bangalore": "IN", "Bengaluru": "IN", "Mumbai": "IN", "Bombay": "IN",
    "New Delhi": "IN", "Delhi": "IN", "Chennai": "IN", "Madras": "IN", "Kolkata": "IN",
    "Calcutta": "IN", "Pune": "IN", "Ahmedabad": "IN", "Gurgaon": "IN", "Gurugram": "IN",
    "Noida": "IN", "Jaipur": "IN", "Kochi": "IN", "Chandigarh": "IN",
    "Karachi": "PK", "Lahore": "PK", "Islamabad": "PK", "Dhaka": "BD", "Colombo": "LK",
    "Singapore": "SG", "Hong Kong": "HK", "Beijing": "CN", "Shanghai": "CN",
    "Shenzhen": "CN", "Guangzhou": "CN", "Hangzhou": "CN", "Chengdu": "CN",
    "Taipei": "TW", "Tokyo": "JP", "Osaka": "JP", "Kyoto": "JP", "Yokohama": "JP",
    "Seoul": "KR", "Busan": "KR", "Jakarta": "ID", "Kuala Lumpur": "MY",
    "Bangkok": "TH", "Ho Chi Minh City": "VN", "Hanoi": "VN", "Manila": "PH",
    # Oceania
    "Sydney": "AU", "Melbourne": "AU", "Brisbane": "AU", "Adelaide": "AU",
    "Canberra": "AU", "Auckland": "NZ", "Wellington": "NZ", "Christchurch": "NZ",
    # Latin America
    "Mexico City": "MX", "Guadalajara": "MX", "Monterrey": "MX",
    "São Paulo": "BR", "Rio de Janeiro": "BR", "Buenos Aires": "AR", "Bogotá": "CO",
    "Medellín": "CO", "Lima": "PE", "Montevideo": "UY", "Caracas": "VE", "Quito": "EC",
}  # fmt: skip


@dataclass(frozen=True)
class Location:
    """City, region and country of one company.

    ``region`` is a postal code for US, CA, IN and AU when it is recognized and the
    cleaned text otherwise. ``country`` is an ISO 3166-1 alpha-2 code or None. ``flags``
    are review messages for conflicts between the parts.
    """

    city: str
    region: str
    country: str | None
    flags: tuple[str, ...] = ()


_EMPTY_LOCATION = Location(city="", region="", country=None)

_SEGMENT_SEPARATOR_RE = re.compile(r"[;|\n]|\s/\s")
_TRAILING_NOTE_RE = re.compile(r"(?P<text>.+?)\s*\([^()]*\)")
_REMOTE_PREFIX_RE = re.compile(r"^(?:fully\s+)?remote\s*[-–—:]\s*", re.IGNORECASE)
_REMOTE_SUFFIX_RE = re.compile(r"\s*[-–—]\s*remote$", re.IGNORECASE)


def normalize_country(raw: str | None) -> str | None:
    """Return the ISO 3166-1 alpha-2 code of a country name or code.

    None, blank values, placeholders and ``Remote``/``Worldwide`` return None. Raises
    UnparsedValue(field="country") for ambiguous and unknown names, and for ``NA``, which
    is both Namibia's code and a placeholder for "not available".
    """
    if raw is None:
        return None
    if raw.strip().casefold() == "na":
        raise UnparsedValue(
            "country",
            raw,
            'it could mean Namibia or "not available". Enter Namibia or leave the country blank.',
        )
    if is_missing(raw):
        return None
    key = _place_key(strip_footnotes(clean_text(raw)))
    if key in _NO_COUNTRY_KEYS:
        return None
    if key in _AMBIGUOUS_COUNTRY_NAMES:
        raise UnparsedValue(
            "country", raw, f"it could mean {_AMBIGUOUS_COUNTRY_NAMES[key]}. Enter the ISO code."
        )
    code = _country_code_for_key(key)
    if code is None:
        raise UnparsedValue(
            "country",
            raw,
            "it is not a known country name or ISO 3166-1 code. Enter the English name "
            "or the two-letter code, for example DE.",
        )
    return code


def us_state_code(raw: str | None) -> str | None:
    """Return the USPS code of a US state, DC or Puerto Rico, or None when not recognized.

    Accepts the names, USPS codes and AP-style abbreviations in US_STATES, ignoring case,
    periods and spacing (``N.Y.``, ``n y`` and ``NY`` are the same).
    """
    if raw is None:
        return None
    return _us_state_code_for_key(_place_key(strip_footnotes(clean_text(raw))))


def region_code(raw: str | None, country: str | None) -> str | None:
    """Return the postal code of a state, province or territory of a US, CA, IN or AU location.

    Returns None when the country is another one or the region is not recognized.
    """
    if raw is None or country is None:
        return None
    key = _place_key(strip_footnotes(clean_text(raw)))
    if country == "US":
        return _us_state_code_for_key(key)
    if country not in REGION_CODE_COUNTRIES:
        return None
    return _region_index(country).get(key)


def resolve_location(
    *, city: str | None = "", region: str | None = "", country: str | None = ""
) -> Location:
    """Combine the city, region and country columns of one row into a Location.

    The country comes from the country column. When that column is empty and the region
    is a US state, the country is US. Conflicts add a flag and never change the country.
    Flagged conflicts are a US state with another country, an unknown region of a US,
    CA, IN or AU location and a city from WELL_KNOWN_CITIES in another country. The city
    check is skipped when the region is a valid region of the row's country. An unknown
    country value is flagged too and leaves the country None.
    """
    city_text = _clean_part(city)
    region_text = _clean_part(region)
    country_text = _clean_part(country)
    flags: list[str] = []

    country_code: str | None = None
    if country_text:
        try:
            country_code = normalize_country(country_text)
        except UnparsedValue as error:
            flags.append(f"Needs review: {error}")
    state = _us_state_code_for_key(_place_key(region_text)) if region_text else None
    if country_code is None and not country_text and state is not None:
        country_code = "US"

    region_out = region_text
    region_in_country = False
    if country_code is not None and region_text:
        code = region_code(region_text, country_code)
        region_in_country = code is not None or _is_subdivision_of(region_text, country_code)
        if code is not None:
            region_out = code
        elif state is not None and not _is_subdivision_of(region_text, country_code):
            flags.append(
                f'Needs review: region "{region_text}" is a US state, but the country is '
                f"{country_code}."
            )
        elif country_code in REGION_CODE_COUNTRIES:
            flags.append(
                f'Needs review: region "{region_text}" is not a known state, province or '
                f"territory of {country_code}."
            )

    # A valid region of the row's country names a place in that country, so a city name
    # shared with a larger foreign city (Dublin, OH or Warsaw, IN) is not a conflict.
    if city_text and country_code is not None and not region_in_country:
        usual_country = _well_known_city_country(city_text)
        if usual_country is not None and usual_country != country_code:
            flags.append(
                f'Needs review: city "{city_text}" is usually in {usual_country}, but the '
                f"country is {country_code}."
            )
    return Location(city_text, region_out, country_code, tuple(flags))


def parse_location_text(text: str | None) -> Location:
    """Read a one-string location such as ``San Francisco, CA, USA`` into a Location.

    Footnote markers are removed. Of several locations separated by ``;``, ``|``, line
    breaks or `` / ``, the first one that is not remote is used. Parts are separated by
    commas and read from the end:

    - a last part that is a US state (``CA``, ``Ark.``, ``D.C.``, ``Georgia``) gives US,
      unless the city is in WELL_KNOWN_CITIES in the country that the same text names as a
      country (``Berlin, DE``, ``Tbilisi, Georgia``);
    - otherwise a last part that is a country gives that country, and the part before it
      is the region when it is a region of that country or when two or more parts precede;
    - a single part is read as a country first, then as a US state, then as a city, so
      ``Georgia`` alone is the country and ``Washington`` alone is the state;
    - an unrecognized last part after a city is kept as the region with a flag.

    ``none``, ``Remote`` and blank text give a Location without a country.
    """
    if text is None:
        return _EMPTY_LOCATION
    cleaned = strip_footnotes(clean_text(text))
    for segment in _SEGMENT_SEPARATOR_RE.split(cleaned):
        parts = [part for part in map(_clean_part, segment.split(",")) if part]
        if parts:
            return _location_from_parts(parts)
    return _EMPTY_LOCATION


def _location_from_parts(parts: list[str]) -> Location:
    if len(parts) == 1:
        (only,) = parts
        if _country_or_none(only) is not None:
            return resolve_location(country=only)
        if us_state_code(only) is not None:
            return resolve_location(region=only)
        return resolve_location(city=only)

    last = parts[-1]
    rest = parts[:-1]
    state = us_state_code(last)
    country_code = _country_or_none(last)
    if state is not None and country_code is not None:
        city_country = _well_known_city_country(", ".join(rest))
        if city_country is not None and city_country == country_code:
            state = None
    if state is not None:
        return resolve_location(city=", ".join(rest), region=last)
    if country_code is not None:
        if len(rest) >= 2:
            return resolve_location(city=", ".join(rest[:-1]), region=rest[-1], country=last)
        if region_code(rest[0], country_code) is not None:
            return resolve_location(region=rest[0], country=last)
        return resolve_location(city=rest[0], country=last)

    location = resolve_location(city=", ".join(rest), region=last)
    flag = f'Needs review: "{last}" is not a known country or US state.'
    return Location(location.city, location.region, location.country, (*location.flags, flag))


def _clean_part(value: str | None) -> str:
    """Return the cleaned text of one location part, or "" for placeholders and remote."""
    if value is None:
        return ""
    text = collapse_whitespace(strip_footnotes(clean_text(value)))
    note = _TRAILING_NOTE_RE.fullmatch(text)
    if note is not None:
        text = note["text"]
    text = _REMOTE_SUFFIX_RE.sub("", _REMOTE_PREFIX_RE.sub("", text))
    if is_missing(text) or _place_key(text) in _NO_COUNTRY_KEYS:
        return ""
    return text


def _country_or_none(text: str) -> str | None:
    try:
        return normalize_country(text)
    except UnparsedValue:
        return None


def _well_known_city_country(city: str) -> str | None:
    """Return the country of the city, or of its first comma-separated part in the gazetteer."""
    index = _well_known_city_index()
    country = index.get(_place_key(city))
    if country is None and "," in city:
        for part in city.split(","):
            country = index.get(_place_key(part))
            if country is not None:
                break
    return country


@lru_cache(maxsize=16384)
def _place_key(text: str) -> str:
    """Fold a place name for lookups: ``U.S.A.`` -> ``usa``, ``The Netherlands`` -> ``netherlands``.

    Applies NFKC, casefolding and Latin accent folding, turns ``&`` into ``and``, deletes
    periods and apostrophes, turns other punctuation into spaces, collapses whitespace and
    removes a leading ``the``.
    """
    folded = remove_accents(unicodedata.normalize("NFKC", text).casefold())
    folded = collapse_whitespace(replace_punctuation(folded.replace("&", " and ")))
    if folded.startswith("the "):
        folded = folded[4:]
    return folded


@lru_cache(maxsize=16384)
def _country_code_for_key(key: str) -> str | None:
    code = COUNTRY_ALIASES.get(key)
    if code is None:
        code = _pycountry_index().get(key)
    return code


def _us_state_code_for_key(key: str) -> str | None:
    index = _us_state_index()
    code = index.get(key)
    if code is None and " " in key and all(len(word) <= 2 for word in key.split()):
        code = index.get(key.replace(" ", ""))  # spaced initials: "N. Y." -> "ny"
    return code


@cache
def _pycountry_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        names = [country.alpha_2, country.alpha_3, country.name]
        names += [getattr(country, attribute, "") for attribute in ("official_name", "common_name")]
        for name in names:
            if name:
                index.setdefault(_place_key(name), country.alpha_2)
    return index


@cache
def _us_state_index() -> dict[str, str]:
    return {_place_key(name): code for name, code in US_STATES.items()}


@cache
def _region_index(country: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for subdivision in pycountry.subdivisions.get(country_code=country) or ():
        suffix = subdivision.code.split("-", 1)[1]
        index[_place_key(suffix)] = suffix
        index.setdefault(_place_key(subdivision.name), suffix)
    for name, code in _REGION_ALIASES.get(country, {}).items():
        index[_place_key(name)] = code
    return index


@cache
def _subdivision_keys(country: str) -> frozenset[str]:
    """Return the folded codes and names of a country's ISO 3166-2 subdivisions."""
    keys: set[str] = set()
    for subdivision in pycountry.subdivisions.get(country_code=country) or ():
        keys.add(_place_key(subdivision.code.split("-", 1)[1]))
        keys.add(_place_key(subdivision.name))
    return frozenset(keys)


def _is_subdivision_of(region: str, country: str) -> bool:
    key = _place_key(region)
    # Puerto Rico has its own ISO country code and is also a USPS state code.
    if country == "PR" and key == "pr":
        return True
    return key in _subdivision_keys(country)


@cache
def _well_known_city_index() -> dict[str, str]:
    return {_place_key(name): code for name, code in WELL_KNOWN_CITIES.items()}


# Codes outside ISO 3166-1 that data providers use for real countries: XK is Kosovo.
EXTRA_COUNTRY_CODES = frozenset({"XK"})


def country_code_fix(code: str) -> str:
    """Return "" for a known two-letter country code, else the fix to name in an error.

    The fix suggests the ISO code of a common alias, such as GB for UK.
    """
    upper = code.upper()
    if pycountry.countries.get(alpha_2=upper) is not None or upper in EXTRA_COUNTRY_CODES:
        return ""
    try:
        suggestion = normalize_country(code)
    except UnparsedValue:
        suggestion = None
    if suggestion:
        return f"use {suggestion}"
    return "check the code, such as DE for Germany"
