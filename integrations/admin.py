"""Admin pages for API tokens, saved segments and webhooks."""

from django.contrib import admin, messages
from django.http import HttpRequest

from integrations.models import (
    ApiToken,
    SavedSegment,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from integrations.services.tokens import api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created through the API, where the key is shown once; here they are revoked."""

    list_display = (
        "name",
        "user",
        "key_prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "key_prefix")
    readonly_fields = ("user", "key_prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    fields = (
        "name",
        "user",
        "key_prefix",
        "scopes",
        "expires_at",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset) -> None:
        for token in queryset:
            api_token_revoke(token)
        self.message_user(request, f"Revoked {queryset.count()} tokens.", messages.SUCCESS)


@admin.register(SavedSegment)
class SavedSegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "is_shared", "updated_at")
    list_filter = ("is_shared",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = (
        "event_id",
        "status",
        "attempt_count",
        "status_code",
        "error",
        "next_retry_at",
        "delivered_at",
    )
    readonly_fields = fields
    ordering = ("-created_at",)
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Subscriptions are created through the API, which checks the URL and returns the secret."""

    list_display = ("name", "url", "events", "is_active", "created_by", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = ("url", "events", "created_by", "created_at", "updated_at")
    fields = ("name", "url", "events", "is_active", "created_by", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_id",
        "subscription",
        "status",
        "attempt_count",
        "status_code",
        "next_retry_at",
        "delivered_at",
    )
    list_filter = ("status",)
    search_fields = ("event_id",)
    list_select_related = ("subscription",)
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookCursor)
class WebhookCursorAdmin(admin.ModelAdmin):
    list_display = ("name", "last_id", "updated_at")
