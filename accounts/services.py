"""Services that write accounts: importing CSV and JSON exports."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from accounts.importing.errors import ImportFileError, ImportNotCancellable
from accounts.importing.fingerprints import earlier_imports, file_sha256, same_file_conflict
from accounts.importing.layouts import (
    MappingFile,
    default_source,
    detect_layout,
    load_mapping_file,
)
from accounts.importing.reading import open_table
from accounts.importing.report import report_path
from accounts.importing.runner import IMPORT_BATCH_SIZE, FileImporter, ImportCounts
from accounts.importing.serial import import_lock, import_run_lock_busy, running_import_check
from accounts.importing.sources import source_name_normalize
from accounts.models import Account, ImportCancelRequest, ImportRun, ImportRunAccount
from audits.baseline import record_account_baselines
from audits.history import Channel, change_channel
from enrichment.services import accounts_verify

logger = logging.getLogger(__name__)

# Accounts per query when the new accounts of a run get their owner.
OWNER_ASSIGN_BATCH_SIZE = 2000

# Key of ImportRun.column_mapping that stores a queued run's mapping file until the run starts.
REQUESTED_MAPPING_KEY = "requested_mapping"


def _mapping_from(mapping: MappingFile | str | Path | None) -> MappingFile | None:
    if mapping is None or isinstance(mapping, MappingFile):
        return mapping
    return load_mapping_file(Path(mapping))


def import_run_create(
    path: str | Path,
    *,
    source: str = "",
    mapping: MappingFile | str | Path | None = None,
    dry_run: bool = False,
    created_by: AbstractBaseUser | None = None,
    allow_same_file: bool = False,
    total_rows: int | None = None,
    new_accounts_owner: AbstractBaseUser | None = None,
) -> ImportRun:
    """Create a pending ImportRun for ``accounts_import_task``.

    A mapping file is read now and stored on the run, so the worker does not need it.
    ``total_rows`` is the record count of an upload check, which the run keeps for its
    progress, because the importer streams a CSV file without counting it.
    ``new_accounts_owner`` becomes the owner of the accounts that the run creates.
    The source name is stored lower case, and the SHA-256 of the file's bytes is stored
    too. Raises ImportFileError when the source name breaks the rule of
    accounts.importing.sources or the mapping file is invalid, its subclass
    SameFileImported when an earlier import read the same content under another source
    name and ``allow_same_file`` is False, and its subclass ImportAlreadyRunning when
    imports run one at a time (SQLite) and another import is running.
    """
    running_import_check()
    path = Path(path)
    source = source_name_normalize(source)
    mapping_file = _mapping_from(mapping)
    sha256 = _file_sha256_or_blank(path)
    if not allow_same_file:
        _same_file_check(path, sha256, source, mapping_file)
    return ImportRun.objects.create(
        source=source,
        file_name=path.name,
        file_path=str(path.resolve()),
        file_sha256=sha256,
        allow_same_file=allow_same_file,
        is_dry_run=dry_run,
        created_by=created_by,
        total_rows=total_rows,
        new_accounts_owner=new_accounts_owner,
        column_mapping=(
            {REQUESTED_MAPPING_KEY: mapping_file.to_json()} if mapping_file is not None else {}
        ),
    )


def _file_sha256_or_blank(path: Path) -> str:
    """Return the file's SHA-256, or "" when it cannot be read, which the run then reports."""
    try:
        return file_sha256(path)
    except OSError:
        return ""


def _same_file_check(
    path: Path, sha256: str, source: str, mapping_file: MappingFile | None
) -> None:
    """Raise SameFileImported before a run is created for content of another source.

    Without a source name the file's header decides it, as in the import, and that is
    read only when an earlier import has the same content. The importer checks again
    when the run starts, which also covers a file it cannot open here.
    """
    if not earlier_imports(sha256):
        return
    if not source:
        try:
            with open_table(path) as table:
                layout = mapping_file.as_layout() if mapping_file else detect_layout(table.header)
                source = default_source(
                    layout.name, table.kind, has_mapping=mapping_file is not None
                )
        except (ImportFileError, UnicodeDecodeError, csv.Error):
            return
    conflict = same_file_conflict(sha256, source)
    if conflict is not None:
        raise conflict


