"""OpenAPI schema additions: the shared error responses, ``bom`` and each write's token scope."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable cause, such as invalid or not_found.")
    message = serializers.CharField(help_text="What failed and what to do about it.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Messages per invalid parameter or body field; empty for other errors.",
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    error = ErrorDetailSerializer()


# The ``bom`` query parameter of account list CSV downloads, read by
# ``streams.csv_bom_requested``.
BOM_PARAMETER = build_parameter_type(
    name="bom",
    schema={"type": "string", "enum": ["1", "true", "0", "false"]},
    location=OpenApiParameter.QUERY,
    description=(
        "With format=csv: 1 or true starts the CSV with a UTF-8 byte order mark, so that "
        "Excel reads accented names and en dashes; 0, false or no bom sends none."
    ),
)


class ApiAutoSchema(AutoSchema):
    """AutoSchema that documents the error responses in the shared error shape."""

    def _error_codes(self) -> list[str]:
        # Every operation can return 404 for an unknown id or format suffix, and 406 for
        # an unknown ?format= value.
        codes = ["400", "401", "403", "404", "406", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        if self.method in ("PUT", "PATCH", "DELETE") or self.path.endswith("/segment/"):
            codes.append("412")
        return codes

    def _get_format_parameters(self) -> list[dict]:
        parameters = super()._get_format_parameters()
        # Imported here: the schema class is loaded with the settings, before the views.
        from .streams import AccountStreamMixin

        if isinstance(self.view, AccountStreamMixin) and self._is_list_view():
            parameters.append(BOM_PARAMETER)
        return parameters

    def _get_filter_parameters(self) -> list[dict]:
        # The tag and route members take the segment in the path, and their filter set, the
        # account list's, also has a tag and a route filter. The path names the segment, so
        # the query filter of the same name is left out of the documented parameters.
        path_names = set(re.findall(r"{(\w+)}", self.path))
        return [
            parameter
            for parameter in super()._get_filter_parameters()
            if parameter["name"] not in path_names
        ]

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        note = self._token_scope_note()
        if note:
            description = operation.get("description", "")
            operation["description"] = f"{description}\n\n{note}" if description else note
        return operation

    def _token_scope_note(self) -> str:
        """Return the sentence that names the token scope a write needs, or "" for a read.

        Reads need the read scope, which every token holds, so they get no sentence.
        """
        # Imported here: the schema class is loaded with the settings, before the views.
        from .permissions import SessionOnly, required_token_scope, scopes_granting

        if SessionOnly in getattr(self.view, "permission_classes", []):
            return "Only a signed-in session can call this: a request with an API token gets 403."
        needed = required_token_scope(self.method, self.view)
        if needed == "read":
            return ""
        accepted = " or ".join(f"`{scope}`" for scope in scopes_granting(needed))
        return f"An API token needs the {accepted} scope for this request."

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ErrorSerializer, code, media_types=["application/json"], direction=direction
                )
        return responses


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <key>`` for ApiTokenAuthentication."""

    target_class = "accounts.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Personal API token (icp_…) with the `read` scope, `read` and "
            "`segments` (also saves your own segments), or `read` and `write` (every change "
            "your role allows, saved segments included).",
        }
