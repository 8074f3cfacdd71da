"""One JSON shape for every API error: ``{"error": {"code", "message", "fields"}}``.

``code`` is a stable machine-readable word (``invalid``, ``not_found``, ``throttled`` …),
``message`` a sentence for a person, and ``fields`` maps invalid parameters or body fields
to their messages (empty for other errors).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from accounts.importing.uploads import max_upload_bytes, size_label

logger = logging.getLogger(__name__)

SERVER_ERROR_MESSAGE = (
    "The server failed to handle this request. Try again later, and if it keeps failing, "
    "report the time and URL to Sales Ops."
)


class PreconditionFailed(exceptions.APIException):
    """The If-Match header names a version that is no longer current."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The resource changed since you read it: fetch it again, reapply your change and "
        "send it with the new ETag in If-Match."
    )
    default_code = "precondition_failed"

    def __init__(self, detail: str | None = None, *, etag: str | None = None) -> None:
        super().__init__(detail)
        self.etag = etag


class RequestTooLarge(exceptions.APIException):
    """The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE, which Django reads at most."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class TooManyParts(exceptions.APIException):
    """A form body with more fields or files than Django's DATA_UPLOAD_MAX_NUMBER_* limits."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "too_many_parts"


def request_limit_error(exc: Exception) -> exceptions.APIException | None:
    """Return the API error for a body over one of Django's upload limits, or None.

    Django raises these while DRF parses the body. They are SuspiciousOperation errors,
    which DRF does not handle, so without this they would return a 500.
    """
    if isinstance(exc, RequestDataTooBig):
        limit = size_label(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return RequestTooLarge(
            f"The request body is larger than {limit}, the maximum that the API reads "
            f"(DATA_UPLOAD_MAX_MEMORY_SIZE): send a body of less than {limit}, such as fewer "
            "values per request. To import accounts, upload a file as multipart/form-data "
            f"to POST /api/v1/imports/, whose own limit of {size_label(max_upload_bytes())} "
            "applies."
        )
    if isinstance(exc, TooManyFieldsSent):
        return TooManyParts(
            f"The form body has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form "
            "fields, the maximum that the API reads (DATA_UPLOAD_MAX_NUMBER_FIELDS): send "
            "only the fields of the endpoint, each once."
        )
    if isinstance(exc, TooManyFilesSent):
        return TooManyParts(
            f"The form body has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files, the "
            "maximum that the API reads (DATA_UPLOAD_MAX_NUMBER_FILES): send one file per "
            "upload."
        )
    return None


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_names(fields: dict[str, Any]) -> str:
    return ", ".join(str(name) for name in fields)


def _first_message(detail: Any) -> str:
    if isinstance(detail, list | tuple):
        return _first_message(detail[0]) if detail else ""
    if isinstance(detail, dict):
        return _first_message(next(iter(detail.values()), ""))
    return str(detail)


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    detail = exc.detail
    if isinstance(detail, dict):
        fields = {str(name): messages for name, messages in detail.items()}
        non_field = fields.get("non_field_errors")
        if non_field and len(fields) == 1:
            return error_body("invalid", _first_message(non_field), fields)
        message = (
            f"The request has invalid values in: {_field_names(fields)}. "
            f"{_first_message(detail)} Correct them and send the request again."
        )
        return error_body("invalid", message, fields)
    return error_body("invalid", _first_message(detail) or "The request is invalid.")


def _message(exc: exceptions.APIException, request: HttpRequest | None, view: Any) -> str:
    detail = str(exc.detail)
    path = request.path if request is not None else "this URL"
    if isinstance(exc, exceptions.NotAuthenticated):
        return (
            "Authentication credentials were not provided: send an API token as "
            '"Authorization: Bearer <key>" or sign in.'
        )
    if isinstance(exc, exceptions.NotFound) and detail == "Invalid cursor":
        return "The cursor is invalid: start again without it, then follow the next links."
    if isinstance(exc, exceptions.NotFound) and detail == str(exceptions.NotFound.default_detail):
        return (
            f"Nothing was found at {path}: check the id in the URL and that your role may see it."
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return f"{detail} Check the method against the API documentation at /api/v1/docs/."
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # The parsers of the view, such as only multipart/form-data for import uploads.
        accepted = [parser.media_type for parser in getattr(view, "parser_classes", None) or []]
        if accepted:
            return f"{detail} Send the body as {' or '.join(accepted)} at {path}."
        return f"{detail} Send the body as application/json, or multipart/form-data for uploads."
    if isinstance(exc, exceptions.NotAcceptable):
        if detail != str(exceptions.NotAcceptable.default_detail):
            # An unsupported ?format=, whose message lists the view's formats.
            return detail
        return f"{detail} Accept application/json, or text/csv where CSV is offered."
    if isinstance(exc, exceptions.ParseError):
        return _parse_error_message(detail)
    if isinstance(exc, exceptions.Throttled):
        wait = f"{int(exc.wait)} seconds" if exc.wait is not None else "a moment"
        return f"Too many requests of this kind from your user: retry in {wait}."
    return detail


def _parse_error_message(detail: str) -> str:
    """Return the message for a body that its parser could not read.

    DRF's JSONParser (DRF 3.16) raises "JSON parse error - " followed by Python's own
    message, such as "Expecting value: line 1 column 1 (char 0)". The message keeps that
    position, because it shows where the body breaks.
    """
    prefix = "JSON parse error - "
    if detail.startswith(prefix):
        reason = detail.removeprefix(prefix).rstrip(".")
        return (
            f"The request body is not valid JSON ({reason}). Send a JSON object such as "
            '{"tag": "SaaS – Mid-Market – EMEA"} with Content-Type: application/json.'
        )
    return f"{detail.rstrip('.')}. Send a body that matches its Content-Type header."


def _unsupported_format_error(request: Any, view: Any) -> exceptions.APIException | None:
    """Return the error for a format that no renderer of ``view`` offers, or None.

    DRF's content negotiation (``DefaultContentNegotiation.filter_renderers``, DRF 3.16)
    raises a bare Http404 for such a format before it sets ``request.accepted_renderer``,
    so the missing attribute distinguishes this 404 from a missing object. A ``?format=``
    parameter is a request for a representation of a resource that exists, so it gets 406
    Not Acceptable. A format suffix such as ``/accounts.xml`` names a URL that does not
    exist, so it keeps the 404.
    """
    if request is None or view is None or hasattr(request, "accepted_renderer"):
        return None
    requested = request.query_params.get(view.settings.URL_FORMAT_OVERRIDE or "")
    from_query = requested is not None
    if requested is None:
        requested = view.kwargs.get("format")
    if requested is None:
        return None
    supported = [renderer.format for renderer in view.get_renderers()]
    if requested in supported:
        return None
    message = (
        f"The format {requested!r} is not supported at {request.path}: "
        f"use one of {', '.join(supported)}."
    )
    if from_query:
        return exceptions.NotAcceptable(message)
    return exceptions.NotFound(message)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Return the error response of ``exc`` in the API's error shape."""
    request = context.get("request")
    if isinstance(exc, Http404):
        format_error = _unsupported_format_error(request, context.get("view"))
        exc = format_error or exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    else:
        exc = request_limit_error(exc) or exc

    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception(
            "API request %s %s failed in %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            type(view).__name__ if view is not None else "an unknown view",
        )
        set_rollback()
        return Response(
            error_body("server_error", SERVER_ERROR_MESSAGE),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    etag = getattr(exc, "etag", None)
    if etag:
        headers["ETag"] = etag
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))

    if isinstance(exc, exceptions.ValidationError):
        body = _validation_body(exc)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        body = error_body(str(code), _message(exc, request, context.get("view")))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Return the 404 error of a URL under /api/v1/ that no endpoint serves.

    Exempt from CSRF like the API views, so that a POST to a wrong URL gets this 404
    rather than an HTML CSRF failure page.
    """
    message = (
        f"No API endpoint serves {request.path}: check the URL against /api/v1/docs/ "
        "(paths end with a slash)."
    )
    return JsonResponse(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)