def accounts_import(
    path: str | Path | None = None,
    *,
    source: str | None = None,
    mapping: MappingFile | str | Path | None = None,
    dry_run: bool = False,
    created_by: AbstractBaseUser | None = None,
    import_run: ImportRun | None = None,
    batch_size: int = IMPORT_BATCH_SIZE,
    verify_and_segment: bool = True,
    allow_same_file: bool = False,
) -> ImportRun:
    """Import a CSV or JSON export into accounts and return its finished ImportRun.

    ``source`` defaults to the detected layout (sp500, hubspot …) or ``csv``. ``mapping``
    is a mapping file path or MappingFile for layouts that are not detected. With
    ``import_run`` (a pending run from import_run_create) the path, source, mapping and
    dry-run flag come from the run. A dry run matches and counts every row inside a
    transaction that is rolled back, so no account changes. After a real run the touched
    accounts are verified and segmented, unless ``verify_and_segment`` is False, which
    benchmarks of the import itself use. ``allow_same_file`` imports content that an earlier
    import read under another source name (see import_run_create). Raises ImportFileError,
    after marking the run failed, when the file or mapping cannot be used, and
    SameFileImported, before any run is created, when import_run_create raises it.
    """
    if import_run is None:
        if path is None:
            raise TypeError("accounts_import() needs a path or an import_run.")
        import_run = import_run_create(
            path,
            source=source or "",
            mapping=mapping,
            dry_run=dry_run,
            created_by=created_by,
            allow_same_file=allow_same_file,
        )
    requested = import_run.column_mapping.get(REQUESTED_MAPPING_KEY)
    mapping_file = MappingFile.from_json(requested) if requested else None

    from accounts.tasks import import_run_lock

    # On SQLite a run that was queued while another import ran waits for the file lock
    # here. The advisory lock shows the import's page that a process is importing the run
    # (see import_run_interrupted). A task has taken it already, and it nests within a
    # session.
    with import_lock(wait=True, import_run_id=import_run.pk), import_run_lock(import_run.pk):
        return _import_locked(
            import_run,
            mapping_file=mapping_file,
            batch_size=batch_size,
            verify_and_segment=verify_and_segment,
        )


def _import_locked(
    import_run: ImportRun,
    *,
    mapping_file: MappingFile | None,
    batch_size: int,
    verify_and_segment: bool,
) -> ImportRun:
    # A run found running is imported again after its worker stopped. Its saved counts
    # cover the batches that worker committed.
    earlier_counts = (
        ImportCounts.of_run(import_run) if import_run.status == ImportRun.Status.RUNNING else None
    )
    if not _run_start(import_run):
        logger.info(
            "import run %s was cancelled before it started; nothing imported", import_run.pk
        )
        return import_run
    importer = FileImporter(import_run, mapping=mapping_file, batch_size=batch_size)
    try:
        if import_run.is_dry_run:
            # NOTE: the progress saved during a dry run is rolled back with everything else,
            # so other connections see the counts only when the run has finished.
            with transaction.atomic():
                touched_ids = importer.execute()
                transaction.set_rollback(True)
        else:
            touched_ids = importer.execute()
    except ImportFileError as error:
        # The batches written before the error stay written, and so do their links to the run.
        _new_accounts_owner_assign(import_run, _run_account_ids(import_run, importer.touched_ids))
        _finish(import_run, ImportRun.Status.FAILED, str(error))
        logger.warning("import run %s failed: %s", import_run.pk, error)
        raise
    except (csv.Error, UnicodeDecodeError) as error:
        # Bytes that are no text in the detected encoding, such as binary data in a file
        # read as UTF-16, surface only while the rows are read.
        message = (
            f"“{import_run.file_name}” could not be read as text ({error}): it seems to "
            "contain binary data. Save it as CSV UTF-8 and import that file."
        )
        _new_accounts_owner_assign(import_run, _run_account_ids(import_run, importer.touched_ids))
        _finish(import_run, ImportRun.Status.FAILED, message)
        logger.warning("import run %s failed: %s", import_run.pk, error)
        raise ImportFileError(message) from error
    except OperationalError as error:
        if not is_lock_timeout(error):
            _owner_assign_after_error(import_run, importer.touched_ids)
            _fail_internal(import_run, error)
            raise
        _new_accounts_owner_assign(import_run, _run_account_ids(import_run, importer.touched_ids))
        _finish(import_run, ImportRun.Status.FAILED, _lock_timeout_message(import_run))
        logger.warning(
            "import run %s failed after row %s: the database stayed locked: %s",
            import_run.pk,
            import_run.rows_read,
            error,
        )
        raise
    except Exception as error:
        _owner_assign_after_error(import_run, importer.touched_ids)
        _fail_internal(import_run, error)
        raise

    status = ImportRun.Status.SUCCEEDED
    if importer.stopped_early:
        import_run.rows_not_reached = importer.rows_not_reached
        status = ImportRun.Status.CANCELLED
        if earlier_counts is not None and importer.counts.read <= earlier_counts.read:
            _earlier_counts_keep(import_run, earlier_counts, importer.counts)
    touched_ids = _run_account_ids(import_run, touched_ids)
    _new_accounts_owner_assign(import_run, touched_ids)
    # A cancelled run's committed rows are imported accounts like any others, so they are
    # verified and scored too. The scoring run is created in the transaction that finishes
    # the import. A process killed while it scores, such as a web worker past its timeout,
    # then leaves that run unfinished, and import_run_scoring_finish completes it.
    score = verify_and_segment and not import_run.is_dry_run and bool(touched_ids)
    import_run.status = status
    with transaction.atomic():
        scoring_error = _scoring_run_attach(import_run, touched_ids) if score else ""
        _finish(import_run, status, scoring_error)
    logger.info(
        "import run %s %s: read %s, created %s, updated %s, unchanged %s, merged %s, "
        "rejected %s, skipped blank %s, flagged %s, not reached %s",
        import_run.pk,
        import_run.status,
        import_run.rows_read,
        import_run.created,
        import_run.updated,
        import_run.unchanged,
        import_run.merged,
        import_run.rejected,
        import_run.skipped_blank,
        import_run.flagged,
        import_run.rows_not_reached,
    )
    if import_run.segmentation_run_id is not None:
        _segment_accounts(import_run, touched_ids)
    return import_run


