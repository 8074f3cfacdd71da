"""Celery tasks of enrichment runs: one account, one chunk, or a whole run fanned out.

Each task takes ids, skips accounts already done, and retries only after transient
provider errors (timeouts, 5xx, 429, malformed responses). Without a broker the settings
run tasks eagerly, so a whole run then happens in the calling process. There a task makes
one pass, because Celery re-raises an eager task's Retry to the caller instead of running
it: the HTTP client's own attempts are the only retries, and the accounts left over fail,
so an eager run finishes unless an unexpected error stops it. An eager run also stops
looking accounts up after ENRICHMENT_EAGER_TIME_BUDGET_SECONDS and fails the rest as not
reached, so the web request that started it ends and resuming the run continues it.

Tasks carry the run generation they were queued for. After a resume, tasks of the older
generation stop without writing, so a stalled run's old worker that wakes up does not
look its accounts up a second time.

With a broker, each task is counted in EnrichmentRun.queued_tasks before it is sent, and
a worker that takes it counts it off and keeps its id in EnrichmentRun.started_tasks
until it ends. A run without progress waits for a worker while a task is counted, or a
started task is back in the broker's queue after its worker died (Celery's acks_late).
Otherwise it has stalled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import group, shared_task
from celery.exceptions import Reject
from django.conf import settings
from django.db import transaction

from audits.history import Channel, change_channel

from .models import EnrichmentRun
from .services import (
    RUN_STOPPING_ERRORS,
    accounts_enrich,
    eager_time_budget,
    enrichment_run_fail,
    enrichment_run_pending_ids,
    enrichment_run_refresh,
    enrichment_run_start,
    enrichment_run_task_finished,
    enrichment_run_task_started,
    enrichment_run_tasks_queued,
    enrichment_run_writer_lock,
)

logger = logging.getLogger(__name__)

# Accounts per chunk task. Each lookup is one provider request, so a chunk of 25 takes
# about half a minute at a limit of 50 requests per minute.
DEFAULT_CHUNK_SIZE = 25
MAX_RETRIES = 5
# First retry wait after a transient error without Retry-After; doubles per retry.
RETRY_BACKOFF_SECONDS = 60


def chunk_size() -> int:
    return int(getattr(settings, "ENRICHMENT_TASK_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


def _retry_countdown(retries: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(retry_after, 1.0)
    return RETRY_BACKOFF_SECONDS * 2**retries


def _enrich(
    run_id: int,
    account_ids: list[int],
    retries: int,
    generation: int | None = None,
    deadline: float | None = None,
) -> tuple[dict[str, Any], list[int], float]:
    """Look the accounts up and return the result, the accounts to retry and the wait.

    ``retries`` counts the retries before this call. The call at MAX_RETRIES is the
    final attempt, so it returns no account to retry. ``generation`` and ``deadline``
    are passed to accounts_enrich.
    """
    run = EnrichmentRun.objects.get(pk=run_id)
    if run.status == EnrichmentRun.Status.FAILED:
        logger.info("enrichment run %s has stopped, so %s accounts wait", run_id, len(account_ids))
        return {"skipped": len(account_ids)}, [], 0.0
    if generation is not None and run.generation != generation:
        logger.info(
            "enrichment run %s was resumed after generation %s was queued, so %s accounts "
            "are left to the new generation",
            run_id,
            generation,
            len(account_ids),
        )
        return {"skipped": len(account_ids)}, [], 0.0
    final_attempt = retries >= MAX_RETRIES
    try:
        # When long writes run one at a time (SQLite), the chunk waits for a running
        # import or re-scoring, and holds the lock for its lookups as well as its writes.
        with enrichment_run_writer_lock(run, run.generation):
            batch = accounts_enrich(
                provider=run.provider,
                account_ids=account_ids,
                run=run,
                final_attempt=final_attempt,
                generation=generation,
                deadline=deadline,
            )
    except RUN_STOPPING_ERRORS as error:
        # The run is marked failed with the error. Retrying cannot help until a person
        # fixes the settings or the plan and resumes the run.
        logger.error("enrichment run %s stopped: %s", run_id, error)
        return {"error": str(error)}, [], 0.0
    if batch.superseded:
        return {"skipped": len(account_ids)}, [], 0.0
    result = {
        "processed": batch.processed,
        "found": batch.found,
        "changed": batch.changed,
        "errors": batch.errors,
    }
    if not batch.retry_ids or final_attempt:
        return result, [], 0.0
    countdown = _retry_countdown(retries, batch.retry_after)
    logger.info(
        "enrichment run %s: %s accounts retry in %.0f s (retry %s of %s)",
        run_id,
        len(batch.retry_ids),
        countdown,
        retries + 1,
        MAX_RETRIES,
    )
    return result, batch.retry_ids, countdown


def _enrich_eagerly(
    run_id: int,
    account_ids: list[int],
    generation: int | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Look the accounts up once, in this process, and fail the accounts left over.

    An eager task cannot be rescheduled, and waiting for the provider's Retry-After,
    which can be an hour, would hold the calling web request. The HTTP client has already
    retried each request up to the provider's max_attempts, so this call is the final
    attempt, and a person resumes the run once the provider is back.

    NOTE: the time budget is checked before each lookup, so a lookup that started in
    time still runs to its end: up to the provider's max_attempts times its
    total_timeout (60 s by default), plus the waits between attempts.
    """
    result, _retry_ids, _countdown = _enrich(
        run_id, account_ids, MAX_RETRIES, generation=generation, deadline=deadline
    )
    return result


