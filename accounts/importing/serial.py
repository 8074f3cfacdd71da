"""One long write at a time on databases with a single writer, such as SQLite.

SQLite lets one connection write at a time, and a large import writes for minutes while
it verifies and scores its accounts. A second import, a full re-scoring or an enrichment
run then waits for the write lock for the connection's timeout and fails with "database
is locked". So when ``ICP_IMPORTS_ONE_AT_A_TIME`` is on (the default with SQLite), each of
these jobs holds an exclusive lock on the file ``ICP_IMPORT_LOCK_PATH`` while it writes,
and writes its kind and run id into the file. A job started from a page or a command is
rejected while the lock is held, with a message that names the holder, and a job that
starts anyway, such as a queued task, waits for it.

The operating system releases the lock when the process holding it exits, so a run left
"running" by a stopped server does not block later jobs. An import marked running or
scoring whose run is not named by a held lock therefore has no process left
(import_run_lock_busy). PostgreSQL runs these jobs concurrently, so the setting is off
there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import ImportRun

from .errors import ImportAlreadyRunning, WriterAlreadyRunning

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

logger = logging.getLogger(__name__)

# Kinds of job that hold the lock, as written into the lock file before the run id.
IMPORT = "import"
SEGMENTATION = "segmentation"
ENRICHMENT = "enrichment"

# Tries of the exclusive lock without waiting, and the pause between them, while only a
# check of lock_holder() holds the lock.
PROBE_RETRIES = 5
PROBE_RETRY_SECONDS = 0.01

ONE_AT_A_TIME_REASON = (
    "This installation runs one import, full re-scoring or enrichment run at a time, "
    "because its SQLite database has one writer"
)

# Whether the current thread holds the lock, so nested blocks do not lock again. flock
# locks belong to the open file, so a second open of the file in the same process would
# wait for the first one forever.
_thread_state = threading.local()


@dataclass(frozen=True)
class LockHolder:
    """The job named in the lock file: its kind (IMPORT, SEGMENTATION or ENRICHMENT) and
    the id of its run, which is None when the job has no run.
    """

    kind: str
    run_id: int | None = None

    def to_text(self) -> str:
        return self.kind if self.run_id is None else f"{self.kind} {self.run_id}"

    @classmethod
    def from_text(cls, text: str) -> LockHolder | None:
        """Parse the lock file's text, or return None when it names no job."""
        parts = text.split()
        if len(parts) == 1 and parts[0].isdigit():
            # Written by versions that locked only imports: the id of the import run.
            return cls(IMPORT, int(parts[0]))
        if not parts or parts[0] not in (IMPORT, SEGMENTATION, ENRICHMENT):
            return None
        if len(parts) == 1:
            return cls(parts[0])
        if len(parts) == 2 and parts[1].isdigit():
            return cls(parts[0], int(parts[1]))
        return None


def imports_one_at_a_time() -> bool:
    return bool(getattr(settings, "ICP_IMPORTS_ONE_AT_A_TIME", False))


def _locking() -> bool:
    # NOTE: without fcntl (Windows) nothing is locked, so these jobs are not serialized.
    return imports_one_at_a_time() and fcntl is not None