def _earlier_counts_keep(
    import_run: ImportRun, earlier: ImportCounts, restarted: ImportCounts
) -> None:
    """Give a cancelled run the counts of the worker that stopped before its restart.

    Called when the restarted import was cancelled before it read past the row where
    the first worker stopped. The first worker's committed batches then cover every row
    imported, and their counts tell created accounts from updated ones, which the restart
    cannot. The rows not reached are counted from the first worker's last row.
    """
    for name, value in earlier.as_run_fields().items():
        setattr(import_run, name, value)
    if import_run.rows_not_reached is not None:
        import_run.rows_not_reached -= earlier.read - restarted.read
    # NOTE: a restart that rejected a row before the cancel rewrote the report with its
    # own rows only, so the report then lacks the first worker's later rejected rows.
    if earlier.rejected and not import_run.report_path:
        path = report_path(import_run.pk, import_run.file_name)
        if path.is_file():
            import_run.report_path = str(path)


def _run_account_ids(import_run: ImportRun, touched_ids: Iterable[int]) -> set[int]:
    """Return the accounts of a run: those this process touched and those linked to the run.

    After a restart, the links also cover the batches that the first worker committed,
    whether the restart succeeds, fails or is cancelled. A dry run's links were rolled back.
    """
    if import_run.is_dry_run:
        return set(touched_ids)
    return set(touched_ids) | _linked_account_ids(import_run)


def _linked_account_ids(import_run: ImportRun) -> set[int]:
    return set(
        ImportRunAccount.objects.filter(import_run=import_run).values_list("account_id", flat=True)
    )


def _owner_assign_after_error(import_run: ImportRun, touched_ids: Iterable[int]) -> None:
    """Give the new accounts of a run that an unexpected error stopped to their owner.

    The batches written before the error stay written. The error may have left the
    database connection unusable, so a database error here is logged, and the caller
    goes on to mark the run failed and raise the import's own error.
    """
    try:
        # A savepoint inside an outer transaction, so a failure here leaves it usable.
        with transaction.atomic():
            _new_accounts_owner_assign(import_run, _run_account_ids(import_run, touched_ids))
    except (DatabaseError, InterfaceError):
        logger.exception(
            "import run %s: giving its new accounts to user %s failed after an error",
            import_run.pk,
            import_run.new_accounts_owner_id,
        )


def _fail_internal(import_run: ImportRun, error: Exception) -> None:
    _finish(import_run, ImportRun.Status.FAILED, f"Internal error: {error!r}")
    logger.exception("import run %s of %s failed", import_run.pk, import_run.file_path)


def is_lock_timeout(error: BaseException) -> bool:
    """Return True for a write that waited too long for a lock another connection held.

    That is SQLite's "database is locked" after the connection's timeout, and PostgreSQL's
    lock_not_available (SQLSTATE 55P03) after a lock_timeout.
    """
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    return "database is locked" in str(error) or getattr(cause, "pgcode", None) == "55P03"


def _lock_timeout_message(import_run: ImportRun) -> str:
    return (
        f"The import stopped after row {import_run.rows_read} because another write, such "
        "as another import or a re-scoring, kept the database locked for longer than the "
        "database's wait limit. The rows of the batches written before stay imported. "
        "Import the file again when the other job has finished: the rows already imported "
        "then match their accounts, so no duplicate is created."
    )


def _run_start(import_run: ImportRun) -> bool:
    """Mark the run running, unless a cancel request already marked it cancelled.

    The update is conditional, so a run cancelled while its task waited in the queue
    stays cancelled. Returns False for such a run. A run imported again after its worker
    stopped keeps its first start time, so the accounts that worker created count as the
    run's new accounts (see _new_accounts_owner_assign).
    """
    started = (
        ImportRun.objects.filter(pk=import_run.pk)
        .exclude(status=ImportRun.Status.CANCELLED)
        .update(
            status=ImportRun.Status.RUNNING,
            started_at=Coalesce(F("started_at"), Value(timezone.now())),
        )
    )
    if not started:
        import_run.refresh_from_db()
        return False
    import_run.refresh_from_db(fields=["status", "started_at"])
    return True


def import_run_cancel(import_run: ImportRun, *, user: AbstractBaseUser) -> ImportCancelRequest:
    """Request that a pending or running import stops, and return the request.

    A pending run is marked cancelled at once, before any row is read. A running run stops
    after the batch that it is writing, and the rows of the batches committed before stay
    imported. A second request returns the first one unchanged. Raises
    ImportNotCancellable for a run that has already succeeded or failed. The caller
    checks the permission (accounts.permissions.can_cancel_import).
    """
    import_run.refresh_from_db(fields=["status"])
    if import_run.status == ImportRun.Status.SUCCEEDED:
        raise ImportNotCancellable(
            f"Import {import_run.pk} of “{import_run.file_name}” has already finished, so it "
            "can no longer be cancelled. Its accounts stay imported: edit or delete them on "
            "their pages if they are wrong."
        )
    if import_run.status == ImportRun.Status.FAILED:
        raise ImportNotCancellable(
            f"Import {import_run.pk} of “{import_run.file_name}” has already failed, so there "
            "is nothing to cancel. The rows of the batches committed before the failure stay "
            "imported."
        )
    cancel_request, created = ImportCancelRequest.objects.get_or_create(
        import_run=import_run, defaults={"requested_by": user}
    )
    if not created:
        logger.info(
            "user %s requested again to cancel import run %s, so the first request, made "
            "at %s, is kept",
            user.pk,
            import_run.pk,
            cancel_request.requested_at.isoformat(),
        )
        import_run.refresh_from_db()
        return cancel_request
    # A queued run has read nothing, so every row is not reached. When the row count is
    # unknown (a CSV file given to import_accounts), rows_not_reached stays empty.
    ImportRun.objects.filter(pk=import_run.pk, status=ImportRun.Status.PENDING).update(
        status=ImportRun.Status.CANCELLED,
        finished_at=cancel_request.requested_at,
        rows_not_reached=F("total_rows"),
    )
    import_run.refresh_from_db()
    logger.info(
        "user %s requested to cancel import run %s, which is %s",
        user.pk,
        import_run.pk,
        import_run.status,
    )
    return cancel_request


def _new_accounts_owner_assign(import_run: ImportRun, account_ids: Iterable[int]) -> int:
    """Give the accounts that the run created to its ``new_accounts_owner``; return how many.

    The run's accounts of its source that were created after it started are its new ones.
    Accounts that already have an owner keep it. Each change is a history row attributed
    to the person who started the import.
    """
    # NOTE: an account that a concurrent import of the same source created, and this run
    # then updated, counts as new here too, because the run does not store which rows
    # created accounts.
    owner_id = import_run.new_accounts_owner_id
    if owner_id is None or import_run.is_dry_run or import_run.started_at is None:
        return 0
    ids = sorted(account_ids)
    now = timezone.now()
    assigned = 0
    for start in range(0, len(ids), OWNER_ASSIGN_BATCH_SIZE):
        accounts = list(
            Account.objects.filter(
                pk__in=ids[start : start + OWNER_ASSIGN_BATCH_SIZE],
                owner__isnull=True,
                source=import_run.source,
                created_at__gte=import_run.started_at,
            )
        )
        for account in accounts:
            account.owner_id = owner_id
            account.updated_at = now
        record_account_baselines(account.pk for account in accounts)
        bulk_update_with_history(
            accounts,
            Account,
            ["owner", "updated_at"],
            default_user=import_run.created_by,
            default_change_reason=f"Owner of the new accounts of import {import_run.pk}",
            custom_historical_attrs={"history_channel": Channel.IMPORT},
        )
        assigned += len(accounts)
    logger.info(
        "import run %s: %s new accounts assigned to user %s", import_run.pk, assigned, owner_id
    )
    return assigned


def _finish(import_run: ImportRun, status: str, error: str) -> None:
    # A dry run's rollback also undid the progress saved on the run, so save every count.
    import_run.status = status
    import_run.error = error
    import_run.finished_at = timezone.now()
    import_run.save()


def _scoring_run_attach(import_run: ImportRun, account_ids: Iterable[int]) -> str:
    """Create the pending scoring run of the imported accounts and link it to the import.

    Returns "" or, when no framework version is approved, the error to store on the import,
    which then has no scoring run.
    """
    from segmentation.models import SegmentationRun
    from segmentation.services import framework_get_active, segmentation_run_create

    try:
        framework = framework_get_active()
    except LookupError as error:  # NoActiveFrameworkError: no framework version is approved
        logger.warning("import run %s: imported accounts were not scored: %s", import_run.pk, error)
        return f"{_outcome(import_run)}, but its accounts were not scored: {error}"
    ids = sorted(account_ids)
    import_run.segmentation_run = segmentation_run_create(
        framework=framework,
        kind=SegmentationRun.Kind.IMPORT,
        total=len(ids),
        chunks=["selected"],
        triggered_by_id=import_run.created_by_id,
        account_ids=ids,
    )
    return ""


def _segment_accounts(import_run: ImportRun, account_ids: Iterable[int]) -> None:
    """Verify the imported accounts and score them in the import's scoring run.

    Holds the import run's advisory lock meanwhile, and on SQLite the import lock naming
    the run, so the import's page can tell a scoring in progress from one whose process
    died (import_run_busy). Within an import, which holds the import lock already, the
    scoring does not lock it again. Errors are logged and stored on the import, whose
    accounts stay imported whatever scoring does.
    """
    from accounts.tasks import import_run_lock
    from segmentation.services import accounts_segment

    ids = sorted(account_ids)
    # Finishing the scoring of an earlier import waits here while another job writes.
    with (
        import_lock(wait=True, import_run_id=import_run.pk),
        import_run_lock(import_run.pk) as locked,
    ):
        if not locked:
            logger.info(
                "import run %s: another process is scoring its accounts; nothing to do",
                import_run.pk,
            )
            return
        try:
            # The trail shows the values verification applies as part of the import.
            with change_channel(Channel.IMPORT):
                accounts_verify(account_ids=ids)
            accounts_segment(account_ids=ids, run=import_run.segmentation_run)
        except Exception as error:  # noqa: BLE001 - the import is committed whatever scoring does
            logger.exception(
                "import run %s: scoring its accounts in segmentation run %s failed",
                import_run.pk,
                import_run.segmentation_run_id,
            )
            _scoring_failed(import_run, error)
        finally:
            import_run.segmentation_run.refresh_from_db()


def _scoring_failed(import_run: ImportRun, error: Exception) -> None:
    from segmentation.services import segmentation_run_fail

    # accounts_segment marks its run failed itself, but verification does not.
    segmentation_run_fail(import_run.segmentation_run_id, error)
    if is_lock_timeout(error):
        reason = "another write kept the database locked for longer than its wait limit"
    else:
        reason = repr(error)
    import_run.error = (
        f"{_outcome(import_run)}, but scoring its accounts failed ({reason}). Sales Ops can "
        "finish the scoring with Finish scoring on this import's page or with "
        f"manage.py resegment --import-run {import_run.pk}."
    )
    import_run.save(update_fields=["error"])


