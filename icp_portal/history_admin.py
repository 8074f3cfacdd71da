"""The admin history page of every model with history, showing empty values as a dash."""

from __future__ import annotations

from typing import Any

from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject, ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper

# Shown in the "Changes" column for a field that had no value before or after a change.
EMPTY_VALUE = "—"


class EmptyValueContextHelper(HistoricalRecordContextHelper):
    """Show an empty field of a change, None or an empty string, as an em dash.

    django-simple-history 3.13 wraps a foreign key without a related row in DeletedObject,
    an empty one included, so a field set for the first time showed "Deleted user
    (pk=None) → salesops". A related row deleted since keeps its "Deleted … (pk=…)" text.
    """

    def prepare_delta_change_value(self, change: ModelChange, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, DeletedObject) and value.pk is None:
            return EMPTY_VALUE
        return super().prepare_delta_change_value(change, value)


class HistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose history page shows empty values as an em dash.

    A missing or empty change reason shows as an em dash too, through the override of
    templates/simple_history/object_history_list.html.
    """

    def get_historical_record_context_helper(
        self, request, historical_record
    ) -> HistoricalRecordContextHelper:
        return EmptyValueContextHelper(self.model, historical_record)
