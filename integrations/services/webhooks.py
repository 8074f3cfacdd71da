"""Webhook subscriptions, the dispatcher that finds tier and tag changes, and deliveries.

Changes are found without hooks in the segmentation code: every changed result, manual
overrides included, appends a ScoreRecord. The dispatcher scans the records with an id
above a stored cursor, compares each with the account's previous record, and creates one
WebhookDelivery per change and subscription.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from integrations.http import DisallowedWebhookURL, webhook_post, webhook_url_check
from integrations.models import (
    WebhookCursor,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from integrations.signing import SIGNATURE_HEADER, signature_header
from segmentation.models import ScoreRecord

logger = logging.getLogger(__name__)

CURSOR_NAME = "score_records"
EVENT_TYPE = "account.segment_changed"


@dataclass(frozen=True)
class WebhookConfig:
    """The WEBHOOK_* settings with their defaults."""

    timeout_seconds: float
    max_attempts: int
    retry_base_seconds: int
    retry_max_seconds: int
    dispatch_delay_seconds: int
    dispatch_batch_size: int

    @classmethod
    def from_settings(cls) -> WebhookConfig:
        return cls(
            timeout_seconds=float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)),
            max_attempts=int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8)),
            retry_base_seconds=int(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 60)),
            retry_max_seconds=int(getattr(settings, "WEBHOOK_RETRY_MAX_SECONDS", 3600)),
            dispatch_delay_seconds=int(getattr(settings, "WEBHOOK_DISPATCH_DELAY_SECONDS", 60)),
            dispatch_batch_size=int(getattr(settings, "WEBHOOK_DISPATCH_BATCH_SIZE", 500)),
        )


def retry_delay_seconds(attempt_count: int, config: WebhookConfig) -> int:
    """Return the wait after failed attempt ``attempt_count``: base × 2^(n-1), capped."""
    return min(config.retry_base_seconds * 2 ** (attempt_count - 1), config.retry_max_seconds)


# Subscriptions ---------------------------------------------------------------------------


def webhook_events_clean(events: list[str]) -> list[str]:
    """Return the event types sorted; raise ValidationError for an empty or unknown one."""
    if not isinstance(events, list) or not events:
        raise ValidationError(
            {"events": f"Choose at least one event: {', '.join(WebhookEvent.values)}."}
        )
    unknown = sorted({str(event) for event in events} - set(WebhookEvent.values))
    if unknown:
        raise ValidationError(
            {"events": f"Unknown events {unknown}: use {', '.join(WebhookEvent.values)}."}
        )
    return sorted(set(events))


def webhook_url_clean(url: str) -> str:
    """Return ``url`` when webhooks may go there; raise ValidationError naming the reason."""
    try:
        webhook_url_check(url)
    except DisallowedWebhookURL as error:
        raise ValidationError({"url": str(error)}) from error
    return url


def webhook_subscription_create(
    *, name: str, url: str, events: list[str], created_by: AbstractBaseUser | None
) -> WebhookSubscription:
    """Create an active subscription with a new random secret (shown to the caller once)."""
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=webhook_url_clean(url),
        events=webhook_events_clean(events),
        secret="whsec_" + secrets.token_urlsafe(32),
        created_by=created_by,
    )
    logger.info(
        "webhook subscription %s to %s created by user %s",
        subscription.pk,
        subscription.url,
        getattr(created_by, "pk", None),
    )
    return subscription


# Dispatching -----------------------------------------------------------------------------


def _change_events(record: ScoreRecord) -> dict[str, dict[str, str]]:
    changes: dict[str, dict[str, str]] = {}
    previous_tier = record.previous_tier or ""
    previous_tag = record.previous_tag or ""
    if record.tier != previous_tier:
        changes["tier"] = {"previous": previous_tier, "current": record.tier}
    if record.tag != previous_tag:
        changes["tag"] = {"previous": previous_tag, "current": record.tag}
    return changes


def _event_payload(record: ScoreRecord, changes: dict[str, dict[str, str]]) -> dict[str, Any]:
    account = record.account
    return {
        "id": f"evt_score_{record.pk}",
        "type": EVENT_TYPE,
        "created_at": record.created_at.isoformat(),
        "data": {
            "account": {
                "id": account.pk,
                "name": account.name,
                "domain": account.domain,
                "url": reverse("account-detail", args=[account.pk]),
            },
            "changes": changes,
            "tier": record.tier,
            "tag": record.tag,
            "score": record.score,
            "route": record.route,
            "framework_version": record.framework.version,
            "score_record_id": record.pk,
            "manual": any(
                item.get("dimension") == "manual"
                for item in record.explanation or []
                if isinstance(item, dict)
            ),
        },
    }


def _is_subscribed(
    subscription: WebhookSubscription, changes: dict[str, Any], record: ScoreRecord
) -> bool:
    if record.created_at < subscription.created_at:
        return False
    events = set(subscription.events)
    return ("tier" in changes and WebhookEvent.TIER_CHANGED in events) or (
        "tag" in changes and WebhookEvent.TAG_CHANGED in events
    )


def webhook_events_dispatch(now: datetime | None = None) -> list[int]:
    """Create deliveries for the tier and tag changes of one batch of new records.

    Returns the ids of the new deliveries (see ``webhook_events_dispatch_batch``).
    """
    return webhook_events_dispatch_batch(now)[0]


def webhook_events_dispatch_batch(now: datetime | None = None) -> tuple[list[int], int]:
    """Create deliveries for the tier and tag changes recorded since the last scan.

    Scans at most WEBHOOK_DISPATCH_BATCH_SIZE records and returns the ids of the new
    deliveries and the number of records scanned. Records younger than
    WEBHOOK_DISPATCH_DELAY_SECONDS wait for the next scan, so that a record whose
    transaction commits after a record with a higher id is not skipped.
    """
    config = WebhookConfig.from_settings()
    now = now or timezone.now()
    horizon = now - timedelta(seconds=config.dispatch_delay_seconds)
    created_ids: list[int] = []
    with transaction.atomic():
        cursor, _ = WebhookCursor.objects.get_or_create(name=CURSOR_NAME)
        # Lock the cursor so two dispatchers never scan the same records.
        cursor = WebhookCursor.objects.select_for_update().get(pk=cursor.pk)
        subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
        previous = ScoreRecord.objects.filter(
            account_id=OuterRef("account_id"), id__lt=OuterRef("id")
        ).order_by("-id")
        records = list(
            ScoreRecord.objects.filter(id__gt=cursor.last_id, created_at__lte=horizon)
            .select_related("account", "framework")
            .annotate(
                previous_tier=Subquery(previous.values("tier")[:1]),
                previous_tag=Subquery(previous.values("tag")[:1]),
            )
            .order_by("id")[: config.dispatch_batch_size]
        )
        deliveries: list[WebhookDelivery] = []
        for record in records:
            if not subscriptions:
                break
            changes = _change_events(record)
            if not changes:
                continue
            payload = _event_payload(record, changes)
            deliveries.extend(
                WebhookDelivery(
                    subscription=subscription,
                    event_id=payload["id"],
                    event_type=EVENT_TYPE,
                    payload=payload,
                    next_retry_at=now,
                )
                for subscription in subscriptions
                if _is_subscribed(subscription, changes, record)
            )
        if records:
            cursor.last_id = records[-1].pk
            cursor.save(update_fields=["last_id", "updated_at"])
        if deliveries:
            WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
            created_ids = list(
                WebhookDelivery.objects.filter(
                    event_id__in={delivery.event_id for delivery in deliveries},
                    attempt_count=0,
                    status=WebhookDelivery.Status.PENDING,
                )
                .order_by("id")
                .values_list("id", flat=True)
            )
    if records:
        logger.info(
            "webhook dispatcher scanned score records up to %s: %s deliveries created",
            records[-1].pk,
            len(created_ids),
        )
    return created_ids, len(records)


# Delivering ------------------------------------------------------------------------------


def webhook_body(payload: dict[str, Any]) -> bytes:
    """Serialize a payload the same way on every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _claim(delivery_id: int, now: datetime, config: WebhookConfig) -> bool:
    # Moving next_retry_at past the request's timeout marks the delivery as taken, so a
    # second worker or the sweeper skips it while this attempt runs.
    lease = now + timedelta(seconds=config.timeout_seconds * 3 + 30)
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id,
            status=WebhookDelivery.Status.PENDING,
            next_retry_at__lte=now,
        ).update(next_retry_at=lease)
    )


