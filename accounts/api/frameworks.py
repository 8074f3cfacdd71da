"""Framework versions: read all, and let Sales Ops start a draft copy of one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from segmentation.lifecycle import framework_draft_create
from segmentation.models import Criterion, Framework, FrameworkStatus, GeographyMapping, SizeBand

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .filtersets import FrameworkFilterSet
from .pagination import IdCursorPagination
from .permissions import FrameworkPermission


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


class FrameworkDraftSerializer(serializers.Serializer):
    """The source of a new draft copy: a named version, or the approved (active) one."""

    based_on = serializers.PrimaryKeyRelatedField(
        queryset=Framework.objects.all(),
        required=False,
        help_text="Id of the framework to copy; the approved version when left out.",
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=5000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "based_on" not in attrs:
            active = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
            if active is None:
                raise serializers.ValidationError(
                    {"based_on": ["No framework version is approved: name the id of one to copy."]}
                )
            attrs["based_on"] = active
        return attrs


@extend_schema_view(
    list=extend_schema(summary="List framework versions, newest first"),
    retrieve=extend_schema(summary="Read a framework version with its criteria"),
    create=extend_schema(
        summary="Create a draft copy of a framework version",
        request=FrameworkDraftSerializer,
        responses={201: FrameworkDetailSerializer},
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
        draft = framework_draft_create(
            source=values["based_on"],
            user=request.user,
            name=values.get("name", ""),
            summary=values.get("summary", ""),
        )
        draft = (
            self.get_queryset()
            .prefetch_related("criteria", "size_bands", "geography_mappings")
            .get(pk=draft.pk)
        )
        return Response(FrameworkDetailSerializer(draft).data, status=status.HTTP_201_CREATED)
