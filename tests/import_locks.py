"""Hold an import run's advisory lock, as the process that imports the run does."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

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
