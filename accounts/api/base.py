"""Pieces every API view shares: the base permissions, query checks and JSON error bodies."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .pagination import CURSOR_PARAM, PAGE_SIZE_PARAM
from .permissions import TokenScopePermission

# Views that set permission_classes replace the default list, so each starts with these.
BASE_PERMISSIONS = [IsAuthenticated, TokenScopePermission]

# Parameters that take several values in one query parameter, with an example of that form.
# The other parameters take one value each, so a client requests one value at a time.
MULTI_VALUE_FORMS = {
    "ordering": "separate the fields with commas, such as ordering=tier,-score",
}

# Paging parameters of other APIs, which no API view reads, with what to send instead.
FOREIGN_PAGING_PARAMETERS = {
    "page": CURSOR_PARAM,
    "page_number": CURSOR_PARAM,
    "offset": CURSOR_PARAM,
    "start": CURSOR_PARAM,
    "limit": PAGE_SIZE_PARAM,
    "per_page": PAGE_SIZE_PARAM,
    "pagesize": PAGE_SIZE_PARAM,
    "pageSize": PAGE_SIZE_PARAM,
}


def shorten(value: str, limit: int = 40) -> str:
    """Return ``value`` cut to ``limit`` characters with an ellipsis, for error messages."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def repeated_parameter_message(name: str, values: list[str]) -> str:
    listed = ", ".join(shorten(value) for value in values)
    message = f"{name} was given {len(values)} times ({listed}): give it once"
    multi_value_form = MULTI_VALUE_FORMS.get(name)
    if multi_value_form:
        return f"{message}. To send several values, {multi_value_form}."
    return (
        f"{message}. The API reads one value of {name}, so request each value separately "
        "and combine the results."
    )


def paging_parameter_message(name: str, paged: bool) -> str:
    if not paged:
        return (
            f"{name} is not a parameter of this endpoint, which returns every item in one "
            f"response without pages: leave {name} out."
        )
    if FOREIGN_PAGING_PARAMETERS[name] == PAGE_SIZE_PARAM:
        return (
            f"{name} is not a parameter of the API: send {PAGE_SIZE_PARAM} to set the rows "
            "per page."
        )
    return (
        f"{name} is not a parameter of the API, which pages lists with a cursor: request the "
        f"first page without {name}, then follow the next link of each page until it is null."
    )


def query_parameters_check(request: Request, paged: bool) -> None:
    """Raise ValidationError for a repeated query parameter or another API's paging parameter.

    Django's QueryDict returns the last value of a repeated parameter, so ``tier=high&
    tier=medium`` would list the medium tier only. ``page=2`` would be ignored and return
    the first page again, so a client that pages by number would never stop. Names that
    start with "_", such as a cache-busting ``_``, are ignored as they are elsewhere.
    NOTE: a write reads its body, so an unknown query parameter on a POST, such as
    ``POST /imports/?dry_run=true``, is ignored unless it is repeated.
    """
    errors: dict[str, list[str]] = {}
    for name, values in request.query_params.lists():
        if name.startswith("_"):
            continue
        if len(values) > 1:
            errors[name] = [repeated_parameter_message(name, values)]
        elif name in FOREIGN_PAGING_PARAMETERS:
            errors[name] = [paging_parameter_message(name, paged)]
    if errors:
        raise ValidationError(errors)


class JsonErrorsMixin:
    """Render error responses as JSON even when the request accepted CSV.

    Every API view includes this mixin, so it also runs query_parameters_check after
    the authentication, permission and throttle checks.
    """

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        query_parameters_check(request, paged=getattr(self, "pagination_class", None) is not None)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        renderer = getattr(request, "accepted_renderer", None)
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and renderer is not None
            and renderer.format == "csv"
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
