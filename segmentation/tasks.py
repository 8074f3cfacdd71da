"""Celery tasks that score accounts, one id range per task.

Without a broker the settings run tasks eagerly, so a whole run then happens in the
calling process.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Signature, group, shared_task
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from .models import Framework, FrameworkStatus, SegmentationRun
from .runs import chunk_range
from .selectors import NoActiveFrameworkError
from .services import (
    SELECTED_CHUNK,
    accounts_segment,
    segmentation_run_account_ids,
    segmentation_run_create,
    segmentation_run_fail,
    segmentation_run_plan,
)

logger = logging.getLogger(__name__)


@shared_task
def accounts_segment_task(run_id: int, first_id: int, last_id: int) -> dict[str, Any]:
    """Score the accounts with ids from ``first_id`` to ``last_id`` for a run.

    Safe to run again: a finished range is skipped and an interrupted one resumes after
    its last committed batch. When long writes run one at a time (SQLite), the task
    waits for a running import or enrichment run first, also when it runs eagerly in a
    web request, such as after a framework approval.
    """
    from accounts.importing.serial import SEGMENTATION, LockHolder, writer_lock

    run = SegmentationRun.objects.select_related("framework").get(pk=run_id)
    with writer_lock(LockHolder(SEGMENTATION, run_id), wait=True):
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
    _tasks_dispatch(run, [accounts_segment_task.si(run.pk, first, last) for first, last in ranges])


def segmentation_run_chunk_task(run_id: int, key: str) -> Signature:
    """Return the task that scores the chunk ``key`` of a run, as a resume queues it.

    The chunk of a run over selected accounts gets accounts_selected_segment_task, which
    reads the run's accounts from the database.
    """
    if key == SELECTED_CHUNK:
        return accounts_selected_segment_task.si(run_id)
    first, last = chunk_range(key)
    return accounts_segment_task.si(run_id, first, last)


def segmentation_run_chunks_dispatch(run: SegmentationRun, keys: list[str]) -> None:
    """Queue one task per chunk key, such as a resume returns, once the run is committed."""
    _tasks_dispatch(run, [segmentation_run_chunk_task(run.pk, key) for key in keys])


def _tasks_dispatch(run: SegmentationRun, signatures: list[Signature]) -> None:
    if not signatures:
        return
    tasks = group(signatures)

    def send() -> None:
        try:
            tasks.apply_async()
        except OperationalError as error:
            logger.exception("Could not queue the tasks of segmentation run %s", run.pk)
            segmentation_run_fail(run.pk, error)
            raise

    transaction.on_commit(send)


# The task that the quarterly schedule and "Run selected tasks" start.
RESEGMENT_TASK_NAME = "segmentation.tasks.resegment_all_task"
RESEGMENT_TASK_KWARGS = ("framework_id", "kind", "batch_size", "triggered_by_id")


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _approved_framework_text() -> str:
    active = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
    if active is None:
        return "no version is approved yet"
    return f"the approved version is v{active.version}, framework_id {active.pk}"


def resegment_arguments_errors(kwargs: Any, *, require_approved: bool = True) -> list[str]:
    """Return why ``resegment_all_task`` cannot run with ``kwargs``, or an empty list.

    Each message names the invalid value and the valid ones. With ``require_approved``
    a ``framework_id`` must be the approved version's id, as a run requires when it
    starts. The periodic task admin checks schedules with this when they are saved.
    """
    if not isinstance(kwargs, dict):
        return [f"Invalid keyword arguments {kwargs!r}: write a JSON object such as {{}}."]
    errors = []
    unknown = [name for name in kwargs if name not in RESEGMENT_TASK_KWARGS]
    if unknown:
        errors.append(
            f"Unknown keyword arguments {', '.join(map(repr, unknown))}: use only "
            f"{', '.join(RESEGMENT_TASK_KWARGS)}."
        )
    kind = kwargs.get("kind", SegmentationRun.Kind.FULL)
    if kind not in SegmentationRun.Kind.values:
        errors.append(
            f"Invalid kind {kind!r}: use one of {', '.join(SegmentationRun.Kind.values)}."
        )
    batch_size = kwargs.get("batch_size")
    if batch_size is not None and (not _whole_number(batch_size) or batch_size < 1):
        errors.append(
            f"Invalid batch_size {batch_size!r}: use a positive whole number of accounts, "
            "such as 5000, or leave it out for the ICP_SEGMENTATION_BATCH_SIZE setting."
        )
    framework_id = kwargs.get("framework_id")
    if framework_id is not None:
        errors += _framework_id_errors(framework_id, require_approved=require_approved)
    return errors


def _framework_id_errors(framework_id: Any, *, require_approved: bool) -> list[str]:
    leave_out = "leave out framework_id to use the approved version"
    if not _whole_number(framework_id):
        return [
            f"Invalid framework_id {framework_id!r}: use a framework's database id, a whole "
            f"number, or {leave_out} ({_approved_framework_text()})."
        ]
    framework = Framework.objects.filter(pk=framework_id).first()
    if framework is None:
        return [
            f"Framework id {framework_id} not found: {leave_out} "
            f"({_approved_framework_text()}). framework_id is a database id, not a version "
            "number."
        ]
    if require_approved and framework.status != FrameworkStatus.APPROVED:
        status = framework.get_status_display().lower()
        return [
            f"framework_id {framework_id} is v{framework.version}, which is {status}, so "
            f"every run would fail: {leave_out} ({_approved_framework_text()})."
        ]
    return []


def _record_rejected_run(
    message: str,
    *,
    framework_id: Any,
    kind: Any,
    triggered_by_id: int | None,
) -> None:
    """Record a failed run for arguments that no run can start with, so it shows in the portal.

    The run belongs to the framework that ``framework_id`` names, or else to the approved
    version (or the newest one), so its page and the version list's run link show the
    error. Without any version the error is only logged.
    """
    framework = None
    if _whole_number(framework_id):
        framework = Framework.objects.filter(pk=framework_id).first()
    if framework is None:
        framework = (
            Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
            or Framework.objects.order_by("-version").first()
        )
    if framework is None:
        logger.error("Re-segmentation failed, no framework to record a run for: %s", message)
        return
    run_kind = kind if kind in SegmentationRun.Kind.values else SegmentationRun.Kind.FULL
    run = segmentation_run_create(
        framework=framework, kind=run_kind, triggered_by_id=triggered_by_id
    )
    logger.error("Rejected segmentation run %s: %s", run.pk, message)
    segmentation_run_fail(run.pk, ValueError(message))


@shared_task
def resegment_all_task(
    framework_id: int | None = None,
    kind: str = SegmentationRun.Kind.FULL,
    batch_size: int | None = None,
    triggered_by_id: int | None = None,
) -> int:
    """Create a run over all accounts, fan it out as chunk tasks and return the run id.

    Uses the approved framework unless ``framework_id`` (a database id, not a version
    number) is given, and that one must be the approved version too. A schedule can hold
    any arguments, so an unknown framework id, kind or batch size gets a failed run that
    names the value, and the task raises ValueError. ``segmentation_run_plan`` gives a
    version that is not approved a failed run that names its status and raises
    FrameworkNotApprovedError.
    """
    arguments = {"framework_id": framework_id, "kind": kind, "batch_size": batch_size}
    errors = resegment_arguments_errors(arguments, require_approved=False)
    if errors:
        message = " ".join(errors)
        _record_rejected_run(
            message, framework_id=framework_id, kind=kind, triggered_by_id=triggered_by_id
        )
        raise ValueError(message)
    framework = None
    if framework_id is not None:
        framework = Framework.objects.get(pk=framework_id)
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


@shared_task
def accounts_selected_segment_task(
    run_id: int, account_ids: list[int] | None = None
) -> dict[str, Any]:
    """Score the chosen accounts in the run created for them, such as after an industry edit.

    Without ``account_ids`` the task scores every account stored for the run, as a resume
    queues it. Safe to run again: a finished run is skipped and an interrupted one resumes
    after its last committed batch.
    """
    run = SegmentationRun.objects.select_related("framework").get(pk=run_id)
    if account_ids is None:
        account_ids = segmentation_run_account_ids(run_id)
    summary = accounts_segment(account_ids=account_ids, run=run)
    return summary.as_dict()
