"""A second thread that writes batches while the importer parses the next one.

On PostgreSQL most of a batch's write is the server inserting rows, updating indexes and
checking foreign keys, and psycopg2 releases the GIL while it waits for the server. A
writer thread lets the importer parse the next batch in that time, so the client and the
server work at once on a machine with two or more cores.

The thread uses the importer's own database connection (through Django's thread sharing,
as LiveServerThread does), so a dry run's outer transaction also covers the writes. The
importer must not use the connection while a write is pending, so it matches the next
batch on a second connection or waits for the write first (see runner.FileImporter).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper


class BackgroundWriter:
    """One worker thread that runs write functions on a shared database connection."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        connection.inc_thread_sharing()
        self._executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="import-writer",
            initializer=self._use_shared_connection,
        )

    def _use_shared_connection(self) -> None:
        # ORM calls and transaction.atomic in the worker thread use this connection.
        connections[self.connection.alias] = self.connection

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run function(*args) in the worker thread after the writes submitted before it."""
        return self._executor.submit(function, *args)

    def close(self) -> None:
        """Wait for the submitted writes to finish and stop the thread."""
        try:
            self._executor.shutdown(wait=True)
        finally:
            self.connection.dec_thread_sharing()
