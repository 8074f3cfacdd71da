"""Celery tasks of the accounts app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from celery import shared_task
from django.db import DatabaseError, connection
from kombu.exceptions import OperationalError

from accounts.models import ImportRun
from accounts.services import accounts_import, import_run_scoring_finish
from accounts.workspace.imports import abandoned_uploads_remove
from segmentation.selectors import NoActiveFrameworkError

logger = logging.getLogger(__name__)

# Errors that Task.delay raises when the broker cannot be reached. kombu wraps the transport's
# connection errors in OperationalError when it retries a publish (the default), but a
# publish sent with retry=False lets redis-py's ConnectionError through.
BROKER_ERRORS = (OperationalError, redis.exceptions.ConnectionError)

# First key of the PostgreSQL advisory lock that a worker holds while it imports a run. The
# second key is the run id. No other code of the portal takes advisory locks.
IMPORT_LOCK_CLASS = 7301
# A task that finds its run locked by another worker checks again after this delay, for up
# to a day. The lock of a worker on a host that lost power lasts until PostgreSQL drops the
# dead connection, which takes about two hours with Linux's default TCP keepalive settings.
LOCKED_RUN_RETRY_SECONDS = 300
LOCKED_RUN_MAX_RETRIES = 24 * 3600 // LOCKED_RUN_RETRY_SECONDS


def import_run_lock_keys(import_run_id: int) -> tuple[int, int]:
    """Return the two keys of the run's advisory lock.

    Advisory lock keys are 32-bit integers. Two runs whose ids differ by a multiple of
    2**31 share a key, which only makes one of them wait for the other.
    """
    return IMPORT_LOCK_CLASS, import_run_id % 2**31


@contextmanager
def import_run_lock(import_run_id: int) -> Iterator[bool]:
    """Hold the run's advisory lock for the block; yield False when another session holds it.

    The lock belongs to the database session, so PostgreSQL releases it when the worker's
    connection closes, including when the worker process is killed. On other databases
    nothing is locked and the block always runs.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    keys = import_run_lock_keys(import_run_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", keys)
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            _unlock(keys)


def _unlock(keys: tuple[int, int]) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)
    except DatabaseError as error:
        # A lost connection took the lock with it, and an aborted transaction keeps it
        # until the connection closes.
        logger.warning("import run %s: releasing the advisory lock failed: %s", keys[1], error)


@shared_task(bind=True, max_retries=LOCKED_RUN_MAX_RETRIES)
def accounts_import_task(self, import_run_id: int) -> int:
    """Import a pending ImportRun created by import_run_create, or resume an interrupted one.

    Tasks are acknowledged after they finish, so the broker hands the task of a worker that
    died to another worker. A run found "running" while no worker holds its lock is such a
    run, and its file is imported again from the first row: the rows committed before match
    their accounts, so no duplicate is created. A run locked by another worker is checked
    again later. A finished run whose scoring did not finish, because the process that
    scored its accounts stopped, has its scoring finished (import_run_scoring_finish), and
    any other finished run is left as it is. Returns the run id.
    """
    with import_run_lock(import_run_id) as locked:
        if not locked:
            return _retry_locked_run(self, import_run_id)
        import_run = ImportRun.objects.filter(pk=import_run_id).first()
        if import_run is None:
            logger.warning("import run %s was not found; nothing imported", import_run_id)
        elif import_run.status == ImportRun.Status.PENDING:
            accounts_import(import_run=import_run)
        elif import_run.status == ImportRun.Status.RUNNING:
            _import_resume(import_run)
        elif _scoring_finish(import_run):
            logger.info("import run %s: finished the scoring of its accounts", import_run_id)
        else:
            logger.info(
                "import run %s has already finished with status %s; nothing imported",
                import_run_id,
                import_run.status,
            )
    return import_run_id


def _scoring_finish(import_run: ImportRun) -> bool:
    try:
        return import_run_scoring_finish(import_run)
    except NoActiveFrameworkError as error:
        logger.warning(
            "import run %s: the scoring of its accounts was not finished: %s", import_run.pk, error
        )
        import_run.error = f"Its accounts were not scored: {error}"
        import_run.save(update_fields=["error"])
        return True


def _retry_locked_run(task, import_run_id: int) -> int:
    if task.request.is_eager:
        # An eager retry would run again at once, without the countdown.
        logger.warning(
            "import run %s is locked by another database session; nothing imported",
            import_run_id,
        )
        return import_run_id
    if task.request.retries >= LOCKED_RUN_MAX_RETRIES:
        logger.error(
            "import run %s stayed locked by another database session for a day; giving up. "
            "Check pg_locks for the session, then queue accounts_import_task again.",
            import_run_id,
        )
        return import_run_id
    logger.info(
        "import run %s is locked by another worker; checking again in %s s",
        import_run_id,
        LOCKED_RUN_RETRY_SECONDS,
    )
    raise task.retry(countdown=LOCKED_RUN_RETRY_SECONDS)


def _import_resume(import_run: ImportRun) -> None:
    """Import the file of an interrupted run again, and note the restart on the run."""
    rows_before = import_run.rows_read
    logger.warning(
        "import run %s was interrupted after %s rows because its worker stopped; importing "
        "its file again from the first row",
        import_run.pk,
        rows_before,
    )
    accounts_import(import_run=import_run)
    if import_run.status == ImportRun.Status.CANCELLED and import_run.rows_read == rows_before:
        # The restart stopped before it read past the first worker's last committed row, so
        # the run kept that worker's counts (see accounts.services._earlier_counts_keep).
        note = (
            f"The worker importing this file stopped after {rows_before:,} rows, and the "
            "import was cancelled before the restarted import read further. The counts and "
            "accounts are those of the rows that the first worker imported."
        )
    elif import_run.status == ImportRun.Status.CANCELLED:
        note = (
            f"The worker importing this file stopped after {rows_before:,} rows, and the file "
            "was imported again from the first row until the cancel. Accounts created before "
            "the restart are counted as unchanged, updated or merged."
        )
    else:
        note = (
            f"The worker importing this file stopped after {rows_before:,} rows, so the file "
            "was imported again from the first row. Accounts created before the restart are "
            "counted as unchanged, updated or merged."
        )
    import_run.error = f"{note} {import_run.error}".strip()
    import_run.save(update_fields=["error"])


@shared_task
def abandoned_uploads_remove_task() -> int:
    """Delete import wizard uploads that were never started; Celery beat runs it daily."""
    return len(abandoned_uploads_remove())
