"""JSON text of imported values, written directly for the flat shapes an import produces.

Observations and account lists are strings, lists of strings and flat objects. For those,
joining the encoded parts is faster than json.JSONEncoder.encode, which builds a new C
encoder on every call. Other values go through that encoder, and the text is the same
either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

# Sorted keys, so equal values have equal text, and non-ASCII characters kept as they are.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)

# JSON text of the scalar values that flat objects hold, by exact type.
_SCALAR_TEXT: dict[type, Callable[[Any], str]] = {
    str: encode_basestring,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda value: "null",
}


def json_text(value: Any) -> str:
    """Return ``value`` as JSON text with sorted keys, as json.JSONEncoder writes it."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is list:
        try:
            return "[" + ", ".join([encode_basestring(item) for item in value]) + "]"
        except TypeError:  # an item that is not a string
            return _ENCODER.encode(value)
    if kind is dict:
        try:
            parts = [
                f"{encode_basestring(key)}: {_SCALAR_TEXT[type(item)](item)}"
                for key, item in sorted(value.items())
            ]
        except (KeyError, TypeError):  # a key that is not a string, or a nested value
            return _ENCODER.encode(value)
        return "{" + ", ".join(parts) + "}"
    return _ENCODER.encode(value)


def json_type_name(value: Any) -> str:
    """Return JSON's name for the type of a parsed value, such as string or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
