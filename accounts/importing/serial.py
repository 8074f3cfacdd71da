"""One import at a time on databases with a single writer, such as SQLite.

SQLite lets one connection write at a time, and a large import writes for minutes while
it verifies and scores its accounts. A second import then waits for the write lock for
the connection's timeout and fails with "database is locked". So when
``ICP_IMPORTS_ONE_AT_A_TIME`` is on (the default with SQLite), a running import holds an
exclusive lock on the file ``ICP_IMPORT_LOCK_PATH``. A new import is rejected while the
lock is held, and a run that starts anyway, such as a queued one, waits for it.

The operating system releases the lock when the process holding it exits, so a run left
"running" by a stopped server does not block later imports. PostgreSQL runs imports
concurrently, so the setting is off there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from accounts.models import ImportRun

from .errors import ImportAlreadyRunning

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

logger = logging.getLogger(__name__)


def imports_one_at_a_time() -> bool:
    return bool(getattr(settings, "ICP_IMPORTS_ONE_AT_A_TIME", False))


@contextmanager
def import_lock(*, wait: bool, import_run_id: int | None = None) -> Iterator[bool]:
    """Hold the import lock for the block when imports run one at a time.

    Yields True while the lock is held, or when imports may run concurrently. With
    ``wait`` False it yields False at once when another import holds the lock. The
    holder writes ``import_run_id`` into the lock file, so a rejected import can name
    the run, which still holds the lock while it verifies and scores its accounts after
    its status says it finished.
    """
    if not imports_one_at_a_time() or fcntl is None:
        # NOTE: without fcntl (Windows) nothing is locked, so imports are not serialized.
        yield True
        return
    path = Path(settings.ICP_IMPORT_LOCK_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    # flock locks belong to the open file, so two threads of one server that open the
    # file each exclude each other, as two processes do.
    with path.open("a+", encoding="ascii") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            logger.info("import run %s waits for the running import to finish", import_run_id)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if import_run_id is not None:
                handle.seek(0)
                handle.truncate()
                handle.write(str(import_run_id))
                handle.flush()
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_holder_id() -> int | None:
    """Return the id of the run written into the lock file, or None."""
    try:
        text = Path(settings.ICP_IMPORT_LOCK_PATH).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def running_import_check() -> None:
    """Raise ImportAlreadyRunning when imports run one at a time and one is running now.

    The message names the running import, who started it and when.
    """
    if not imports_one_at_a_time():
        return
    with import_lock(wait=False) as free:
        if free:
            return
    runs = ImportRun.objects.select_related("created_by")
    holder_id = _lock_holder_id()
    running = runs.filter(pk=holder_id).first() if holder_id is not None else None
    if running is None:
        # A holder that has not written its id yet, such as a run between its creation
        # and its start.
        running = (
            runs.filter(status__in=[ImportRun.Status.RUNNING, ImportRun.Status.PENDING])
            .order_by("-started_at", "-id")
            .first()
        )
    raise ImportAlreadyRunning(running_import_message(running), running)


def running_import_message(running: ImportRun | None) -> str:
    """Return the message that rejects a new import while ``running`` runs."""
    reason = "This installation runs one import at a time, so start this one when it finishes."
    if running is None:
        return f"Another import is running. {reason}"
    started_at = timezone.localtime(running.started_at or running.created_at)
    if running.created_by is None:
        starter = "from the command line"
    else:
        starter = f"by {running.created_by.get_full_name() or running.created_by.get_username()}"
    # The counts are saved before the run verifies and scores its accounts.
    scoring = ", now scoring its accounts" if running.is_finished else ""
    return (
        f"Another import is running: #{running.pk} of “{running.file_name}”, started "
        f"{starter} at {started_at:%Y-%m-%d %H:%M %Z}{scoring}. {reason}"
    )
