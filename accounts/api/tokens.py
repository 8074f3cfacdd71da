"""Personal API tokens: list, create (the key is shown once) and revoke."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.models import ApiToken
from integrations.services.tokens import (
    EMPTY_SCOPES_MESSAGE,
    SCOPE_FORMS,
    api_token_create,
    api_token_revoke,
)

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .field_messages import DetailedFieldErrorsMixin
from .pagination import IdCursorPagination
from .permissions import (
    SEGMENT_SAVING_ROLES,
    WRITING_ROLES,
    HasSalesRole,
    SessionOnly,
    roles_listed,
)
from .serializers import unknown_field_message


class ScopeListField(serializers.ListField):
    """A list of token scopes whose error names the unknown scope and the valid ones.

    ListField reports a bad item under its index, as ``{"0": ["..."]}``, with a message
    that names no valid scope, so unknown scopes are rejected here first.
    """

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, list):
            known = set(ApiToken.Scope.values)
            unknown = [str(scope) for scope in data if scope not in known]
            if unknown:
                listed = ", ".join(f'"{scope}"' for scope in unknown)
                noun = "is not a scope" if len(unknown) == 1 else "are not scopes"
                raise serializers.ValidationError(
                    f"{listed} {noun}: use {SCOPE_FORMS}.", code="invalid_choice"
                )
        return super().to_internal_value(data)


class ApiTokenSerializer(DetailedFieldErrorsMixin, serializers.ModelSerializer):
    """A token without its key. The key prefix identifies the token in lists."""

    scopes = ScopeListField(
        child=serializers.ChoiceField(choices=ApiToken.Scope.choices),
        allow_empty=False,
        error_messages={"empty": EMPTY_SCOPES_MESSAGE},
        help_text=f"{SCOPE_FORMS}. read allows GET requests. segments also creates, changes "
        f"and deletes your own saved segments ({roles_listed(SEGMENT_SAVING_ROLES)}). write "
        "allows every change that your role allows, saved segments included "
        f"({roles_listed(WRITING_ROLES)}).",
    )
    is_revoked = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "key_prefix",
            "scopes",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "is_revoked",
        ]
        read_only_fields = [
            "id",
            "key_prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
            "is_revoked",
        ]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # DRF drops unknown keys, so {"user": 7} would create a token of the sender anyway.
        if isinstance(data, Mapping):
            writable = [name for name, field in self.fields.items() if not field.read_only]
            errors = {
                name: [unknown_field_message(name, writable, "an API token")]
                for name in data
                if name not in self.fields
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class NewApiTokenSerializer(ApiTokenSerializer):
    """A token just created, with its key: store the key now, it is not shown again."""

    key = serializers.CharField(read_only=True, help_text="Send as Authorization: Bearer <key>.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = [*ApiTokenSerializer.Meta.read_only_fields, "key"]


@extend_schema_view(
    list=extend_schema(summary="List your API tokens"),
    retrieve=extend_schema(summary="Read one of your API tokens"),
    create=extend_schema(
        summary="Create an API token; the response shows the key once",
        request=ApiTokenSerializer,
        responses={201: NewApiTokenSerializer},
    ),
    destroy=extend_schema(summary="Revoke an API token"),
)
class ApiTokenViewSet(
    JsonErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The signed-in user's tokens. Managed from a session only, never with a token."""

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole, SessionOnly]
    serializer_class = ApiTokenSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[ApiToken]:
        return ApiToken.objects.filter(user_id=self.request.user.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        token, key = api_token_create(
            user=request.user,
            name=values["name"],
            scopes=values["scopes"],
            expires_at=values.get("expires_at"),
        )
        token.key = key
        return Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        api_token_revoke(instance)
