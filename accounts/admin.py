from django.contrib import admin
from django.http import HttpRequest

from icp_portal.history_admin import HistoryAdmin

from .models import Account, AccountIdentifier, ImportRun, Lead

# Fields written by segmentation runs. Editing them by hand would disagree with the
# ScoreRecord history, so the admin shows them read-only.
LATEST_RESULT_FIELDS = (
    "size_band",
    "geography",
    "tag",
    "tier",
    "score",
    "route",
    "needs_enrichment",
    "missing_fields",
    "framework",
    "scored_at",
)


class AccountIdentifierInline(admin.TabularInline):
    model = AccountIdentifier
    extra = 0


@admin.register(Account)
class AccountAdmin(HistoryAdmin):
    list_display = (
        "name",
        "domain",
        "country",
        "industry",
        "size_band",
        "tier",
        "score",
        "needs_enrichment",
    )
    list_filter = ("tier", "needs_enrichment", "size_band", "geography", "industry", "source")
    list_select_related = ("industry",)
    search_fields = ("name", "domain")
    raw_id_fields = ("owner",)
    readonly_fields = (*LATEST_RESULT_FIELDS, "created_at", "updated_at")
    inlines = (AccountIdentifierInline,)
    # Counting every account for the "x of y" label costs a full scan on large tables.
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("name", "name_key", "domain", "website", "owner", "source")}),
        ("Industry", {"fields": ("industry", "industry_raw")}),
        (
            "Size and revenue",
            {
                "fields": (
                    "employee_count",
                    "employee_min",
                    "employee_max",
                    "employee_raw",
                    "employee_approximate",
                    "annual_revenue_usd",
                    "revenue_amount",
                    "revenue_currency",
                    "revenue_raw",
                )
            },
        ),
        ("Location", {"fields": ("country", "region", "city")}),
        (
            "Technographics and signals",
            {"fields": ("technologies", "buying_signals", "description", "review_flags")},
        ),
        ("Latest segmentation result", {"fields": LATEST_RESULT_FIELDS}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )


@admin.register(Lead)
class LeadAdmin(HistoryAdmin):
    list_display = ("__str__", "title", "email", "account", "source", "updated_at")
    list_select_related = ("account",)
    list_filter = ("source",)
    search_fields = ("first_name", "last_name", "email", "account__name", "account__domain")
    raw_id_fields = ("account",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Import history, shown read-only because the importer alone writes it."""

    list_display = (
        "id",
        "file_name",
        "source",
        "status",
        "is_dry_run",
        "rows_read",
        "created",
        "updated",
        "unchanged",
        "merged",
        "rejected",
        "flagged",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "source", "is_dry_run")
    list_select_related = ("created_by",)
    search_fields = ("file_name",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False
