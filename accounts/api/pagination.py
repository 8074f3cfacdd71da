"""Cursor pagination for the REST API.

Accounts page by keyset: the cursor stores the sort values of the last row of a page, and
the next page starts after them. Every order ends with the id, so the order is total and
no account repeats or goes missing between pages, however many share a score. A row that
changes while a client pages may move to the other side of the cursor. Clients that sync
therefore use ``updated_since`` with the ``updated_at`` order, where a change moves a row
forward, so the client still receives it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import F, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from accounts.filtersets import NULLABLE_ORDERING_FIELDS, ORDERING_FIELDS, TIER_RANK
from accounts.models import Account

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
# A paged CSV may be larger than a JSON page: its rows are written as they are read.
MAX_CSV_PAGE_SIZE = 10_000
CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
KEY_ALIAS = "cursor_key_{}"
INVALID_CURSOR = (
    "The cursor is invalid or belongs to another ordering: start again without a cursor, "
    "then follow the next links."
)


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset order: the expression, its direction and how to read it."""

    param: str
    alias: str
    expression: Any
    descending: bool
    nullable: bool
    field: models.Field

    def order_by(self) -> Any:
        nulls_last = True if self.nullable else None
        column = F(self.alias)
        return (
            column.desc(nulls_last=nulls_last)
            if self.descending
            else column.asc(nulls_last=nulls_last)
        )


def _model_field(path: str) -> models.Field:
    model: type[models.Model] = Account
    names = path.split("__")
    for name in names[:-1]:
        model = model._meta.get_field(name).related_model
    return model._meta.get_field(names[-1])


def account_sort_keys(ordering: str) -> list[SortKey]:
    """Return the keyset of a comma-separated ``ordering`` such as ``-score`` or ``tier,name``.

    The id is added as the last key unless present. Parameters mean what they mean for
    the account list: tier sorts by rank and empty values of nullable columns sort last.
    Raises ValidationError for an unknown parameter.
    """
    keys: list[SortKey] = []
    seen: set[str] = set()
    params = [param.strip() for param in ordering.split(",") if param.strip()]
    if not any(param.lstrip("-") == "id" for param in params):
        params.append("id")
    for param in params:
        name = param.lstrip("-")
        field_path = ORDERING_FIELDS.get(name)
        if field_path is None:
            raise ValidationError(
                {
                    "ordering": [
                        f"{name!r} is not an ordering: use one of {', '.join(ORDERING_FIELDS)}."
                    ]
                }
            )
        if field_path in seen:
            continue
        seen.add(field_path)
        if field_path == "tier":
            expression: Any = TIER_RANK
            field: models.Field = models.IntegerField()
        else:
            expression = F(field_path)
            field = _model_field(field_path)
        keys.append(
            SortKey(
                param=("-" if param.startswith("-") else "") + name,
                alias=KEY_ALIAS.format(len(keys)),
                expression=expression,
                descending=param.startswith("-"),
                nullable=field_path in NULLABLE_ORDERING_FIELDS,
                field=field,
            )
        )
    return keys


def keys_signature(keys: list[SortKey]) -> str:
    return ",".join(key.param for key in keys)


def _after(key: SortKey, value: Any) -> Q:
    """Rows strictly after ``value`` on one key; empty values come last in both directions."""
    if value is None:
        return Q(pk__in=[])
    condition = Q(**{f"{key.alias}__{'lt' if key.descending else 'gt'}": value})
    if key.nullable:
        condition |= Q(**{f"{key.alias}__isnull": True})
    return condition


def _equal(key: SortKey, value: Any) -> Q:
    if value is None:
        return Q(**{f"{key.alias}__isnull": True})
    return Q(**{key.alias: value})


def keyset_queryset(
    queryset: QuerySet, keys: list[SortKey], position: list[Any] | None
) -> QuerySet:
    """Order ``queryset`` by ``keys`` and keep the rows after ``position`` (None: all rows)."""
    queryset = queryset.annotate(**{key.alias: key.expression for key in keys})
    queryset = queryset.order_by(*(key.order_by() for key in keys))
    if position is None:
        return queryset
    condition = Q(pk__in=[])
    equal_prefix = Q()
    for key, value in zip(keys, position, strict=True):
        condition |= equal_prefix & _after(key, value)
        equal_prefix &= _equal(key, value)
    return queryset.filter(condition)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def cursor_encode(keys: list[SortKey], values: list[Any]) -> str:
    payload = {"o": keys_signature(keys), "v": [_encode_value(value) for value in values]}
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def cursor_decode(keys: list[SortKey], cursor: str) -> list[Any]:
    """Return the position stored in ``cursor``; raise ValidationError when it is unusable."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("o") != keys_signature(keys):
            raise ValueError("other ordering")
        values = payload.get("v")
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong length")
        position = []
        for key, value in zip(keys, values, strict=True):
            if isinstance(value, list | dict | bool):
                raise ValueError("not a scalar")
            position.append(None if value is None else key.field.to_python(value))
        if position[-1] is None:
            raise ValueError("missing id")
        return position
    except (
        ValueError,
        TypeError,
        UnicodeDecodeError,
        binascii.Error,
        DjangoValidationError,
    ) as error:
        raise ValidationError({CURSOR_PARAM: [INVALID_CURSOR]}) from error


def page_size_from(request: Request, maximum: int, default: int | None) -> int | None:
    """Return the requested page size clamped to ``maximum``, or ``default`` if invalid."""
    raw = request.query_params.get(PAGE_SIZE_PARAM)
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        return default
    if size < 1:
        return default
    return min(size, maximum)


def account_ordering_for(request: Request, default_ordering: str) -> str:
    """Return the request's ordering, ``updated_at`` for an incremental sync, or the default."""
    ordering = request.query_params.get("ordering", "").strip()
    if ordering:
        return ordering
    if request.query_params.get("updated_since"):
        return "updated_at"
    return default_ordering


class AccountCursorPagination(BasePagination):
    """Keyset pagination of accounts: ``?cursor=`` from the ``next`` link, ``?page_size=``.

    Responses carry ``next`` (null on the last page) and ``results``. There is no count,
    which would cost a scan of the whole segment on every page.
    """

    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list:
        self.request = request
        default_ordering = getattr(view, "default_ordering", "name")
        self.keys = account_sort_keys(account_ordering_for(request, default_ordering))
        cursor = request.query_params.get(CURSOR_PARAM)
        position = cursor_decode(self.keys, cursor) if cursor else None
        size = page_size_from(request, self.max_page_size, self.page_size)
        rows = list(keyset_queryset(queryset, self.keys, position)[: size + 1])
        self.next_position = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            self.next_position = [getattr(last, key.alias) for key in self.keys]
        return rows

    def get_next_link(self) -> str | None:
        if self.next_position is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, CURSOR_PARAM, cursor_encode(self.keys, self.next_position))

    def get_paginated_response(self, data: list) -> Response:
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "URL of the next page; null on the last page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "Position from the next link of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": PAGE_SIZE_PARAM,
                "required": False,
                "in": "query",
                "description": (
                    f"Rows per page, {DEFAULT_PAGE_SIZE} by default and at most "
                    f"{MAX_PAGE_SIZE} ({MAX_CSV_PAGE_SIZE} for CSV). A CSV request without "
                    "it streams every matching row."
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class IdCursorPagination(CursorPagination):
    """Newest first by id, for lists other than accounts (notes, runs, deliveries …)."""

    ordering = "-id"
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
