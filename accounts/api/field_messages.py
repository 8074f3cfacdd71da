"""Rewrite DRF's default field errors so that each names the field, the value and the fix.

DRF's defaults, such as "This field may not be blank." or "Must be a valid boolean.", name
neither the field nor the value sent. DetailedFieldErrorsMixin replaces them after a
serializer's validation fails. A message that a field or a validate_<field> method sets
itself is kept as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from .base import shorten

# A value that the request body does not contain.
MISSING = object()


def default_template(field: serializers.Field, code: str) -> str | None:
    """Return DRF's message template of ``code`` for the field's class, or None.

    None also when the field sets its own message for ``code`` through error_messages or
    through the default_error_messages of a subclass defined outside DRF.
    """
    for cls in type(field).__mro__:
        messages = cls.__dict__.get("default_error_messages")
        if messages and code in messages and not cls.__module__.startswith("rest_framework"):
            return None
        if messages and code in messages:
            template = str(messages[code])
            return template if str(field.error_messages.get(code)) == template else None
    return None


def is_default_message(field: serializers.Field, message: ErrorDetail) -> bool:
    template = default_template(field, getattr(message, "code", None) or "")
    if template is None:
        return False
    # The placeholders, such as {max_length} or {input}, may be filled with any text.
    pattern = re.sub(r"\\\{\w+\\\}", ".*", re.escape(template))
    return re.fullmatch(pattern, str(message), re.DOTALL) is not None


def json_text(value: Any) -> str:
    """Return ``value`` as JSON, shortened for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return shorten(text)


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return "text"


def quoted(value: Any) -> str:
    return f"“{shorten(value)}”" if isinstance(value, str) else json_text(value)


def _text_size(field: serializers.CharField) -> str:
    if field.max_length is not None:
        return f"text of 1 to {field.max_length} characters"
    return "text of at least one character"


def _or_leave_out(field: serializers.Field) -> str:
    return "" if field.required else ", or leave it out"


def _blank(field: Any, label: str, value: Any) -> str:
    if isinstance(value, str) and value:
        return f"{label} contains only spaces: send {_text_size(field)}{_or_leave_out(field)}."
    return f"{label} is empty: send {_text_size(field)}{_or_leave_out(field)}."


def _max_length(field: Any, label: str, value: Any) -> str | None:
    if not isinstance(field, serializers.CharField) or not isinstance(value, str):
        return None
    return (
        f"{label} is {len(value):,} characters long ({quoted(value)}), more than the maximum "
        f"of {field.max_length}: shorten it to {field.max_length} characters or fewer."
    )


def _invalid(field: Any, label: str, value: Any) -> str | None:
    if isinstance(field, serializers.BooleanField):
        return f"{label} {quoted(value)} is not a boolean: send true or false."
    if isinstance(field, serializers.URLField):
        return (
            f"{label} {quoted(value)} is not a web address: send an http or https URL, such as "
            f"https://example.com/news{_or_leave_out(field)}."
        )
    if isinstance(field, serializers.CharField):
        example = None
        if isinstance(value, list):
            example = next((item for item in value if isinstance(item, str)), None)
        such_as = f", such as {json_text(example)}" if example is not None else ""
        return (
            f"{label} is {json_kind(value)} ({json_text(value)}), not text: send one value as a "
            f"JSON string{such_as}."
        )
    if isinstance(field, serializers.IntegerField):
        return f"{label} {quoted(value)} is not a whole number: send one such as 12."
    if isinstance(field, serializers.DateField):
        return f"{label} {quoted(value)} is not a date: send one as YYYY-MM-DD, such as 2026-12-31."
    return None


def _range_text(field: Any) -> str:
    low = getattr(field, "min_value", None)
    high = getattr(field, "max_value", None)
    if low is not None and high is not None:
        return f"from {low} to {high}"
    if low is not None:
        return f"of {low} or more"
    return f"of {high} or less"


def _max_value(field: Any, label: str, value: Any) -> str:
    return (
        f"{label} {quoted(value)} is more than the maximum of {field.max_value}: send a value "
        f"{_range_text(field)}."
    )


def _min_value(field: Any, label: str, value: Any) -> str:
    return (
        f"{label} {quoted(value)} is less than the minimum of {field.min_value}: send a value "
        f"{_range_text(field)}."
    )


def _not_a_dict(field: Any, label: str, value: Any) -> str:
    return (
        f"{label} is {json_kind(value)} ({json_text(value)}), not an object: send a JSON object "
        "of names and values."
    )


def _not_a_list(field: Any, label: str, value: Any) -> str:
    return f"{label} is {json_kind(value)} ({json_text(value)}), not a list: send a JSON array."


def _invalid_choice(field: Any, label: str, value: Any) -> str | None:
    if not isinstance(field, serializers.ChoiceField):
        return None
    choices = ", ".join(str(choice) for choice in field.choices)
    return f"{label} {quoted(value)} is not a valid choice: use one of {choices}."


def _required(field: Any, label: str, value: Any) -> str:
    return f"{label} is missing: send it in the request body."


def _null(field: Any, label: str, value: Any) -> str:
    return f"{label} is null: send a value{_or_leave_out(field)}."


REWRITES: dict[str, Callable[[Any, str, Any], str | None]] = {
    "blank": _blank,
    "max_length": _max_length,
    "invalid": _invalid,
    "invalid_choice": _invalid_choice,
    "max_value": _max_value,
    "min_value": _min_value,
    "not_a_dict": _not_a_dict,
    "not_a_list": _not_a_list,
    "required": _required,
    "null": _null,
}


def _rewritten(field: serializers.Field, label: str, value: Any, message: Any) -> Any:
    if not isinstance(message, ErrorDetail) or not is_default_message(field, message):
        return message
    rewrite = REWRITES.get(message.code or "")
    text = rewrite(field, label, value) if rewrite is not None else None
    return ErrorDetail(text, code=message.code) if text else message


def field_errors_detailed(field: serializers.Field, label: str, value: Any, detail: Any) -> Any:
    """Return ``detail``, the errors of one field, with DRF's default messages rewritten.

    The errors of a DictField's or ListField's items are keyed by the item's key or index,
    and their messages name the item, such as ``filters.tier``.
    """
    if isinstance(detail, Mapping):
        child = getattr(field, "child", None)
        if child is None:
            return detail
        rewritten = {}
        for key, item_detail in detail.items():
            item = _item(value, key)
            if isinstance(field, serializers.ListField):
                item_label = f"{label}[{key}]"
            else:
                item_label = f"{label}.{key}"
            rewritten[key] = field_errors_detailed(child, item_label, item, item_detail)
        return rewritten
    if isinstance(detail, list):
        return [_rewritten(field, label, value, message) for message in detail]
    return detail


def _item(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get(key, MISSING)
    if isinstance(value, list) and str(key).isdigit() and int(key) < len(value):
        return value[int(key)]
    return MISSING


class DetailedFieldErrorsMixin:
    """Serializer mixin whose field errors name the field, the value sent and the fix."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, Mapping) or not isinstance(data, Mapping):
                raise
            fields = self.fields
            detail = {
                name: field_errors_detailed(fields[name], name, data.get(name, MISSING), messages)
                if name in fields
                else messages
                for name, messages in error.detail.items()
            }
            raise serializers.ValidationError(detail) from error
