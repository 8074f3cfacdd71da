"""Read-only admin pages for provenance: observations, resolutions and enrichment runs.

These rows are written by imports, enrichment runs and conflict resolution. Editing them
by hand would break the current-value rule, so every page only lists and shows them.
"""

from django.contrib import admin
from django.http import HttpRequest

from .models import EnrichmentRun, EnrichmentRunItem, FieldResolution, Observation


class ReadOnlyAdmin(admin.ModelAdmin):
    """Admin that shows rows but never adds, changes or deletes them."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class EnteredByPersonFilter(admin.SimpleListFilter):
    title = "entered by a person"
    parameter_name = "entered"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(entered_by__isnull=False)
        if self.value() == "no":
            return queryset.filter(entered_by__isnull=True)
        return queryset


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdmin):
    list_display = (
        "account",
        "field",
        "value",
        "raw_value",
        "source",
        "source_detail",
        "observed_at",
        "entered_by",
    )
    list_filter = ("source", "field", EnteredByPersonFilter)
    list_select_related = ("account", "entered_by")
    search_fields = ("account__name", "account__domain", "raw_value")
    date_hierarchy = "observed_at"
    # Counting every observation for the "x of y" label costs a full scan on large tables.
    show_full_result_count = False


@admin.register(FieldResolution)
class FieldResolutionAdmin(ReadOnlyAdmin):
    list_display = (
        "account",
        "field",
        "value",
        "previous_status",
        "resolved_by",
        "resolved_at",
        "channel",
        "reason",
    )
    list_filter = ("field", "channel")
    list_select_related = ("account", "resolved_by")
    search_fields = ("account__name", "account__domain", "reason")
    date_hierarchy = "resolved_at"


class EnrichmentRunItemInline(admin.TabularInline):
    model = EnrichmentRunItem
    fields = ("account", "status", "found", "changed", "attempts", "error_kind", "error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest):
        # Only failed accounts are listed: a run can have thousands of done ones.
        return (
            super()
            .get_queryset(request)
            .filter(status=EnrichmentRunItem.Status.FAILED)
            .select_related("account")
        )


@admin.register(EnrichmentRun)
class EnrichmentRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "provider",
        "scope",
        "status",
        "total",
        "processed",
        "found",
        "changed",
        "verified",
        "conflicts",
        "errors",
        "not_reached",
        "triggered_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("provider", "status", "scope")
    list_select_related = ("triggered_by",)
    inlines = (EnrichmentRunItemInline,)
