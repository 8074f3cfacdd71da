"""Framework versions: read all, and let Sales Ops start a draft copy of one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from segmentation.lifecycle import (
    FrameworkLifecycleError,
    FrameworkOpenCopyError,
    framework_copy_rejection,
    framework_draft_create,
)
from segmentation.models import Criterion, Framework, FrameworkStatus, GeographyMapping, SizeBand

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .errors import error_body
from .field_messages import DetailedFieldErrorsMixin
from .filtersets import FrameworkFilterSet, UnusedFiltersSkippingBackend
from .pagination import IdCursorPagination
from .permissions import FrameworkPermission
from .schema import ErrorSerializer
from .serializers import unknown_field_message


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = [
            "id",
            "dimension",
            "label",
            "operator",
            "values",
            "min_value",
            "max_value",
            "weight",
            "is_must_have",
            "is_disqualifier",
            "unknown_policy",
            "position",
        ]
        read_only_fields = fields


class SizeBandSerializer(serializers.ModelSerializer):
    class Meta:
        model = SizeBand
        fields = [
            "id",
            "name",
            "min_employees",
            "max_employees",
            "min_revenue_usd",
            "max_revenue_usd",
            "position",
        ]
        read_only_fields = fields


class GeographyMappingSerializer(serializers.ModelSerializer):
    class Meta:
        model = GeographyMapping
        fields = ["country", "region", "label"]
        read_only_fields = fields


class FrameworkSerializer(serializers.ModelSerializer):
    """A framework version's settings, without its criteria."""

    based_on_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Framework
        fields = [
            "id",
            "version",
            "name",
            "status",
            "summary",
            "tag_template",
            "high_tier_min_score",
            "medium_tier_min_score",
            "high_tier_route",
            "medium_tier_route",
            "low_tier_route",
            "unmapped_geography_label",
            "based_on_id",
            "created_at",
            "submitted_at",
            "approved_at",
            "retired_at",
        ]
        read_only_fields = fields


class FrameworkDetailSerializer(FrameworkSerializer):
    """A framework version with its criteria, size bands and geography map."""

    criteria = CriterionSerializer(many=True, read_only=True)
    size_bands = SizeBandSerializer(many=True, read_only=True)
    geography_mappings = GeographyMappingSerializer(many=True, read_only=True)

    class Meta(FrameworkSerializer.Meta):
        fields = [*FrameworkSerializer.Meta.fields, "criteria", "size_bands", "geography_mappings"]
        read_only_fields = fields


def _known_frameworks() -> str:
    """Return every version as "id 3 (v3, approved)", for errors about the source."""
    rows = Framework.objects.order_by("version").values_list("pk", "version", "status")
    known = [f"id {pk} (v{version}, {status})" for pk, version, status in rows]
    return ", ".join(known) or "none yet"


class FrameworkIdField(serializers.PrimaryKeyRelatedField):
    """A framework's database id, with errors that tell it apart from a version number."""

    def to_internal_value(self, data: Any) -> Framework:
        if isinstance(data, bool) or not isinstance(data, int | str) or not str(data).isdigit():
            raise serializers.ValidationError(
                f"Invalid based_on {data!r}: send a framework's id, a whole number such as "
                "the id field of /api/v1/frameworks/, or based_on_version with a version "
                "number."
            )
        framework = Framework.objects.filter(pk=int(data)).first()
        if framework is None:
            raise serializers.ValidationError(
                f"No framework has id {data}: based_on is the id field of "
                "/api/v1/frameworks/, not the version number (send based_on_version for "
                f"that). Known frameworks: {_known_frameworks()}."
            )
        return framework


