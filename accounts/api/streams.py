"""Account lists shared by /accounts/ and the segment members: filters, cursor pages, CSV."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts import selectors
from accounts.models import Account

from .base import JsonErrorsMixin
from .exports import CSVRenderer, accounts_csv_response
from .filtersets import AccountApiFilterSet, UnusedFiltersSkippingBackend
from .pagination import (
    CURSOR_PARAM,
    MAX_CSV_PAGE_SIZE,
    AccountCursorPagination,
    account_ordering_for,
    account_sort_keys,
    cursor_decode,
    page_size_from,
)
from .serializers import AccountRowsSerializer
from .throttling import CsvExportThrottle

BOM_VALUES = {"1": True, "true": True, "0": False, "false": False}


def csv_bom_requested(request: Request) -> bool:
    """Return whether the CSV starts with a UTF-8 byte order mark (``bom=1``).

    The account list page requests one, so that Excel reads accented names and the tags'
    en dashes as UTF-8. API clients get none unless they request it. Raises ValidationError for
    a value other than 1, true, 0 or false.
    """
    value = request.query_params.get("bom")
    if value is None:
        return False
    if value.lower() not in BOM_VALUES:
        raise ValidationError(
            {
                "bom": [
                    f"{value!r} is not a bom value: send bom=1 to start the CSV with a UTF-8 "
                    "byte order mark, or leave bom out."
                ]
            }
        )
    return BOM_VALUES[value.lower()]


class AccountStreamMixin(JsonErrorsMixin):
    """List accounts as JSON pages (``next`` cursor links) or as a CSV download.

    JSON pages read ``values()`` rows and format them with AccountRowsSerializer, which
    gives AccountSerializer's output without building model instances.

    Subclasses narrow ``get_queryset`` and may set ``default_ordering`` and ``csv_filename``.
    """

    filter_backends = [UnusedFiltersSkippingBackend]
    filterset_class = AccountApiFilterSet
    pagination_class = AccountCursorPagination
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, CsvExportThrottle]
    default_ordering = "name"
    csv_filename = "accounts"

    def is_list_request(self) -> bool:
        return getattr(self, "action", "list") == "list"

    def get_renderers(self) -> list[BaseRenderer]:
        if self.is_list_request():
            return [JSONRenderer(), CSVRenderer()]
        return [JSONRenderer()]

    def get_account_queryset(self) -> QuerySet[Account]:
        return selectors.account_list_base(user=self.request.user)

    def get_csv_filename(self) -> str:
        return self.csv_filename

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        queryset = self.filter_queryset(self.get_queryset())
        if request.accepted_renderer.format == CSVRenderer.format:
            keys = account_sort_keys(account_ordering_for(request, self.default_ordering))
            cursor = request.query_params.get(CURSOR_PARAM)
            position = cursor_decode(keys, cursor) if cursor else None
            page_size = page_size_from(request, MAX_CSV_PAGE_SIZE, None)
            return accounts_csv_response(
                request,
                queryset,
                keys,
                position,
                page_size,
                self.get_csv_filename(),
                bom=csv_bom_requested(request),
            )
        rows_serializer = AccountRowsSerializer(self.get_serializer_context())
        rows = self.paginator.paginate_rows(queryset, request, rows_serializer.lookups(), view=self)
        return self.get_paginated_response(rows_serializer.data(rows))

    def get_paginated_response(self, data: list) -> Response:
        return self.paginator.get_paginated_response(data)
