"""Celery tasks of the webhooks: the dispatcher, single deliveries and the retry sweep.

Beat runs ``webhook_dispatch_task`` and ``webhook_retry_task`` every minute (periodic
tasks created by migration 0002). Without a broker, tasks run in-process, so a failed
delivery waits for the next sweep instead of a timed retry.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.db import transaction

from integrations.services.webhooks import (
    WebhookConfig,
    retry_delay_seconds,
    webhook_deliveries_due,
    webhook_delivery_attempt,
    webhook_events_dispatch_batch,
)

logger = logging.getLogger(__name__)

# Seconds one dispatch task scans for. Beat starts it every minute, and the cursor lock
# makes a task that starts meanwhile wait for this one's batch.
DISPATCH_SECONDS = 40


def _enqueue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        webhook_delivery_task.delay(delivery_id)


@shared_task
def webhook_dispatch_task() -> int:
    """Create deliveries for new tier and tag changes and queue them; return how many.

    Scans batch after batch until it has caught up or DISPATCH_SECONDS have passed. A
    framework approval records a result for every account, and one batch per minute
    would hold back the changes after it for hours.
    """
    deadline = time.monotonic() + DISPATCH_SECONDS
    batch_size = WebhookConfig.from_settings().dispatch_batch_size
    created = 0
    while True:
        delivery_ids, scanned = webhook_events_dispatch_batch()
        transaction.on_commit(lambda ids=delivery_ids: _enqueue(ids))
        created += len(delivery_ids)
        if scanned < batch_size or time.monotonic() >= deadline:
            return created


@shared_task
def webhook_delivery_task(delivery_id: int) -> str:
    """Attempt one delivery; after a failure, queue the next attempt with its back-off."""
    delivery = webhook_delivery_attempt(delivery_id)
    if delivery is None:
        return "not due"
    if delivery.status == delivery.Status.PENDING and not settings.CELERY_TASK_ALWAYS_EAGER:
        delay = retry_delay_seconds(delivery.attempt_count, WebhookConfig.from_settings())
        webhook_delivery_task.apply_async((delivery_id,), countdown=delay)
    return delivery.status


@shared_task
def webhook_retry_task() -> int:
    """Queue every due delivery, such as one whose timed retry was lost; return how many.

    A delivery that is also queued elsewhere is sent once: the first attempt claims it.
    """
    delivery_ids = webhook_deliveries_due()
    if delivery_ids:
        logger.info("webhook retry sweep queued %s due deliveries", len(delivery_ids))
    _enqueue(delivery_ids)
    return len(delivery_ids)
