"""Datetimes written as the API's JSON writes them, for the JSON pages and the CSV downloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings


def datetime_formatter(field: serializers.DateTimeField) -> Callable[[Any], Any]:
    """Return a function that formats a datetime as ``field.to_representation`` does.

    For the default ISO 8601 output of aware datetimes it resolves the current time zone
    once, where DateTimeField looks it up for every value. Other values and formats go
    to ``field.to_representation``.
    """
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if (
        output_format is None
        or output_format.lower() != ISO_8601
        or hasattr(field, "timezone")
        or not settings.USE_TZ
    ):
        return field.to_representation
    zone = timezone.get_current_timezone()

    def represent(value: Any) -> Any:
        if not isinstance(value, datetime) or value.tzinfo is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)
        if text.endswith("+00:00"):
            return text[:-6] + "Z"
        return text

    return represent


def api_datetime_formatter() -> Callable[[Any], Any]:
    """Return a function that formats a datetime as the API's JSON does.

    With DRF's default ``DATETIME_FORMAT`` that is ISO 8601 in the current time zone, with
    "Z" for UTC, such as ``2026-03-01T09:30:00Z`` or ``2026-03-01T15:00:00+05:30``.
    """
    return datetime_formatter(serializers.DateTimeField())