class FrameworkDraftSerializer(DetailedFieldErrorsMixin, serializers.Serializer):
    """The source of a new draft copy: the approved (active) version.

    ``based_on`` (an id) or ``based_on_version`` (a version number) name it, and the
    active version is copied when both are left out. Any other version is rejected while
    one is approved, because a copy of it could never be approved.
    """

    based_on = FrameworkIdField(
        queryset=Framework.objects.all(),
        required=False,
        help_text=(
            "Id of the framework to copy (the id field, not the version number); the "
            "approved version when left out."
        ),
    )
    based_on_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Version number of the framework to copy, instead of based_on.",
    )
    name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Name of the draft; the source's name when left out or empty.",
    )
    summary = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        help_text="Summary of changes, which can also be written when submitting the draft.",
    )
    allow_parallel_draft = serializers.BooleanField(
        default=False,
        help_text=(
            "Create the draft even though a draft or submitted copy of the same version is "
            "open. Without it such a request gets 409 naming the open copy. Approving either "
            "copy makes the other outdated, so it can no longer be approved."
        ),
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # DRF drops unknown keys, so {"source": 2} would copy the active version.
        if isinstance(data, Mapping):
            writable = list(self.fields)
            errors = {
                name: [unknown_field_message(name, writable, "a framework draft request")]
                for name in data
                if name not in self.fields
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def validate_based_on_version(self, version: int) -> Framework:
        framework = Framework.objects.filter(version=version).first()
        if framework is None:
            raise serializers.ValidationError(
                f"Framework version {version} not found. Known frameworks: {_known_frameworks()}."
            )
        return framework

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        by_id = attrs.get("based_on")
        by_version = attrs.pop("based_on_version", None)
        if by_id is not None and by_version is not None and by_id.pk != by_version.pk:
            raise serializers.ValidationError(
                {
                    "based_on_version": [
                        f"based_on {by_id.pk} is v{by_id.version} but based_on_version is "
                        f"{by_version.version}: send only one of them."
                    ]
                }
            )
        source = by_id or by_version
        field = "based_on" if by_id is not None else "based_on_version"
        if source is None:
            field = "based_on"
            source = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
            if source is None:
                raise serializers.ValidationError(
                    {"based_on": ["No framework version is approved: name the id of one to copy."]}
                )
        rejection = framework_copy_rejection(source)
        if rejection:
            raise serializers.ValidationError({field: [rejection]})
        attrs["based_on"] = source
        return attrs


def _open_copy_conflict(error: FrameworkOpenCopyError) -> Response:
    """Return the 409 of a draft request while a copy of the same version is open.

    Besides the usual error shape, ``error.open_draft`` gives the open copy's id, version
    number and status, so a client can continue in it.
    """
    copy = error.open_copy
    message = (
        f"{error} No other draft was made: continue in v{copy.version} (id {copy.pk}), or "
        "send allow_parallel_draft=true to create a second draft anyway."
    )
    body = error_body("conflict", message)
    body["error"]["open_draft"] = {"id": copy.pk, "version": copy.version, "status": copy.status}
    return Response(body, status=status.HTTP_409_CONFLICT)


@extend_schema_view(
    list=extend_schema(summary="List framework versions, newest first"),
    retrieve=extend_schema(summary="Read a framework version with its criteria"),
    create=extend_schema(
        summary="Create a draft copy of a framework version",
        request=FrameworkDraftSerializer,
        responses={201: FrameworkDetailSerializer, 409: ErrorSerializer},
    ),
)
class FrameworkViewSet(
    JsonErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Framework versions. Approval and retirement happen in the portal, not here."""

    permission_classes = [*BASE_PERMISSIONS, FrameworkPermission]
    pagination_class = IdCursorPagination
    # Rejects a misspelt filter such as ?statu=approved, which would list every version.
    filter_backends = [UnusedFiltersSkippingBackend]
    filterset_class = FrameworkFilterSet

    def get_queryset(self) -> QuerySet[Framework]:
        queryset = Framework.objects.all()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("criteria", "size_bands", "geography_mappings")
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "list":
            return FrameworkSerializer
        if self.action == "create":
            return FrameworkDraftSerializer
        return FrameworkDetailSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = FrameworkDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        try:
            draft = framework_draft_create(
                source=values["based_on"],
                user=request.user,
                name=values.get("name", ""),
                summary=values.get("summary", ""),
                allow_parallel=values["allow_parallel_draft"],
            )
        except FrameworkOpenCopyError as error:
            return _open_copy_conflict(error)
        except FrameworkLifecycleError as error:
            # Another version was approved after the serializer checked the source.
            raise serializers.ValidationError({"based_on": [str(error)]}) from error
        draft = (
            self.get_queryset()
            .prefetch_related("criteria", "size_bands", "geography_mappings")
            .get(pk=draft.pk)
        )
        return Response(FrameworkDetailSerializer(draft).data, status=status.HTTP_201_CREATED)
