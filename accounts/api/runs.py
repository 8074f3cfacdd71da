"""Read-only lists of enrichment runs, import runs and audit violations."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from accounts.models import ImportRun
from audits.models import Violation
from enrichment.models import EnrichmentRun
from enrichment.selectors import enrichment_runs_for

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .filtersets import (
    EnrichmentRunFilterSet,
    ImportRunFilterSet,
    UnusedFiltersSkippingBackend,
    ViolationFilterSet,
)
from .imports import IMPORT_RUN_COUNT_FIELDS
from .pagination import IdCursorPagination
from .permissions import AuditPermission, HasSalesRole, visible_violations


class EnrichmentRunSerializer(serializers.ModelSerializer):
    """One provider lookup over a set of accounts, with its progress and counts."""

    triggered_by = serializers.CharField(
        source="triggered_by.username", read_only=True, allow_null=True
    )
    last_progress_at = serializers.DateTimeField(source="heartbeat_at", read_only=True)
    waiting_for_worker = serializers.BooleanField(
        source="is_waiting_for_worker",
        read_only=True,
        help_text="True when the run made no progress for ENRICHMENT_STALLED_AFTER_SECONDS "
        "because its queued tasks wait for a worker.",
    )
    waiting_for_lock = serializers.BooleanField(
        source="is_waiting_for_lock",
        read_only=True,
        help_text="True when the run made no progress for ENRICHMENT_STALLED_AFTER_SECONDS "
        "because it waits for another import, re-scoring or enrichment run to finish "
        "(long writes run one at a time on SQLite).",
    )
    stalled = serializers.BooleanField(
        source="is_stalled",
        read_only=True,
        help_text="True when the run made no progress for ENRICHMENT_STALLED_AFTER_SECONDS "
        "although no task of it waits in the queue, so its process has most likely died.",
    )

    class Meta:
        model = EnrichmentRun
        fields = [
            "id",
            "provider",
            "scope",
            "scope_detail",
            "status",
            "total",
            "processed",
            "looked_up",
            "found",
            "changed",
            "verified",
            "conflicts",
            "errors",
            "not_reached",
            "error_details",
            "error",
            "triggered_by",
            "created_at",
            "started_at",
            "finished_at",
            "last_progress_at",
            "queued_tasks",
            "waiting_for_worker",
            "waiting_for_lock",
            "stalled",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List enrichment runs, newest first"),
    retrieve=extend_schema(summary="Read an enrichment run"),
)
class EnrichmentRunViewSet(JsonErrorsMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = EnrichmentRunSerializer
    pagination_class = IdCursorPagination
    filterset_class = EnrichmentRunFilterSet

    def get_queryset(self) -> QuerySet[EnrichmentRun]:
        # The rule of the pages: a run's failed accounts and errors are for the person who
        # started it, Sales Managers and Sales Ops.
        return enrichment_runs_for(self.request.user)


class ImportRunSummarySerializer(serializers.ModelSerializer):
    """An import run's file, status and counts, without its error, starter or rejected rows."""

    class Meta:
        model = ImportRun
        fields = [*IMPORT_RUN_COUNT_FIELDS, "created_at", "started_at", "finished_at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List every import run, newest first, read-only"),
    retrieve=extend_schema(summary="Read an import run's summary"),
)
class ImportRunSummaryViewSet(JsonErrorsMixin, viewsets.ReadOnlyModelViewSet):
    """Every import run, read-only, for every sales role.

    Roles that cannot import, such as Marketing, find here the ids that the accounts'
    import_run filter takes. /imports/ stays the importers' endpoint, with uploads,
    errors and rejected rows.
    """

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = ImportRunSummarySerializer
    pagination_class = IdCursorPagination
    filterset_class = ImportRunFilterSet

    def get_queryset(self) -> QuerySet[ImportRun]:
        return ImportRun.objects.all()


class ViolationSerializer(serializers.ModelSerializer):
    """One monthly audit finding on one account."""

    audit_month = serializers.DateField(source="audit_run.month", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    responsible = serializers.CharField(
        source="responsible.username", read_only=True, allow_null=True
    )
    responsible_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Violation
        fields = [
            "id",
            "audit_month",
            "account_id",
            "account_name",
            "kind",
            "rule_code",
            "detail",
            "severity",
            "responsible",
            "responsible_id",
            "status",
            "consequence",
            "resolved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List audit violations: your team's, or all for Ops and Leadership"),
    retrieve=extend_schema(summary="Read an audit violation"),
)
class ViolationViewSet(JsonErrorsMixin, viewsets.ReadOnlyModelViewSet):
    """Audit findings. Sales Managers see their team's; Sales Ops and Leadership see all."""

    permission_classes = [*BASE_PERMISSIONS, AuditPermission]
    serializer_class = ViolationSerializer
    pagination_class = IdCursorPagination
    # Rejects a misspelt filter such as ?staus=open, which would list every finding.
    filter_backends = [UnusedFiltersSkippingBackend]
    filterset_class = ViolationFilterSet

    def get_queryset(self) -> QuerySet[Violation]:
        queryset = Violation.objects.select_related("audit_run", "account", "responsible")
        return visible_violations(self.request.user, queryset)