def import_run_scoring_finish(import_run: ImportRun) -> bool:
    """Score the accounts of a finished import whose scoring did not finish.

    Verification and scoring run again over every account of the import, and the scoring
    run resumes after its last committed batch. When another framework version was
    approved since, a new scoring run of that version replaces the import's. Returns False,
    doing nothing, when the import has no unfinished scoring run. Raises
    NoActiveFrameworkError when no version is approved.
    """
    from segmentation.models import SegmentationRun
    from segmentation.services import framework_get_active, segmentation_run_create

    import_run.refresh_from_db()
    scoring_run = import_run.segmentation_run
    if (
        not import_run.is_finished
        or scoring_run is None
        or scoring_run.status == SegmentationRun.Status.SUCCEEDED
    ):
        return False
    ids = list(
        ImportRunAccount.objects.filter(import_run=import_run)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )
    framework = framework_get_active()
    if scoring_run.framework_id != framework.pk:
        logger.info(
            "import run %s: framework v%s was approved after segmentation run %s started, so "
            "a new run scores the accounts",
            import_run.pk,
            framework.version,
            scoring_run.pk,
        )
        import_run.segmentation_run = segmentation_run_create(
            framework=framework,
            kind=SegmentationRun.Kind.IMPORT,
            total=len(ids),
            chunks=["selected"],
            triggered_by_id=import_run.created_by_id,
            account_ids=ids,
        )
        import_run.save(update_fields=["segmentation_run"])
    logger.info(
        "import run %s: finishing the scoring of its %s accounts in segmentation run %s",
        import_run.pk,
        len(ids),
        import_run.segmentation_run_id,
    )
    import_run.error = ""
    import_run.save(update_fields=["error"])
    _segment_accounts(import_run, ids)
    return True


def import_run_scoring_state(import_run: ImportRun) -> str | None:
    """Return the state of the scoring of an import's accounts, for its page and the API.

    None when the import scores nothing (a dry run, no account, no approved framework),
    else "succeeded", "running" while a process holds the import's lock, "failed" when
    scoring raised an error, or "interrupted" when the process that scored stopped.
    Without a lock that tells it (see import_run_busy), an unfinished scoring is "running".
    """
    from segmentation.models import SegmentationRun

    scoring_run = import_run.segmentation_run
    if scoring_run is None:
        return None
    if scoring_run.status == SegmentationRun.Status.SUCCEEDED:
        return "succeeded"
    busy = import_run_busy(import_run)
    if busy:
        return "running"
    if scoring_run.status == SegmentationRun.Status.FAILED:
        return "failed"
    # NOTE: with neither advisory locks nor the import lock (a database other than
    # PostgreSQL with ICP_IMPORTS_ONE_AT_A_TIME off, or Windows), a scoring whose process
    # stopped looks the same as one in progress, so it shows as running.
    return "running" if busy is None else "interrupted"


def import_run_interrupted(import_run: ImportRun) -> bool:
    """Return whether the run is marked running while no process imports it.

    That happens when the process that imported it stopped, such as a web server worker
    killed by its timeout. Always False when no lock tells it (see import_run_busy).
    """
    return import_run.status == ImportRun.Status.RUNNING and import_run_busy(import_run) is False


def import_run_busy(import_run: ImportRun) -> bool | None:
    """Return whether another session holds the import's advisory lock, as while it imports
    or scores.

    The check reads pg_locks instead of trying the lock. A try would take the lock for a
    moment. A task that tried it at that moment, such as a second tab's Finish scoring,
    would then find the run locked and do nothing, while the page that checked saw it idle.
    Databases other than PostgreSQL have no advisory locks, so there the import lock
    file shows it when imports run one at a time, as on SQLite
    (accounts.importing.serial.import_run_lock_busy), and otherwise this returns None.
    """
    from accounts.tasks import import_run_lock_keys

    if connection.vendor != "postgresql":
        # NOTE: the tests run this branch on PostgreSQL with the vendor set to "sqlite". It
        # was checked by hand on a SQLite file: an import whose process ended with
        # os._exit while scoring showed "interrupted", and a live one "running".
        return import_run_lock_busy(import_run.pk)
    class_key, run_key = import_run_lock_keys(import_run.pk)
    # A lock on two int4 keys is listed with the first key as classid, the second as objid
    # and objsubid 2 (PostgreSQL manual, "pg_locks").
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = %s AND objid = %s AND objsubid = 2 AND granted "
            "AND pid <> pg_backend_pid())",
            [class_key, run_key],
        )
        return bool(cursor.fetchone()[0])


def _outcome(import_run: ImportRun) -> str:
    if import_run.status == ImportRun.Status.CANCELLED:
        return "The import was cancelled"
    return "The import succeeded"
