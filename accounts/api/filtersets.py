"""django-filter FilterSets of the API resources, one per resource.

Accounts reuse the list page's ``AccountFilterSet`` and add ``updated_since``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts.api.pagination import CURSOR_PARAM, PAGE_SIZE_PARAM
from accounts.filtersets import AccountFilterSet, YesNoFilter, misspelt_filters
from accounts.models import ImportRun, ResearchNote
from audits.models import Severity, Violation, ViolationKind
from enrichment.models import EnrichmentRun
from integrations.models import SavedSegment, WebhookDelivery
from segmentation.models import Framework, FrameworkStatus


class UnusedFiltersSkippingBackend(DjangoFilterBackend):
    """DjangoFilterBackend that returns the queryset unchanged when no filter is requested.

    A filter set whose parameters are all absent leaves the queryset as it is, since each
    filter skips an empty value, but building and validating its form took about 10% of
    a segment page request in a cProfile run. A request that names any of the filters,
    even with an empty value, goes through the filter set as before, so invalid values
    still get a 400 response.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            misspelt_filters_check(request, list(filterset_class.base_filters))
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


# Parameters that pages, ordering and formats read, which are not filters.
NON_FILTER_PARAMETERS = frozenset({CURSOR_PARAM, PAGE_SIZE_PARAM, "ordering", "format", "bom"})


def misspelt_filters_check(request: Request, filter_names: list[str]) -> None:
    """Raise ValidationError for a parameter that looks like a misspelt filter name.

    Other unknown parameters are ignored, as HTTP APIs usually do (a cache-busting ``_``,
    say). A misspelt filter would be ignored too and return every row, which a client
    pulling a segment would take for the segment, so it gets a 400 naming the filter.
    """
    errors = {}
    misspelt = misspelt_filters(request.query_params, filter_names, NON_FILTER_PARAMETERS)
    for name, close in misspelt.items():
        errors[name] = [
            f"{name!r} is not a filter: did you mean {close!r}? A parameter that no "
            "filter reads would be ignored and the response would not be filtered."
        ]
    if errors:
        raise ValidationError(errors)


class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number in the range of a 64-bit key."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time converted to UTC.

    Python accepts UTC offsets up to 23:59, but PostgreSQL rejects large ones such as
    -20:31, so the time reaches the database in UTC.
    """

    def to_python(self, value: Any) -> datetime | None:
        try:
            parsed = super().to_python(value)
        except forms.ValidationError as error:
            message = "“%(value)s” is not an ISO 8601 time such as 2026-01-31T09:00:00Z."
            if " " in str(value).strip():
                # A query string decodes + as a space, so an offset such as +01:00 arrives
                # as " 01:00".
                message += (
                    " A + in a URL is read as a space: encode it as %%2B, such as "
                    "2026-01-31T09:00:00%%2B01:00."
                )
            raise forms.ValidationError(
                message, code="invalid", params={"value": str(value).strip()}
            ) from error
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:
            raise forms.ValidationError(
                f"{value!r} is outside the supported range of times: use a time after the "
                "year 1, such as 2026-01-31T09:00:00Z.",
                code="invalid",
            ) from error


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class AccountApiFilterSet(AccountFilterSet):
    """The account list's filters plus ``updated_since`` for incremental syncs."""

    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=(
            "ISO 8601 time, such as 2026-01-31T09:00:00Z: only accounts updated at or after "
            "it. Without an ordering, results are then sorted by updated_at and id."
        ),
    )

    class Meta(AccountFilterSet.Meta):
        pass


class ResearchNoteFilterSet(FilterSet):
    kind = django_filters.ChoiceFilter(choices=ResearchNote.Kind.choices)
    status = django_filters.ChoiceFilter(choices=ResearchNote.Status.choices)

    class Meta:
        model = ResearchNote
        fields: list[str] = []


class FrameworkFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(
        choices=FrameworkStatus.choices,
        error_messages={
            "invalid_choice": "“%(value)s” is not a framework status: use one of "
            + ", ".join(FrameworkStatus.values)
            + "."
        },
    )

    class Meta:
        model = Framework
        fields: list[str] = []


class SavedSegmentFilterSet(FilterSet):
    is_shared = YesNoFilter()
    mine = YesNoFilter(method="filter_mine", help_text="true: only your own.")

    class Meta:
        model = SavedSegment
        fields: list[str] = []

    def filter_mine(self, queryset, name: str, value: bool | None):
        if value is None:
            return queryset
        user = getattr(self.request, "user", None)
        if value:
            return queryset.filter(owner_id=getattr(user, "pk", None))
        return queryset.exclude(owner_id=getattr(user, "pk", None))


class ImportRunFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(choices=ImportRun.Status.choices)

    class Meta:
        model = ImportRun
        fields: list[str] = []


class EnrichmentRunFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(choices=EnrichmentRun.Status.choices)
    provider = django_filters.CharFilter(max_length=50)

    class Meta:
        model = EnrichmentRun
        fields: list[str] = []


AUDIT_MONTH_PATTERN = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})")


def _invalid_choice_message(label: str, values: list[str]) -> dict[str, str]:
    return {"invalid_choice": f"“%(value)s” is not {label}: use one of {', '.join(values)}."}


def validate_audit_month(value: str) -> None:
    """Reject a value that is not a month in the form YYYY-MM, naming it."""
    match = AUDIT_MONTH_PATTERN.fullmatch(value)
    if match is None or not 1 <= int(match["month"]) <= 12:
        raise forms.ValidationError(
            "“%(value)s” is not a month: use the form YYYY-MM, such as 2026-11.",
            code="invalid",
            params={"value": value},
        )


class ViolationFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Violation.Status.choices,
        error_messages=_invalid_choice_message("a finding status", Violation.Status.values),
    )
    kind = django_filters.ChoiceFilter(
        choices=ViolationKind.choices,
        error_messages=_invalid_choice_message("a violation kind", ViolationKind.values),
    )
    severity = django_filters.ChoiceFilter(
        choices=Severity.choices,
        error_messages=_invalid_choice_message("a severity", Severity.values),
    )
    month = django_filters.CharFilter(
        method="filter_month",
        validators=[validate_audit_month],
        help_text="The audited month in the form YYYY-MM, such as 2026-11.",
    )
    account = IdFilter(field_name="account_id", help_text="Account id.")
    responsible = IdFilter(field_name="responsible_id", help_text="User id.")

    class Meta:
        model = Violation
        fields: list[str] = []

    def filter_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        year, month = value.split("-")
        return queryset.filter(audit_run__month=date(int(year), int(month), 1))


class WebhookDeliveryFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []
