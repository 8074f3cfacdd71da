"""Model fields of the segmentation app."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class CompactJSONField(models.TextField):
    """A JSON value stored as compact text rather than PostgreSQL's jsonb.

    Parsing jsonb costs PostgreSQL about twice as much as storing the same text, and score
    records are written a million at a time, so explanations are stored as text. The
    value cannot be queried by key in SQL, and reads and writes look like a JSONField's.
    """

    description = "JSON stored as text"

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value is None or value == "":
            return self.get_default() if value == "" else None
        return json.loads(value)

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"Invalid JSON ({error.msg} at position {error.pos}): enter a JSON list."
            ) from error

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""

    def formfield(self, **kwargs):
        from django.forms import JSONField as JSONFormField

        return super().formfield(**{"form_class": JSONFormField, **kwargs})


class ExplanationField(CompactJSONField):
    """A score record's explanation: a list of items, stored plainly or as shared keys.

    Reading expands the keys that bulk writes store (``segmentation.explanations``), so
    the value is always the list of items.
    """

    description = "Explanation stored as JSON text"

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        from .explanations import expand

        return expand(super().from_db_value(value, expression, connection))
