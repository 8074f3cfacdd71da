"""Re-segment an account on its own when one of its scoring inputs changes.

A snapshot of the scoring inputs is taken when an Account is loaded, and a save that
changes one of them schedules ``account_resegment_task`` after the commit, with a
countdown. A cache key per account coalesces a burst of saves into one run: only the save
that adds the key queues the task. The key expires when the task is due, and the task
also deletes it when it starts, so a save after that queues a new run even when each
process has its own cache.

Bulk writes (``bulk_update``, ``QuerySet.update``, imports) send no post_save, and saves
made while the change channel is "import" are skipped, because importers score the
accounts they touch themselves.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_init, post_save
from django.dispatch import receiver
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from accounts.models import Account
from audits.history import Channel, current_channel

from .engine import ROW_FIELDS

logger = logging.getLogger(__name__)

# Account attributes that scoring reads: head count and range, revenue, technologies,
# buying signals (such as funding), industry and country.
TRACKED_FIELDS = tuple(name for name in ROW_FIELDS if name != "id")
SNAPSHOT_ATTRIBUTE = "_segmentation_inputs"
# Seconds to wait after the first change of a burst before scoring. Later changes of the
# burst are scored by the same run. Override with the ICP_RESEGMENT_DELAY_SECONDS setting.
DEFAULT_DELAY_SECONDS = 30

_paused: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "segmentation_auto_paused", default=False
)


def pending_key(account_id: int) -> str:
    return f"segmentation:resegment-pending:{account_id}"


def delay_seconds() -> int:
    return int(getattr(settings, "ICP_RESEGMENT_DELAY_SECONDS", DEFAULT_DELAY_SECONDS))


@contextmanager
def auto_resegmentation_paused() -> Iterator[None]:
    """Skip the automatic re-segmentation inside the block, for callers that score directly."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def _snapshot(instance: Account) -> dict[str, object]:
    # Deferred fields are missing from __dict__ and are left out of the comparison.
    loaded = instance.__dict__
    return {name: loaded[name] for name in TRACKED_FIELDS if name in loaded}


@receiver(post_init, sender=Account, dispatch_uid="segmentation_snapshot_inputs")
def snapshot_inputs(sender, instance: Account, **kwargs) -> None:
    instance.__dict__[SNAPSHOT_ATTRIBUTE] = _snapshot(instance)


def inputs_changed(instance: Account) -> bool:
    """Whether a scoring input differs from the snapshot taken at load or last save."""
    before = instance.__dict__.get(SNAPSHOT_ATTRIBUTE) or {}
    after = _snapshot(instance)
    return any(name in before and before[name] != value for name, value in after.items())


@receiver(post_save, sender=Account, dispatch_uid="segmentation_resegment_on_change")
def resegment_on_change(
    sender, instance: Account, created: bool, update_fields=None, **kwargs
) -> None:
    if created or kwargs.get("raw"):
        instance.__dict__[SNAPSHOT_ATTRIBUTE] = _snapshot(instance)
        return
    if update_fields is not None and not set(update_fields) & {
        Account._meta.get_field(name).name for name in TRACKED_FIELDS
    }:
        return
    changed = inputs_changed(instance)
    instance.__dict__[SNAPSHOT_ATTRIBUTE] = _snapshot(instance)
    if not changed or _paused.get() or current_channel() == Channel.IMPORT:
        return
    account_resegment_schedule(instance.pk)


def account_resegment_schedule(account_id: int) -> None:
    """Queue one delayed re-segmentation of the account after the commit, unless one waits."""

    def send() -> None:
        from .tasks import account_resegment_task

        key = pending_key(account_id)
        delay = delay_seconds()
        # The key lives as long as the countdown. The task cannot start before then, so it
        # reads every save that found the key. A per-process cache never sees the worker
        # delete the key, and a longer timeout would skip later saves. Without the cache,
        # every save queues its own run: more work, but none is lost.
        try:
            if not cache.add(key, 1, timeout=delay):
                return
        except RedisError:
            logger.warning(
                "Cache unreachable: account %s re-segments without coalescing", account_id
            )
        try:
            account_resegment_task.apply_async((account_id,), countdown=delay)
        except (OperationalError, RedisError):
            logger.exception("Could not queue the re-segmentation of account %s", account_id)
            with contextlib.suppress(RedisError):
                cache.delete(key)

    transaction.on_commit(send)