def webhook_delivery_attempt(
    delivery_id: int, now: datetime | None = None
) -> WebhookDelivery | None:
    """Send one due delivery once and record the outcome; return it, or None if not due.

    A 2xx response marks it delivered. Anything else schedules the next attempt after
    an exponential back-off, until WEBHOOK_MAX_ATTEMPTS attempts have failed.
    """
    config = WebhookConfig.from_settings()
    now = now or timezone.now()
    if not _claim(delivery_id, now, config):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.is_active:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_retry_at = None
        delivery.error = "The subscription was deactivated before this delivery was sent."
        delivery.save(update_fields=["status", "next_retry_at", "error"])
        logger.info(
            "webhook delivery %s dropped: subscription %s is inactive", delivery.pk, subscription.pk
        )
        return delivery
    body = webhook_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "X-ICP-Event": delivery.event_type,
        "X-ICP-Event-Id": delivery.event_id,
        "X-ICP-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(subscription.secret, body),
    }
    delivery.attempt_count += 1
    delivery.last_attempt_at = timezone.now()
    delivery.status_code = None
    delivery.response_excerpt = ""
    delivery.error = ""
    try:
        status_code, excerpt = webhook_post(subscription.url, body, headers, config.timeout_seconds)
        delivery.status_code = status_code
        delivery.response_excerpt = excerpt
        if not 200 <= status_code < 300:
            delivery.error = f"The receiver answered HTTP {status_code}."
    except DisallowedWebhookURL as error:
        delivery.error = str(error)
    except requests.Timeout:
        delivery.error = f"No response within {config.timeout_seconds:g} seconds."
    except requests.RequestException as error:
        delivery.error = f"The request failed: {error}"

    if not delivery.error:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_retry_at = None
        logger.info(
            "webhook delivery %s (%s) to subscription %s delivered on attempt %s",
            delivery.pk,
            delivery.event_id,
            subscription.pk,
            delivery.attempt_count,
        )
    elif delivery.attempt_count >= config.max_attempts:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_retry_at = None
        logger.warning(
            "webhook delivery %s (%s) to subscription %s failed for good after %s attempts: %s",
            delivery.pk,
            delivery.event_id,
            subscription.pk,
            delivery.attempt_count,
            delivery.error,
        )
    else:
        delay = retry_delay_seconds(delivery.attempt_count, config)
        delivery.next_retry_at = timezone.now() + timedelta(seconds=delay)
        logger.warning(
            "webhook delivery %s (%s) to subscription %s failed on attempt %s, "
            "retrying in %s s: %s",
            delivery.pk,
            delivery.event_id,
            subscription.pk,
            delivery.attempt_count,
            delay,
            delivery.error,
        )
    delivery.save(
        update_fields=[
            "status",
            "attempt_count",
            "status_code",
            "response_excerpt",
            "error",
            "next_retry_at",
            "last_attempt_at",
            "delivered_at",
        ]
    )
    return delivery


def webhook_deliveries_due(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Return the ids of pending deliveries whose next attempt is due, oldest first."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_retry_at__lte=now
        )
        .order_by("next_retry_at", "id")
        .values_list("id", flat=True)[:limit]
    )