@shared_task(bind=True, max_retries=MAX_RETRIES)
def account_enrich_task(self, run_id: int, account_id: int) -> dict[str, Any]:
    """Look one account of a run up, retrying after a transient provider error."""
    with change_channel(Channel.TASK):
        if self.request.is_eager:
            return _enrich_eagerly(run_id, [account_id])
        result, retry_ids, countdown = _enrich(run_id, [account_id], self.request.retries)
    if retry_ids:
        raise self.retry(countdown=countdown)
    return result


@shared_task(bind=True, max_retries=MAX_RETRIES)
def accounts_enrich_chunk_task(
    self,
    run_id: int,
    account_ids: list[int],
    generation: int | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Look one chunk of a run's accounts up; a retry carries only the accounts left over.

    ``generation`` is the run generation the chunk was queued for (the current one when
    None). ``deadline`` is a time.monotonic() value of the calling process, so only an
    eager task gets one.
    """
    with change_channel(Channel.TASK):
        if self.request.is_eager:
            return _enrich_eagerly(run_id, list(account_ids), generation, deadline)
        if generation is not None:
            enrichment_run_task_started(run_id, generation, self.request.id)
        try:
            result, retry_ids, countdown = _enrich(
                run_id, list(account_ids), self.request.retries, generation=generation
            )
        finally:
            if generation is not None:
                enrichment_run_task_finished(run_id, generation, self.request.id)
    if not retry_ids:
        return result
    if generation is not None:
        enrichment_run_tasks_queued(run_id, generation, 1)
    try:
        raise self.retry(args=(run_id, retry_ids), countdown=countdown)
    except Reject:
        # Celery raises Reject when it could not send the retry to the broker.
        if generation is not None:
            enrichment_run_tasks_queued(run_id, generation, -1)
        raise


@shared_task(bind=True)
def accounts_enrich_task(self, run_id: int, generation: int | None = None) -> int:
    """Start a run: queue one chunk task per ENRICHMENT_TASK_CHUNK_SIZE pending accounts.

    Returns the number of chunks queued. A failed or finished run queues nothing, and
    neither does a run resumed after ``generation`` was queued. Run eagerly, the chunks
    share one deadline, ENRICHMENT_EAGER_TIME_BUDGET_SECONDS from now.
    """
    eager = bool(self.request.is_eager)
    counted = generation is not None and not eager
    if counted:
        enrichment_run_task_started(run_id, generation, self.request.id)
    try:
        return _queue_chunks(run_id, generation, eager=eager)
    finally:
        if counted:
            enrichment_run_task_finished(run_id, generation, self.request.id)


def _queue_chunks(run_id: int, generation: int | None, *, eager: bool) -> int:
    with change_channel(Channel.TASK):
        run = EnrichmentRun.objects.get(pk=run_id)
        if run.status not in (EnrichmentRun.Status.PENDING, EnrichmentRun.Status.RUNNING):
            logger.info("enrichment run %s is %s, so nothing was queued", run_id, run.status)
            return 0
        if generation is None:
            generation = run.generation
        elif run.generation != generation:
            logger.info(
                "enrichment run %s was resumed after generation %s was queued, so nothing "
                "was queued",
                run_id,
                generation,
            )
            return 0
        enrichment_run_start(run, generation=generation)
        pending = enrichment_run_pending_ids(run)
        if not pending:
            enrichment_run_refresh(run)
            return 0
        deadline = time.monotonic() + eager_time_budget() if eager else None
        size = chunk_size()
        chunks = [pending[start : start + size] for start in range(0, len(pending), size)]
        tasks = group(
            accounts_enrich_chunk_task.si(run_id, chunk, generation=generation, deadline=deadline)
            for chunk in chunks
        )
        if eager:
            transaction.on_commit(tasks.apply_async)
        else:
            count = len(chunks)
            transaction.on_commit(
                lambda: _send_counted(run_id, generation, count, tasks.apply_async)
            )
        logger.info(
            "enrichment run %s: %s accounts queued in %s chunks", run_id, len(pending), len(chunks)
        )
        return len(chunks)


def _send_counted(run_id: int, generation: int, count: int, send: Callable[[], Any]) -> None:
    """Count ``count`` queued tasks of the run, then send them, and undo the count on error."""
    enrichment_run_tasks_queued(run_id, generation, count)
    try:
        send()
    except Exception:
        enrichment_run_tasks_queued(run_id, generation, -count)
        raise


def enrichment_run_queue(run_id: int) -> None:
    """Queue a run's start task, and record an error that the task raised in this process.

    With a broker, an error means the task was not queued: the run is marked failed with
    a message saying so, and ``manage.py enrich --resume`` runs it later. Without a broker
    the task ran here, so an error stopped the run part of the way: the run is marked
    failed with the error instead of staying running.
    """
    generation = EnrichmentRun.objects.values_list("generation", flat=True).get(pk=run_id)
    try:
        if accounts_enrich_task.app.conf.task_always_eager:
            accounts_enrich_task.delay(run_id, generation=generation)
        else:
            _send_counted(
                run_id,
                generation,
                1,
                lambda: accounts_enrich_task.delay(run_id, generation=generation),
            )
    except Exception as error:  # noqa: BLE001 - the run is marked, or stays resumable
        run = EnrichmentRun.objects.get(pk=run_id)
        if run.status == EnrichmentRun.Status.PENDING:
            logger.exception(
                "enrichment run %s could not be queued: resume it with manage.py enrich "
                "--resume %s",
                run_id,
                run_id,
            )
            enrichment_run_fail(
                run,
                RuntimeError(
                    f"The run could not be started, because the task queue is not reachable "
                    f"({error}). Start it again later, or ask Sales Ops to resume run {run_id}."
                ),
            )
            return
        logger.exception("enrichment run %s stopped in this process with an error", run_id)
        if run.status == EnrichmentRun.Status.RUNNING:
            enrichment_run_fail(run, error)
