"""Hold an import run's advisory lock, or the import lock file, as a process that imports
the run does.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

from accounts.importing.serial import LockHolder, writer_lock
from accounts.models import ImportRun
from accounts.tasks import IMPORT_LOCK_CLASS


@contextmanager
def import_in_progress(run: ImportRun) -> Iterator[None]:
    """Hold the run's lock on a second connection in the block.

    Without it, a run marked running is shown as interrupted, because no process imports it.
    """
    holder = connections.create_connection("default")
    keys = (IMPORT_LOCK_CLASS, run.pk)
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", keys)
    try:
        yield
    finally:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)
        holder.close()


@contextmanager
def lock_held_elsewhere(
    holder: LockHolder | None, *, seconds: float | None = None
) -> Iterator[None]:
    """Hold the lock of accounts.importing.serial in another thread for the block, as a
    job in another process does, naming ``holder`` in the lock file.

    The test's own thread then sees the lock as taken by someone else, whereas a lock
    taken in its own thread lets nested blocks through. With ``seconds`` the thread
    releases the lock after that many seconds, even while the block still runs.
    """
    acquired = threading.Event()
    release = threading.Event()
    errors: list[str] = []

    def hold() -> None:
        with writer_lock(holder, wait=False) as locked:
            if not locked:
                errors.append("the lock was already held")
            acquired.set()
            release.wait(seconds or 30)

    thread = threading.Thread(target=hold, name="lock-holder")
    thread.start()
    acquired.wait(10)
    assert not errors, errors
    try:
        yield
    finally:
        release.set()
        thread.join()
