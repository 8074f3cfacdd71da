"""Plain values from the objects and arrays of JSON exports.

A JSON export can hold an object or an array where the importer reads one plain value,
such as ``{"location": {"city": "Austin", "region": "TX", "country": "United States"}}``
or ``{"industry": {"name": "Software"}}``. Such a value is unpacked when its meaning is
clear and reported otherwise, so its JSON text never becomes a city, a name or a label.

Location objects are read with the key spellings of common exports, compared
case-insensitively without spaces, ``_`` and ``-``: ``city``, ``locality`` (People Data
Labs), ``state``, ``stateCode`` (Clearbit ``geo``), ``region``, ``country``,
``countryCode``, and a full text such as ``name`` or ``formatted_address``. A location
array is read as its first object, the headquarters, unless its items are typed parts
such as Crunchbase's ``{"location_type": "city", "value": "Austin"}``.

Amount objects of money fields, such as ``{"amount": 12000000, "currency": "EUR"}`` or
``{"value": "12M", "currency": "USD"}``, and range objects, such as ``{"min": 51, "max":
200}`` or ``{"from": 51, "to": 200}``, are split into their parts by number_parts, for the
importer to normalize like the cells ``12000000 EUR`` and ``51-200``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from accounts.normalizers.errors import visible_controls

# Keys of an object whose text is the value that the object represents, in priority
# order, such as {"name": "Software", "id": 42} for an industry.
VALUE_KEYS = ("name", "value", "label", "text", "displayname", "title")

# Keys of a location object for each part, in priority order: full names before codes.
LOCATION_KEYS: dict[str, tuple[str, ...]] = {
    "city": ("city", "cityname", "locality", "town", "municipality"),
    "region": (
        "state",
        "statename",
        "region",
        "regionname",
        "province",
        "stateorprovince",
        "statecode",
        "regioncode",
        "provincecode",
    ),
    "country": ("country", "countryname", "countrycode", "countryiso", "countryalpha2"),
    "text": (
        "name",
        "formattedaddress",
        "formatted",
        "fulladdress",
        "rawaddress",
        "address",
        "label",
        "text",
        "value",
    ),
}
# Keys whose object value is the location itself, as in {"headquarters": {"city": ...}}.
LOCATION_WRAPPER_KEYS = ("headquarters", "hq", "address", "primary", "main", "location")
# Keys that give the part of a typed location item, and the part each type names.
LOCATION_TYPE_KEYS = ("locationtype", "type")
LOCATION_TYPES = {
    "city": "city",
    "locality": "city",
    "region": "region",
    "state": "region",
    "province": "region",
    "country": "country",
}

# Keys of an amount object, such as {"amount": 12000000, "currency": "EUR"}, and of the
# bounds of a range object, such as {"min": 51, "max": 200} or {"from": 51, "to": 200}.
AMOUNT_KEYS = ("amount", "value")
CURRENCY_KEYS = ("currency", "currencycode")
MINIMUM_KEYS = ("min", "minimum", "from")
MAXIMUM_KEYS = ("max", "maximum", "to")
RANGE_KEYS = MINIMUM_KEYS + MAXIMUM_KEYS
MONEY_KEYS = AMOUNT_KEYS + CURRENCY_KEYS + RANGE_KEYS

_KEY_PUNCTUATION_RE = re.compile(r"[\s_\-]+")


def object_key(key: Any) -> str:
    """Return a JSON key as compared here: casefolded, without spaces, ``_`` and ``-``."""
    return _KEY_PUNCTUATION_RE.sub("", str(key)).casefold()


def is_structured(value: Any) -> bool:
    """Return True for a JSON object, or an array that contains an object or an array."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(item, dict | list) for item in value)


