"""Pieces every API view shares: the base permissions and JSON error bodies."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .permissions import TokenScopePermission

# Views that set permission_classes replace the default list, so each starts with these.
BASE_PERMISSIONS = [IsAuthenticated, TokenScopePermission]


class JsonErrorsMixin:
    """Render error responses as JSON even when the request accepted CSV."""

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