@contextmanager
def writer_lock(
    holder: LockHolder | None,
    *,
    wait: bool,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[bool]:
    """Hold the lock for the block when long writes run one at a time.

    Yields True while the lock is held, or when jobs may run concurrently. With ``wait``
    False it yields False at once when another job holds the lock. ``holder`` is written
    into the lock file, so a rejected job can name the one that runs, and the import page
    can tell whether a process still imports or scores a run. A block nested in one that
    holds the lock in the same thread, such as the scoring within an import, runs
    without locking again and leaves the file as it is. With ``wait``, ``on_wait`` is
    called when another job holds the lock, before the wait for it starts.
    """
    if not _locking():
        yield True
        return
    if getattr(_thread_state, "holder", None) is not None:
        yield True
        return
    path = Path(settings.ICP_IMPORT_LOCK_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    # flock locks belong to the open file, so two threads of one server that open the
    # file each exclude each other, as two processes do.
    with path.open("a+", encoding="ascii") as handle:
        if not _try_exclusive(handle):
            if not wait:
                yield False
                return
            logger.info("%s waits for the running job to finish", _holder_label(holder))
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if holder is not None:
                handle.seek(0)
                handle.truncate()
                handle.write(holder.to_text())
                handle.flush()
            _thread_state.holder = holder or LockHolder("")
            yield True
        finally:
            _thread_state.holder = None
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def import_lock(*, wait: bool, import_run_id: int | None = None) -> Iterator[bool]:
    """Hold the lock for an import, as writer_lock does, naming ``import_run_id``.

    The import still holds the lock while it verifies and scores its accounts, after its
    status and counts are saved as finished.
    """
    holder = LockHolder(IMPORT, import_run_id) if import_run_id is not None else None
    with writer_lock(holder, wait=wait) as locked:
        yield locked


def _try_exclusive(handle: Any) -> bool:
    """Try the exclusive lock without waiting, and return whether it was taken.

    A check of lock_holder() holds a shared lock for a moment, which is no job, so the
    try is repeated a few times while no job holds the lock.
    """
    for _attempt in range(PROBE_RETRIES):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if lock_holder() is not None:
                return False
            time.sleep(PROBE_RETRY_SECONDS)
        else:
            return True
    return False


def _holder_label(holder: LockHolder | None) -> str:
    if holder is None:
        return "a job"
    if holder.run_id is None:
        return f"a {holder.kind} job"
    return f"{holder.kind} run {holder.run_id}"


def lock_holder() -> LockHolder | None:
    """Return the job that holds the lock now, or None when the lock is free.

    A held lock whose file names no job gives a LockHolder of kind "". The check takes a
    shared lock for a moment, so two checks do not see each other as a holder. A job
    that tries the exclusive lock at that moment waits for the check, or is rejected when
    it does not wait. Always None when jobs may run concurrently.
    """
    if not _locking():
        return None
    path = Path(settings.ICP_IMPORT_LOCK_PATH)
    try:
        handle = path.open("r", encoding="ascii")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
        try:
            text = handle.read()
        except (OSError, UnicodeDecodeError):
            text = ""
    return LockHolder.from_text(text) or LockHolder("")


def import_run_lock_busy(import_run_id: int) -> bool | None:
    """Return whether a process holds the lock for the import run, as while it imports or
    scores it.

    Every process that imports or scores a run holds the lock and names the run in the
    lock file for as long as it works, and a run is marked running only once its process
    holds the lock. So a free lock, or one held for another job, means that no process
    works on the run. Returns None when jobs may run concurrently, because then no lock
    shows it.
    """
    if not _locking():
        return None
    return lock_holder() == LockHolder(IMPORT, import_run_id)


def running_import_check() -> None:
    """Raise ImportAlreadyRunning when imports run one at a time and another job holds
    the lock now.

    The message names the running job, who started it and when.
    """
    holder = lock_holder()
    if holder is None:
        return
    if holder.kind in (IMPORT, ""):
        # A holder that has not written its id yet, such as a run between its creation
        # and its start, is taken for the newest pending or running import.
        running = _holder_run(LockHolder(IMPORT, holder.run_id))
        raise ImportAlreadyRunning(running_import_message(running), running)
    running = _holder_run(holder)
    raise ImportAlreadyRunning(
        f"{running_job_text(holder, running)}. {ONE_AT_A_TIME_REASON}, so start this import "
        "when it finishes.",
        None,
    )


def running_writer_check(next_job: str) -> None:
    """Raise WriterAlreadyRunning when long writes run one at a time and a job holds the
    lock now.

    ``next_job`` names the job that would start, such as "this re-scoring", in the
    message, which also names the running job, who started it and when.
    """
    holder = lock_holder()
    if holder is not None:
        raise _writer_already_running(holder, next_job)


@contextmanager
def writer_lock_or_reject(holder: LockHolder, next_job: str) -> Iterator[None]:
    """Hold the lock for the block, or raise WriterAlreadyRunning when another job holds it.

    For jobs started from a page or a command, which should not wait for minutes.
    ``next_job`` is worded as for running_writer_check.
    """
    with writer_lock(holder, wait=False) as locked:
        if not locked:
            # The holder may finish between the try and this check, so it may be unknown.
            raise _writer_already_running(lock_holder() or LockHolder(""), next_job)
        yield


def _writer_already_running(holder: LockHolder, next_job: str) -> WriterAlreadyRunning:
    running = _holder_run(holder)
    return WriterAlreadyRunning(
        f"{running_job_text(holder, running)}. {ONE_AT_A_TIME_REASON}, so start {next_job} "
        "when it finishes.",
        holder=holder,
        running=running,
    )


def _holder_run(holder: LockHolder) -> Any:
    """Return the run that the holder names, an ImportRun, SegmentationRun or EnrichmentRun.

    For an import that has not written its id yet, such as a run between its creation and
    its start, that is the newest pending or running import. Returns None when no run is
    found.
    """
    if holder.kind == SEGMENTATION:
        from segmentation.models import SegmentationRun

        runs = SegmentationRun.objects.select_related("triggered_by")
        if holder.run_id is not None:
            return runs.filter(pk=holder.run_id).first()
        # manage.py resegment creates its run after it takes the lock.
        return (
            runs.filter(status__in=[SegmentationRun.Status.RUNNING, SegmentationRun.Status.PENDING])
            .exclude(kind=SegmentationRun.Kind.IMPORT)
            .first()
        )
    if holder.kind == ENRICHMENT:
        from enrichment.models import EnrichmentRun

        if holder.run_id is None:
            return None
        return EnrichmentRun.objects.select_related("triggered_by").filter(pk=holder.run_id).first()
    if holder.kind == IMPORT:
        runs = ImportRun.objects.select_related("created_by")
        running = runs.filter(pk=holder.run_id).first() if holder.run_id is not None else None
        if running is None:
            running = (
                runs.filter(status__in=[ImportRun.Status.RUNNING, ImportRun.Status.PENDING])
                .order_by("-started_at", "-id")
                .first()
            )
        return running
    return None


def _started_text(user: Any, started_at: Any, *, without_user: str) -> str:
    starter = without_user
    if user is not None:
        starter = f"by {user.get_full_name() or user.get_username()}"
    return f"started {starter} at {timezone.localtime(started_at):%Y-%m-%d %H:%M %Z}"


def running_job_text(holder: LockHolder, running: Any) -> str:
    """Return a sentence, without its full stop, that names the job holding the lock."""
    if holder.kind == SEGMENTATION:
        if running is None:
            return "A re-scoring of the accounts is running"
        started = _started_text(
            running.triggered_by,
            running.started_at or running.created_at,
            without_user="from the command line or a schedule",
        )
        return (
            f"A re-scoring of the accounts is running: segmentation run #{running.pk} "
            f"({running.get_kind_display()}), {started}"
        )
    if holder.kind == ENRICHMENT:
        if running is None:
            return "An enrichment run is running"
        started = _started_text(
            running.triggered_by,
            running.started_at or running.created_at,
            without_user="from the command line",
        )
        return f"An enrichment run is running: #{running.pk} with {running.provider}, {started}"
    if holder.kind != IMPORT:
        return "Another import, re-scoring or enrichment run is running"
    if running is None:
        return "An import is running"
    started = _started_text(
        running.created_by,
        running.started_at or running.created_at,
        without_user="from the command line",
    )
    # The counts are saved before the run verifies and scores its accounts.
    scoring = ", now scoring its accounts" if running.is_finished else ""
    return f"An import is running: #{running.pk} of “{running.file_name}”, {started}{scoring}"


def lock_holder_text(holder: LockHolder) -> str:
    """Return a sentence, without its full stop, that names the job holding the lock."""
    return running_job_text(holder, _holder_run(holder))


def running_import_message(running: ImportRun | None) -> str:
    """Return the message that rejects a new import while ``running`` runs."""
    reason = "This installation runs one import at a time, so start this one when it finishes."
    if running is None:
        return f"Another import is running. {reason}"
    started = _started_text(
        running.created_by,
        running.started_at or running.created_at,
        without_user="from the command line",
    )
    # The counts are saved before the run verifies and scores its accounts.
    scoring = ", now scoring its accounts" if running.is_finished else ""
    return (
        f"Another import is running: #{running.pk} of “{running.file_name}”, {started}"
        f"{scoring}. {reason}"
    )