def scalar_text(value: Any) -> str:
    """Return a string or number as stripped text, and "" for anything else."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def object_text(value: Any) -> str:
    """Return the text that an object represents, from its first VALUE_KEYS key, or "".

    ``{"name": "Software", "id": 42}`` gives ``Software``. Other keys, such as
    ``{"nested": "x"}``, leave the meaning unclear and give "".
    """
    if not isinstance(value, dict):
        return ""
    by_key = {object_key(key): item for key, item in value.items()}
    for key in VALUE_KEYS:
        text = scalar_text(by_key.get(key))
        if text:
            return text
    return ""


def plain_value(value: Any) -> Any:
    """Return the plain value that a JSON object or array represents, or None.

    An object gives its object_text. An array of one item gives that item's plain value.
    Other arrays that contain objects or arrays have no single clear value.
    """
    if isinstance(value, dict):
        return object_text(value) or None
    if isinstance(value, list):
        if len(value) == 1:
            return plain_value(value[0]) if isinstance(value[0], dict | list) else value[0]
        return None
    return value


def plain_items(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """Split the items of a list value into plain values and items with no clear value.

    Objects give their object_text, so ``[{"name": "Salesforce", "category": "CRM"}]``
    gives ``["Salesforce"]``. Nested arrays are read item by item.
    """
    plain: list[Any] = []
    unclear: list[Any] = []
    for item in items:
        if isinstance(item, list):
            nested_plain, nested_unclear = plain_items(item)
            plain.extend(nested_plain)
            unclear.extend(nested_unclear)
        elif isinstance(item, dict):
            text = object_text(item)
            if text:
                plain.append(text)
            elif any(part not in (None, "", [], {}) for part in item.values()):
                unclear.append(item)
        else:
            plain.append(item)
    return plain, unclear


@dataclass(frozen=True)
class LocationParts:
    """City, region and country read from a location object, and its full text."""

    city: str = ""
    region: str = ""
    country: str = ""
    text: str = ""

    @property
    def has_parts(self) -> bool:
        return bool(self.city or self.region or self.country)

    def joined(self) -> str:
        """Return the parts as one text, such as "Austin, TX, United States"."""
        if self.has_parts:
            return ", ".join(part for part in (self.city, self.region, self.country) if part)
        return self.text


def location_parts(value: Any) -> LocationParts:
    """Read the city, region, country and full text of a location object or array.

    The result is empty (no parts, no text) when nothing in the value names a place.
    """
    if isinstance(value, list):
        return _location_list_parts(value)
    if not isinstance(value, dict):
        return LocationParts(text=scalar_text(value))
    by_key = {object_key(key): item for key, item in value.items()}
    found = {part: _first_part(by_key, keys) for part, keys in LOCATION_KEYS.items()}
    parts = LocationParts(**found)
    if parts.has_parts or parts.text:
        return parts
    for key in LOCATION_WRAPPER_KEYS:
        if isinstance(by_key.get(key), dict | list):
            wrapped = location_parts(by_key[key])
            if wrapped.has_parts or wrapped.text:
                return wrapped
    return parts


def _first_part(by_key: dict[str, Any], keys: tuple[str, ...]) -> str:
    """Return the first text under one of ``keys``, reading an object as its object_text."""
    for key in keys:
        item = by_key.get(key)
        text = object_text(item) if isinstance(item, dict) else scalar_text(item)
        if text:
            return text
    return ""


def _location_list_parts(items: list[Any]) -> LocationParts:
    typed: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        by_key = {object_key(key): part for key, part in item.items()}
        kind = next((scalar_text(by_key[key]) for key in LOCATION_TYPE_KEYS if key in by_key), "")
        part = LOCATION_TYPES.get(kind.casefold())
        if part is not None and part not in typed:
            text = object_text(item)
            if text:
                typed[part] = text
    if typed:
        return LocationParts(**typed)
    for item in items:
        parts = location_parts(item)
        if parts.has_parts or parts.text:
            return parts
    return LocationParts()


class UnclearObject(ValueError):
    """An amount or range object whose meaning is unclear. The message gives the reason."""


@dataclass(frozen=True)
class NumberParts:
    """The amount or the bounds of an amount or range object, and its currency, as written.

    A missing part is None. A range has a minimum, a maximum or both.
    """

    amount: Any = None
    minimum: Any = None
    maximum: Any = None
    currency: Any = None

    @property
    def is_range(self) -> bool:
        return self.minimum is not None or self.maximum is not None

    @property
    def is_empty(self) -> bool:
        return self.amount is None and not self.is_range


def has_number_keys(value: dict[str, Any], *, money: bool) -> bool:
    """Return True when the object has a key of a range object, or of an amount object."""
    keys = MONEY_KEYS if money else RANGE_KEYS
    return any(object_key(key) in keys for key in value)


def number_parts(value: dict[str, Any], *, money: bool) -> NumberParts:
    """Split an amount or range object into its parts.

    Money objects may have an amount or bounds, and a currency. Other objects, such as
    employee counts, may have bounds only. Keys are compared as object_key does, and a
    null or blank value counts as a missing part. Raises UnclearObject for another key,
    for two keys of one part (such as "min" and "from"), and for an amount with bounds.
    """
    keys = MONEY_KEYS if money else RANGE_KEYS
    unknown = [str(key) for key in value if object_key(key) not in keys]
    if unknown:
        listed = ", ".join(f'"{visible_controls(key)}"' for key in unknown)
        noun = "key" if len(unknown) == 1 else "keys"
        raise UnclearObject(f"it has the {noun} {listed}, which the import does not read")
    parts: dict[str, Any] = {}
    for part, part_keys in (
        ("amount", AMOUNT_KEYS),
        ("currency", CURRENCY_KEYS),
        ("minimum", MINIMUM_KEYS),
        ("maximum", MAXIMUM_KEYS),
    ):
        found = [
            (key, item)
            for key, item in value.items()
            if object_key(key) in part_keys and not _is_blank(item)
        ]
        if len(found) > 1:
            listed = " and ".join(f'"{visible_controls(str(key))}"' for key, _item in found)
            raise UnclearObject(f"it has two values for one {part}: {listed}")
        if found:
            parts[part] = found[0][1]
    number = NumberParts(**parts)
    if number.amount is not None and number.is_range:
        raise UnclearObject("it has both an amount and the bounds of a range")
    return number


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
