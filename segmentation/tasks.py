"""Celery tasks that score accounts, one id range per task.

Without a broker the settings run tasks eagerly, so a whole run then happens in the
calling process.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import group, shared_task
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from .models import Framework, SegmentationRun
from .selectors import NoActiveFrameworkError
from .services import accounts_segment, segmentation_run_fail, segmentation_run_plan

logger = logging.getLogger(__name__)


@shared_task
def accounts_segment_task(run_id: int, first_id: int, last_id: int) -> dict[str, Any]:
    """Score the accounts with ids from ``first_id`` to ``last_id`` for a run.

    Safe to run again: a finished range is skipped and an interrupted one resumes after
    its last committed batch.
    """
    run = SegmentationRun.objects.select_related("framework").get(pk=run_id)
    summary = accounts_segment(
        framework=run.framework,
        run=run,
        first_id=first_id,
        last_id=last_id,
        batch_size=run.summary.get("batch_size"),
    )
    return summary.as_dict()


def segmentation_run_dispatch(run: SegmentationRun, ranges: list[tuple[int, int]]) -> None:
    """Queue one task per id range once the run's row is committed."""
    if not ranges:
        return
    tasks = group(accounts_segment_task.si(run.pk, first, last) for first, last in ranges)

    def send() -> None:
        try:
            tasks.apply_async()
        except OperationalError as error:
            logger.exception("Could not queue the tasks of segmentation run %s", run.pk)
            segmentation_run_fail(run.pk, error)
            raise

    transaction.on_commit(send)


@shared_task
def resegment_all_task(
    framework_id: int | None = None,
    kind: str = SegmentationRun.Kind.FULL,
    batch_size: int | None = None,
    triggered_by_id: int | None = None,
) -> int:
    """Create a run over all accounts, fan it out as chunk tasks and return the run id.

    Uses the approved framework unless ``framework_id`` (a database id, not a version
    number) is given, and that one must be the approved version too. The task can be
    started by hand from the periodic task admin with any arguments, so
    ``segmentation_run_plan`` checks the version: another one gets a failed run naming
    its status, and the task fails with FrameworkNotApprovedError.
    """
    framework = None
    if framework_id is not None:
        framework = Framework.objects.filter(pk=framework_id).first()
        if framework is None:
            logger.error("Re-segmentation failed: framework id %s not found", framework_id)
            raise Framework.DoesNotExist(
                f"Framework id {framework_id!r} not found: leave out framework_id to score "
                "with the approved version."
            )
    run, ranges = segmentation_run_plan(
        framework=framework,
        kind=kind,
        batch_size=batch_size,
        triggered_by_id=triggered_by_id,
    )
    segmentation_run_dispatch(run, ranges)
    return run.pk


@shared_task
def account_resegment_task(account_id: int) -> dict[str, Any] | None:
    """Score one account again after its scoring inputs changed.

    Queued by ``segmentation.signals``. Deleting the pending key first means a change
    made while this task scores queues another run rather than being missed.
    """
    from .signals import pending_key

    try:
        cache.delete(pending_key(account_id))
    except RedisError:
        logger.warning("Cache unreachable: account %s scored without clearing its key", account_id)
    try:
        summary = accounts_segment(account_ids=[account_id])
    except NoActiveFrameworkError as error:
        logger.warning("Account %s was not scored again: %s", account_id, error)
        return None
    return summary.as_dict()
