"""Webhook subscriptions and their delivery logs, managed by Sales Ops."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.http import DisallowedWebhookURL, webhook_url_check
from integrations.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from integrations.services.webhooks import webhook_subscription_create

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .field_messages import DetailedFieldErrorsMixin
from .filtersets import WebhookDeliveryFilterSet
from .pagination import IdCursorPagination
from .permissions import WebhookPermission

# An IPv4 address in a shorthand that some resolvers accept, such as 127.1, 0x7f000001 or
# 2130706433: one to four dot-separated decimal, octal or hexadecimal numbers.
_NUMERIC_HOST_RE = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.I)
WEBHOOK_URL_EXAMPLE = "https://crm.example.com/hooks/icp"


def invalid_webhook_url_message(url: str) -> str:
    """Return the error for a URL that Django's URLValidator rejects, naming the cause."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        host = ""
    if host and _NUMERIC_HOST_RE.fullmatch(host):
        return (
            f"“{url}” is not a valid URL: its host {host} is a numeric shorthand for an IP "
            "address, which is not accepted. Use the receiver's host name, such as "
            f"{WEBHOOK_URL_EXAMPLE}."
        )
    if host:
        return (
            f"“{url}” is not a valid URL: check that {host} is a valid host name, and send an "
            f"http or https URL such as {WEBHOOK_URL_EXAMPLE}."
        )
    return f"“{url}” is not a valid URL: send an http or https URL such as {WEBHOOK_URL_EXAMPLE}."


def validate_webhook_url_format(url: str) -> None:
    """Raise ValidationError naming the cause when Django's URLValidator rejects ``url``."""
    try:
        # The scheme is checked by webhook_url_check, whose message names it.
        URLValidator()(url)
    except DjangoValidationError:
        raise serializers.ValidationError(invalid_webhook_url_message(url)) from None


class WebhookURLField(serializers.URLField):
    """A URL whose format error names the value and the cause, not just "Enter a valid URL"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            validator for validator in self.validators if not isinstance(validator, URLValidator)
        ]
        self.validators.append(validate_webhook_url_format)


class WebhookSubscriptionSerializer(DetailedFieldErrorsMixin, serializers.ModelSerializer):
    """A receiver URL and the events it gets. The secret is shown only on creation."""

    url = WebhookURLField(
        max_length=500,
        help_text="http(s) URL on a public address; checked again before every delivery.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(
            choices=WebhookEvent.choices,
            error_messages={
                "invalid_choice": '"{input}" is not an event: use one or more of '
                + ", ".join(WebhookEvent.values)
                + "."
            },
        ),
        min_length=1,
        help_text="account.tier_changed and/or account.tag_changed.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "events", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        try:
            webhook_url_check(value)
        except DisallowedWebhookURL as error:
            raise serializers.ValidationError(str(error)) from error
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class NewWebhookSubscriptionSerializer(WebhookSubscriptionSerializer):
    """A subscription just created, with the signing secret: store it now."""

    secret = serializers.CharField(
        read_only=True, help_text="Key of the HMAC-SHA256 signature in X-ICP-Signature."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookSubscriptionSerializer.Meta.read_only_fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event sent to one subscription, with the outcome of its last attempt."""

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "payload",
            "status",
            "attempt_count",
            "status_code",
            "response_excerpt",
            "error",
            "next_retry_at",
            "last_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List webhook subscriptions"),
    retrieve=extend_schema(summary="Read a webhook subscription"),
    create=extend_schema(
        summary="Subscribe a URL to tier and tag changes; the response shows the secret once",
        responses={201: NewWebhookSubscriptionSerializer},
    ),
    update=extend_schema(summary="Replace a webhook subscription"),
    partial_update=extend_schema(summary="Change a webhook subscription"),
    destroy=extend_schema(summary="Delete a webhook subscription and its delivery log"),
)
class WebhookSubscriptionViewSet(JsonErrorsMixin, viewsets.ModelViewSet):
    permission_classes = [*BASE_PERMISSIONS, WebhookPermission]
    serializer_class = WebhookSubscriptionSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return WebhookSubscription.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = WebhookSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        with transaction.atomic():
            subscription = webhook_subscription_create(
                name=values["name"],
                url=values["url"],
                events=values["events"],
                created_by=request.user,
            )
            if values.get("is_active") is False:
                subscription.is_active = False
                subscription.save(update_fields=["is_active"])
        data = NewWebhookSubscriptionSerializer(subscription).data
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema(summary="List the deliveries of a webhook subscription, newest first")
class WebhookDeliveryListView(JsonErrorsMixin, generics.ListAPIView):
    permission_classes = [*BASE_PERMISSIONS, WebhookPermission]
    serializer_class = WebhookDeliverySerializer
    pagination_class = IdCursorPagination
    filterset_class = WebhookDeliveryFilterSet

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        subscription = get_object_or_404(WebhookSubscription, pk=self.kwargs["subscription_pk"])
        return WebhookDelivery.objects.filter(subscription=subscription)
