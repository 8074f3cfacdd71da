"""Cursor pagination for the REST API.

Accounts page by keyset: the cursor stores the sort values of the last row of a page, and
the next page starts after them. Every order ends with the id, so the order is total and
no account repeats or goes missing between pages, however many share a score. A row that
changes while a client pages may move to the other side of the cursor. Clients that sync
therefore use ``updated_since`` with the ``updated_at`` order, where a change moves a row
forward, so the client still receives it.

When every sort key has an ascending form that is never NULL, the page condition is one
row comparison, ``(k1, k2, …, id) > (v1, v2, …, vid)``, which PostgreSQL reads as a range
of a matching index instead of filtering rows one by one. The default ``-score`` order
has that form, ``(-COALESCE(score, -1), id)``, and the route and tag indexes of
``Account`` end with it, so a segment's pages cost the same at any depth.
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
from django.db.models import Expression, F, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from accounts.filtersets import (
    COMPOUND_ORDERINGS,
    NULLABLE_ORDERING_FIELDS,
    ORDERING_FIELDS,
    TIER_RANK,
)
from accounts.models import Account

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
# A paged CSV may be larger than a JSON page: its rows are written as they are read.
MAX_CSV_PAGE_SIZE = 10_000
CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
KEY_ALIAS = "cursor_key_{}"
# An empty score sorts after every score in ascending order: PositiveSmallIntegerField
# stores at most 32767.
SCORE_NULL_ASCENDING = 32768
INVALID_CURSOR = (
    "The cursor is invalid or belongs to another ordering: start again without a cursor, "
    "then follow the next links."
)


# The ascending, never-NULL form of "-score": empty scores (-1 here) sort last. The route
# and tag indexes of Account (migration accounts 0010) contain this expression, so it
# must stay identical to theirs.
SCORE_DESCENDING_KEY = Coalesce(F("score"), Value(-1), output_field=IntegerField()) * Value(-1)


class RowAfter(Expression):
    """The row comparison ``(a, b, …) > (x, y, …)`` of expressions against fixed values.

    PostgreSQL and SQLite (3.15 and later) compare rows column by column, so this selects
    the rows after a position of an ascending multi-column order.
    """

    output_field = models.BooleanField()
    operator = ">"

    def __init__(self, expressions: list[Any], values: list[Value]) -> None:
        super().__init__()
        self.width = len(expressions)
        self.source_expressions = [*expressions, *values]

    def get_source_expressions(self) -> list[Any]:
        return self.source_expressions

    def set_source_expressions(self, expressions: list[Any]) -> None:
        self.source_expressions = list(expressions)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for expression in self.source_expressions:
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        left = ", ".join(parts[: self.width])
        right = ", ".join(parts[self.width :])
        return f"({left}) {self.operator} ({right})", params


class RowBefore(RowAfter):
    """The row comparison ``(a, b, …) < (x, y, …)``: the rows before a position."""

    operator = "<"


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset order: the expression, its direction and how to read it.

    ``row_expression`` is the same order as an ascending expression that is never NULL,
    and ``row_value`` turns a cursor value into that expression's value. Both are None
    when the key has no such form (text sorted descending, nullable joined columns).
    """

    param: str
    alias: str
    expression: Any
    descending: bool
    nullable: bool
    field: models.Field
    row_expression: Any = None
    row_value: Any = None

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
    the account list: tier sorts by rank, ``owner`` by the owner's name in several keys,
    and empty values of nullable columns sort last.
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
        descending = param.startswith("-")
        if field_path in COMPOUND_ORDERINGS:
            # Text keys that may be NULL have no row form, so these keys page with the
            # general comparison, whatever the direction.
            for key_name, key_expression in COMPOUND_ORDERINGS[field_path]:
                keys.append(
                    SortKey(
                        param=("-" if descending else "") + key_name,
                        alias=KEY_ALIAS.format(len(keys)),
                        expression=key_expression,
                        descending=descending,
                        nullable=True,
                        field=models.CharField(),
                    )
                )
            continue
        if field_path == "tier":
            expression: Any = TIER_RANK
            field: models.Field = models.IntegerField()
        else:
            expression = F(field_path)
            field = _model_field(field_path)
        nullable = field_path in NULLABLE_ORDERING_FIELDS
        row_expression, row_value = _row_form(field_path, expression, field, descending, nullable)
        keys.append(
            SortKey(
                param=("-" if descending else "") + name,
                alias=KEY_ALIAS.format(len(keys)),
                expression=expression,
                descending=descending,
                nullable=nullable,
                field=field,
                row_expression=row_expression,
                row_value=row_value,
            )
        )
    return keys


def _identity(value: Any) -> Any:
    return value


def _negate(value: Any) -> Any:
    return -value


def _score_descending(value: int | None) -> int:
    return -(-1 if value is None else value)


def _score_ascending(value: int | None) -> int:
    return SCORE_NULL_ASCENDING if value is None else value


