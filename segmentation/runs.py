"""Stalled segmentation runs: how their chunks stand, and resuming them.

A chunk records ``progress_at`` when a worker starts it (``_chunk_begin``) and when a
batch of it commits (``_chunk_record_batch``). A started chunk that is not done and has
made no progress for SEGMENTATION_STALLED_AFTER_SECONDS has most likely lost its worker,
so its run is stalled. A chunk without ``progress_at`` waits for a worker, which may
take long behind other work, while its task is in the broker's queue. A worker that
died between two chunks may have reserved the next chunk's task, which then is in no
queue until the broker's visibility timeout. So once the run has made no progress for
SEGMENTATION_STALLED_AFTER_SECONDS, an unstarted chunk whose task is not in the queue
is lost, and makes the run stalled too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from accounts.selectors import user_label
from icp_portal.broker import broker_queued_messages

from .models import SegmentationRun, SegmentationRunAccount, SegmentationRunResume
from .services import SELECTED_CHUNK

logger = logging.getLogger(__name__)

# A started chunk without progress for this long is shown as stalled, and so is an
# unstarted chunk missing from the broker's queue of a run without progress for this long.
DEFAULT_STALLED_AFTER_SECONDS = 600
UNFINISHED_STATUSES = (SegmentationRun.Status.PENDING, SegmentationRun.Status.RUNNING)
# The task of one chunk: accounts_segment_task(run_id, first_id, last_id).
CHUNK_TASK_NAME = "segmentation.tasks.accounts_segment_task"


class SegmentationRunNotResumable(Exception):
    """The run's chunks cannot be queued again, such as those of an import's scoring run."""


class SegmentationRunNotStalled(SegmentationRunNotResumable):
    """The run needs no resume: it finished, makes progress, or was resumed meanwhile."""


def segmentation_run_stalled_after() -> float:
    """Return SEGMENTATION_STALLED_AFTER_SECONDS: seconds without progress until a chunk stalls."""
    return float(
        getattr(settings, "SEGMENTATION_STALLED_AFTER_SECONDS", DEFAULT_STALLED_AFTER_SECONDS)
    )


@dataclass
class RunProgress:
    """The state of a run's chunks at ``now``, for its page, the run list and resuming.

    ``stalled_chunks`` are started, unfinished chunks without progress since
    ``stalled_before``. ``working_chunks`` are started chunks with recent progress, and
    ``waiting_chunks`` the unfinished chunks that no worker has started. ``lost_chunks``
    are unstarted chunks of a run without progress since ``stalled_before`` whose task
    is not in the broker's queue. ``last_progress_at`` is the latest progress of any
    chunk, or None before the first.
    """

    run: SegmentationRun
    now: datetime
    stalled_before: datetime
    stalled_chunks: list[str] = field(default_factory=list)
    working_chunks: list[str] = field(default_factory=list)
    waiting_chunks: list[str] = field(default_factory=list)
    lost_chunks: list[str] = field(default_factory=list)
    done_chunks: int = 0
    last_progress_at: datetime | None = None
    # The latest progress of the stalled chunks: when the stopped worker last wrote.
    stalled_since: datetime | None = None
    # With lost chunks: the latest progress, resume or start of the run.
    lost_since: datetime | None = None

    @property
    def stalled(self) -> bool:
        return self.run.status in UNFINISHED_STATUSES and bool(
            self.stalled_chunks or self.lost_chunks
        )

    @property
    def unfinished_chunks(self) -> list[str]:
        return self.stalled_chunks + self.working_chunks + self.waiting_chunks + self.lost_chunks

    @property
    def total_chunks(self) -> int:
        return len(self.unfinished_chunks) + self.done_chunks


def _chunk_progress_at(run: SegmentationRun, chunk: dict) -> datetime | None:
    if "progress_at" in chunk:
        # None after a resume queued the chunk again, until a worker starts it.
        text = chunk["progress_at"]
        return parse_datetime(text) if text else None
    # Runs recorded before chunks kept their progress time: a chunk with committed
    # batches was started, and the run's start is the best known time of its progress.
    if chunk.get("after_id") is not None:
        return run.started_at or run.created_at
    return None


def segmentation_run_progress(run: SegmentationRun, now: datetime | None = None) -> RunProgress:
    """Return how the chunks of ``run`` stand: stalled, working, waiting or done."""
    now = now or timezone.now()
    progress = RunProgress(
        run=run,
        now=now,
        stalled_before=now - timedelta(seconds=segmentation_run_stalled_after()),
    )
    for key, chunk in run.summary.get("chunks", {}).items():
        progress_at = _chunk_progress_at(run, chunk)
        if progress_at is not None and (
            progress.last_progress_at is None or progress_at > progress.last_progress_at
        ):
            progress.last_progress_at = progress_at
        if chunk.get("done"):
            progress.done_chunks += 1
        elif progress_at is None:
            progress.waiting_chunks.append(key)
        elif progress_at < progress.stalled_before and "error" not in chunk:
            progress.stalled_chunks.append(key)
            if progress.stalled_since is None or progress_at > progress.stalled_since:
                progress.stalled_since = progress_at
        else:
            progress.working_chunks.append(key)
    if progress.waiting_chunks and run.status in UNFINISHED_STATUSES:
        _find_lost_chunks(progress)
    return progress


def _find_lost_chunks(progress: RunProgress) -> None:
    """Move the waiting chunks whose task is not in the broker's queue to ``lost_chunks``.

    Only a run without progress, resume or start since ``stalled_before`` is checked, so
    a chunk task that a live worker has just taken from the queue is not lost. Only
    chunks over id ranges are checked, because each has an accounts_segment_task. The
    chunk of a run over chosen accounts may be scored in a web request or by an import,
    with no task in any queue.
    """
    run = progress.run
    candidates = [key for key in progress.waiting_chunks if _is_id_range(key)]
    if not candidates:
        return
    times = [progress.last_progress_at, run.started_at or run.created_at]
    resumed_at = run.summary.get("resumed_at")
    if resumed_at:
        times.append(parse_datetime(resumed_at))
    quiet_since = max(stamp for stamp in times if stamp is not None)
    if quiet_since >= progress.stalled_before:
        return
    queued = queued_chunk_keys(run)
    if queued is None:
        # NOTE: without a broker, with one other than Redis, or with a long queue, the
        # queue is not read, so a chunk that a dead worker had reserved shows as waiting
        # until the broker hands it on. manage.py resegment --resume finishes such a run.
        return
    progress.lost_chunks = [key for key in candidates if key not in queued]
    progress.waiting_chunks = [
        key for key in progress.waiting_chunks if key not in progress.lost_chunks
    ]
    if progress.lost_chunks:
        progress.lost_since = quiet_since


def queued_chunk_keys(run: SegmentationRun) -> set[str] | None:
    """Return the keys of the run's chunks whose task is in the broker's queue.

    Returns None when the queue cannot be read (see broker_queued_messages).
    """
    messages = broker_queued_messages({CHUNK_TASK_NAME})
    if messages is None:
        return None
    keys = set()
    for message in messages:
        if len(message.args) == 3 and message.args[0] == run.pk:
            keys.add(f"{message.args[1]}-{message.args[2]}")
    return keys


def _is_id_range(key: str) -> bool:
    try:
        chunk_range(key)
    except ValueError:
        return False
    return True


def chunk_range(key: str) -> tuple[int, int]:
    """Return the (first id, last id) of a chunk key such as "101-200"."""
    first, last = key.split("-")
    return int(first), int(last)


def segmentation_run_resume_blocker(run: SegmentationRun) -> str:
    """Return why the run's unfinished chunks cannot be queued again, or "" when they can.

    Chunks over id ranges can, and so can the chunk of a run over selected accounts that
    stores them all (SegmentationRunAccount). An import's scoring run is finished from
    its import instead, because that verifies the accounts before scoring them.
    """
    keys = list(run.summary.get("chunks", {}))
    if all(_is_id_range(key) for key in keys):
        return ""
    if keys != [SELECTED_CHUNK]:
        return (
            f"Segmentation run {run.pk} scored every account in one process, not in chunks "
            "over id ranges, so it cannot be resumed: run manage.py resegment to score "
            "every account."
        )
    if run.kind == SegmentationRun.Kind.IMPORT:
        from accounts.models import ImportRun

        import_run_id = (
            ImportRun.objects.filter(segmentation_run=run).values_list("pk", flat=True).first()
        )
        if import_run_id is not None:
            return (
                f"Segmentation run {run.pk} scores the accounts of import run "
                f"{import_run_id}, so it cannot be resumed here: use Finish scoring on the "
                f"import's page, or run manage.py resegment --import-run {import_run_id}."
            )
    if run.total and not SegmentationRunAccount.objects.filter(run=run).exists():
        # Runs created before every chosen id was stored keep only the lowest ids.
        return (
            f"Segmentation run {run.pk} stored only the lowest ids of its {run.total} "
            "chosen accounts, so it cannot be resumed: run manage.py resegment to score "
            "every account."
        )
    return ""


def segmentation_run_resume_text(resume: SegmentationRunResume) -> str:
    """Return who resumed a run and when, such as "by Lee Leader at 6 Dec 2026, 09:15 UTC"."""
    if resume.resumed_by_id is None:
        actor = "with manage.py resegment --resume"
    else:
        actor = f"by {user_label(resume.resumed_by)}"
    return f"{actor} at {date_format(timezone.localtime(resume.created_at), 'j M Y, H:i T')}"


def segmentation_run_resume(
    run: SegmentationRun,
    *,
    user_id: int | None,
    generation: int | None = None,
    force: bool = False,
) -> tuple[SegmentationRun, list[str]]:
    """Mark a stalled run resumed and return it with the keys of its unfinished chunks.

    The caller queues one task per chunk (``segmentation.tasks.segmentation_run_chunk_task``).
    The check and the change happen under the run's row lock, so of two requests that
    resume the same run only the first does. ``generation`` is the run's resume count
    that the requester saw, and a request whose count is out of date is rejected.
    Without ``force`` only a stalled run is resumed. Every unfinished chunk is queued
    again, because a stopped worker may have reserved waiting ones too. Stalled chunks
    get a ``progress_at`` of None, so they show as waiting for a worker until a task
    starts them again.

    A worker of the run that is still alive cannot double anything: each batch commits
    only after the batch it follows (see ``_chunk_record_batch``), so of two tasks on
    one chunk the first to commit goes on and the other stops.

    Raises SegmentationRunNotStalled when the run finished, was resumed since
    ``generation`` or is not stalled, and SegmentationRunNotResumable when its chunks
    cannot be queued again (see ``segmentation_run_resume_blocker``). Each names the
    reason.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = SegmentationRun.objects.select_for_update().get(pk=run.pk)
        current = locked.summary.get("generation", 0)
        status = locked.get_status_display().lower()
        if generation is not None and generation != current:
            last = locked.resumes.select_related("resumed_by").first()
            by_whom = f" {segmentation_run_resume_text(last)}" if last else ""
            raise SegmentationRunNotStalled(
                f"Segmentation run {run.pk} was already resumed{by_whom}, so nothing more "
                f"was queued. Its status is {status}."
            )
        if locked.status not in UNFINISHED_STATUSES:
            raise SegmentationRunNotStalled(
                f"Segmentation run {run.pk} has finished with the status {status}, so "
                "there is nothing to resume."
            )
        progress = segmentation_run_progress(locked, now)
        if not force and not progress.stalled:
            raise SegmentationRunNotStalled(
                f"Segmentation run {run.pk} is not stalled, so nothing was queued: a chunk "
                f"can be resumed after {segmentation_run_stalled_after():g} s without "
                f"progress. Its status is {status}."
            )
        blocker = segmentation_run_resume_blocker(locked)
        if blocker:
            raise SegmentationRunNotResumable(blocker)
        keys = progress.unfinished_chunks
        # Only stalled chunks lose their time. A working chunk keeps it, so it does not
        # show as waiting while its worker goes on. None, unlike a missing time, does
        # not date the chunk's committed batches at the run's start.
        for key in progress.stalled_chunks:
            locked.summary["chunks"][key]["progress_at"] = None
        locked.summary["generation"] = current + 1
        locked.summary["resumed_at"] = now.isoformat()
        locked.save(update_fields=["summary"])
        SegmentationRunResume.objects.create(
            run=locked,
            resumed_by_id=user_id,
            generation=current + 1,
            chunks=keys,
            last_progress_at=progress.last_progress_at,
        )
    logger.info(
        "Segmentation run %s resumed by %s: %s unfinished chunks queued again",
        run.pk,
        f"user {user_id}" if user_id is not None else "a command",
        len(keys),
    )
    return locked, keys