def _row_form(
    field_path: str, expression: Any, field: models.Field, descending: bool, nullable: bool
) -> tuple[Any, Any]:
    """Return the key's ascending never-NULL expression and value mapping, or (None, None)."""
    if field_path == "score":
        if descending:
            return SCORE_DESCENDING_KEY, _score_descending
        ascending = Coalesce(F("score"), Value(SCORE_NULL_ASCENDING), output_field=IntegerField())
        return ascending, _score_ascending
    if nullable:
        return None, None
    if not descending:
        return expression, _identity
    if isinstance(field, models.IntegerField):
        return expression * Value(-1), _negate
    return None, None


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
    """Order ``queryset`` by ``keys`` and keep the rows after ``position`` (None: all rows).

    Each key's value is annotated under its alias, for the next cursor.
    """
    queryset = queryset.annotate(**{key.alias: key.expression for key in keys})
    if has_row_form(keys):
        queryset = queryset.order_by(*(key.row_expression.asc() for key in keys))
        if position is None:
            return queryset
        values = [
            Value(key.row_value(value), output_field=_row_output_field(key))
            for key, value in zip(keys, position, strict=True)
        ]
        return queryset.filter(RowAfter([key.row_expression for key in keys], values))
    queryset = queryset.order_by(*(key.order_by() for key in keys))
    if position is None:
        return queryset
    condition = Q(pk__in=[])
    equal_prefix = Q()
    for key, value in zip(keys, position, strict=True):
        condition |= equal_prefix & _after(key, value)
        equal_prefix &= _equal(key, value)
    return queryset.filter(condition)


def has_row_form(keys: list[SortKey]) -> bool:
    """Return True when every key has an ascending never-NULL form, as row comparisons need."""
    return all(key.row_expression is not None for key in keys)


def keyset_before_queryset(
    queryset: QuerySet, keys: list[SortKey], position: list[Any]
) -> QuerySet:
    """Return the rows before ``position`` in reverse order, nearest first.

    Only for keys with a row form (see has_row_form). The caller reverses the rows it
    takes. Each key's value is annotated under its alias, as in keyset_queryset.
    """
    queryset = queryset.annotate(**{key.alias: key.expression for key in keys})
    queryset = queryset.order_by(*(key.row_expression.desc() for key in keys))
    values = [
        Value(key.row_value(value), output_field=_row_output_field(key))
        for key, value in zip(keys, position, strict=True)
    ]
    return queryset.filter(RowBefore([key.row_expression for key in keys], values))


def _row_output_field(key: SortKey) -> models.Field:
    if key.row_value is _identity:
        return key.field
    return IntegerField()


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
            if isinstance(value, list | dict):
                raise ValueError("not a scalar")
            if isinstance(value, bool) and not isinstance(key.field, models.BooleanField):
                raise ValueError("true or false for a key that is not boolean")
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
    """Return the requested page size clamped to ``maximum``, or ``default`` without one.

    Raises ValidationError (400) for a value that is not a whole number of at least 1,
    since falling back would send a page of another size, or every row of a CSV download.
    """
    raw = request.query_params.get(PAGE_SIZE_PARAM)
    if raw is None or not raw.strip():
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise ValidationError(
            {
                PAGE_SIZE_PARAM: [
                    f"{PAGE_SIZE_PARAM} {raw!r} is not a whole number of at least 1: send one "
                    f"from 1 to {maximum} (larger values are reduced to {maximum}), or leave it "
                    "out."
                ]
            }
        )
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
        """Return the page's accounts as model instances."""
        ordered = self._page_queryset(queryset, request, view)
        rows = list(ordered[: self.size + 1])
        self.next_position = None
        if len(rows) > self.size:
            rows = rows[: self.size]
            self.next_position = [getattr(rows[-1], key.alias) for key in self.keys]
        return rows

    def paginate_rows(
        self, queryset: QuerySet, request: Request, lookups: list[str], view: Any = None
    ) -> list[dict[str, Any]]:
        """Return the page as ``values()`` dicts of ``lookups``, which skips model instances."""
        ordered = self._page_queryset(queryset, request, view)
        aliases = [key.alias for key in self.keys]
        rows = list(ordered.values(*lookups, *aliases)[: self.size + 1])
        self.next_position = None
        if len(rows) > self.size:
            rows = rows[: self.size]
            self.next_position = [rows[-1][alias] for alias in aliases]
        return rows

    def _page_queryset(self, queryset: QuerySet, request: Request, view: Any) -> QuerySet:
        self.request = request
        default_ordering = getattr(view, "default_ordering", "name")
        self.keys = account_sort_keys(account_ordering_for(request, default_ordering))
        cursor = request.query_params.get(CURSOR_PARAM)
        position = cursor_decode(self.keys, cursor) if cursor else None
        self.size = page_size_from(request, self.max_page_size, self.page_size)
        return keyset_queryset(queryset, self.keys, position)

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

    def get_page_size(self, request: Request) -> int | None:
        # DRF falls back to the default for an invalid value, the account lists reject it.
        return page_size_from(request, self.max_page_size, self.page_size)
