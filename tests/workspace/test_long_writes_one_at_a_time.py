"""Full re-scorings and enrichment runs take part in the one-at-a-time rule of imports.

On SQLite (ICP_IMPORTS_ONE_AT_A_TIME) they hold the import lock while they write. Pages
and commands that start one reject it while another job holds the lock, tasks wait for
it, and a new import is rejected with a message that names them.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.importing.errors import ImportAlreadyRunning
from accounts.importing.serial import (
    ENRICHMENT,
    IMPORT,
    SEGMENTATION,
    LockHolder,
    lock_holder,
    running_import_check,
)
from accounts.models import ImportRun
from enrichment import tasks as enrichment_tasks
from enrichment.models import EnrichmentRun
from segmentation import services as segmentation_services
from segmentation.models import SegmentationRun
from segmentation.selectors import framework_get_active
from segmentation.services import segmentation_run_create, segmentation_run_plan
from segmentation.tasks import accounts_segment_task
from tests.factories import AccountFactory
from tests.import_locks import lock_held_elsewhere

from .conftest import HTMX

pytestmark = pytest.mark.django_db

BULK_URL = reverse("accounts:account-bulk")


@pytest.fixture
def running_import(sdr):
    """An import that another process is running: its run, named in the held lock."""
    run = ImportRun.objects.create(
        source="hubspot",
        file_name="big-export.csv",
        status=ImportRun.Status.RUNNING,
        created_by=sdr,
        started_at=timezone.now(),
    )
    with lock_held_elsewhere(LockHolder(IMPORT, run.pk)):
        yield run


def count_lock_holders(monkeypatch, holders: list) -> None:
    """Record the lock's holder each time a batch of accounts is scored."""
    original = segmentation_services._score_batch

    def recording(*args, **kwargs):
        holders.append(lock_holder())
        return original(*args, **kwargs)

    monkeypatch.setattr(segmentation_services, "_score_batch", recording)


def test_resegment_rejected_while_import_runs(one_at_a_time, running_import):
    AccountFactory()
    runs_before = SegmentationRun.objects.count()

    with pytest.raises(CommandError) as raised:
        call_command("resegment")

    message = str(raised.value)
    assert message.startswith(f"An import is running: #{running_import.pk} of “big-export.csv”")
    assert "started by sdr at " in message
    assert "so start this re-scoring when it finishes." in message
    assert SegmentationRun.objects.count() == runs_before


def test_resegment_holds_lock_while_scoring(one_at_a_time, monkeypatch):
    AccountFactory()
    holders = []
    rejections = []
    original = segmentation_services._score_batch

    def checking(*args, **kwargs):
        holders.append(lock_holder())
        try:
            running_import_check()
        except ImportAlreadyRunning as error:
            rejections.append(str(error))
        return original(*args, **kwargs)

    monkeypatch.setattr(segmentation_services, "_score_batch", checking)

    call_command("resegment")

    run = SegmentationRun.objects.filter(kind=SegmentationRun.Kind.FULL).get()
    assert holders == [LockHolder(SEGMENTATION)]
    assert len(rejections) == 1
    assert rejections[0].startswith(
        f"A re-scoring of the accounts is running: segmentation run #{run.pk} (All accounts), "
        "started from the command line or a schedule at "
    )
    assert rejections[0].endswith("so start this import when it finishes.")
    assert lock_holder() is None


def test_resegment_import_run_rejected_while_job_runs(one_at_a_time, sdr):
    run = ImportRun.objects.create(
        source="hubspot", file_name="scored.csv", status=ImportRun.Status.SUCCEEDED
    )
    run.segmentation_run = segmentation_run_create(
        framework=framework_get_active(), kind=SegmentationRun.Kind.IMPORT
    )
    run.save()
    enrichment = EnrichmentRun.objects.create(
        provider="apollo", scope=EnrichmentRun.Scope.SELECTION, triggered_by=sdr
    )

    with (
        lock_held_elsewhere(LockHolder(ENRICHMENT, enrichment.pk)),
        pytest.raises(CommandError) as raised,
    ):
        call_command("resegment", import_run=run.pk)

    message = str(raised.value)
    run.segmentation_run.refresh_from_db()
    assert message.startswith(
        f"An enrichment run is running: #{enrichment.pk} with apollo, started by sdr at "
    )
    assert f"so start finishing the scoring of import run {run.pk} when it finishes." in message
    assert run.segmentation_run.status == SegmentationRun.Status.PENDING


def test_segment_task_waits_for_lock(one_at_a_time, monkeypatch, sdr):
    AccountFactory()
    run, ranges = segmentation_run_plan()
    holders = []
    count_lock_holders(monkeypatch, holders)
    first_id, last_id = ranges[0]

    with lock_held_elsewhere(LockHolder(IMPORT, 1), seconds=0.5):
        started = time.monotonic()
        accounts_segment_task(run.pk, first_id, last_id)
        waited = time.monotonic() - started

    run.refresh_from_db()
    assert waited >= 0.4
    assert holders == [LockHolder(SEGMENTATION, run.pk)]
    assert run.status == SegmentationRun.Status.SUCCEEDED


def test_segment_task_within_lock_does_not_wait(one_at_a_time, monkeypatch):
    # An eager task started by a job that holds the lock, in the same thread.
    from accounts.importing.serial import writer_lock

    AccountFactory()
    run, ranges = segmentation_run_plan()
    holders = []
    count_lock_holders(monkeypatch, holders)

    with writer_lock(LockHolder(IMPORT, 3), wait=True):
        accounts_segment_task(run.pk, *ranges[0])

    assert holders == [LockHolder(IMPORT, 3)]


def test_import_rejection_names_rescoring(one_at_a_time, sales_ops):
    run = segmentation_run_create(
        framework=framework_get_active(),
        kind=SegmentationRun.Kind.APPROVAL,
        triggered_by_id=sales_ops.pk,
    )

    with (
        lock_held_elsewhere(LockHolder(SEGMENTATION, run.pk)),
        pytest.raises(ImportAlreadyRunning) as raised,
    ):
        running_import_check()

    message = str(raised.value)
    assert raised.value.running is None
    assert message.startswith(
        f"A re-scoring of the accounts is running: segmentation run #{run.pk} "
        "(Framework approval), started by salesops at "
    )
    assert "This installation runs one import, full re-scoring or enrichment run at a time" in (
        message
    )
    assert message.endswith("so start this import when it finishes.")


def test_enrich_command_rejected_while_import_runs(one_at_a_time, running_import):
    AccountFactory(domain="northwind.example")

    with pytest.raises(CommandError) as raised:
        call_command("enrich", "--all", "--provider", "website")

    message = str(raised.value)
    assert message.startswith(f"An import is running: #{running_import.pk} of “big-export.csv”")
    assert "so start this enrichment run when it finishes." in message
    assert EnrichmentRun.objects.count() == 0


def test_enrichment_chunk_holds_lock(one_at_a_time, monkeypatch, sdr):
    account = AccountFactory(domain="northwind.example")
    run = EnrichmentRun.objects.create(
        provider="apollo", scope=EnrichmentRun.Scope.SELECTION, triggered_by=sdr
    )
    holders = []
    rejections = []

    def enrich(**kwargs):
        holders.append(lock_holder())
        try:
            running_import_check()
        except ImportAlreadyRunning as error:
            rejections.append(str(error))
        return SimpleNamespace(
            superseded=False,
            processed=1,
            found=1,
            changed=0,
            errors=0,
            retry_ids=[],
            retry_after=None,
        )

    monkeypatch.setattr(enrichment_tasks, "accounts_enrich", enrich)

    with lock_held_elsewhere(LockHolder(IMPORT, 1), seconds=0.5):
        started = time.monotonic()
        enrichment_tasks._enrich(run.pk, [account.pk], retries=0)
        waited = time.monotonic() - started

    assert waited >= 0.4
    assert holders == [LockHolder(ENRICHMENT, run.pk)]
    assert rejections[0].startswith(
        f"An enrichment run is running: #{run.pk} with apollo, started by sdr at "
    )
    assert lock_holder() is None


@pytest.fixture
def apollo_configured(settings):
    # Nothing is requested: the start is rejected before any lookup.
    settings.ENRICHMENT_PROVIDERS = {
        "apollo": {"base_url": "http://127.0.0.1:9", "api_key": "test-key"}
    }


def test_bulk_enrich_rejected_while_import_runs(
    one_at_a_time, apollo_configured, running_import, client, sales_ops
):
    account = AccountFactory(domain="northwind.example")
    client.force_login(sales_ops)

    response = client.post(
        BULK_URL,
        {
            "action": "enrich",
            "provider": "apollo",
            "account_ids": [str(account.pk)],
            "confirmed": "1",
        },
        **HTMX,
    )

    html = response.content.decode()
    assert f"An import is running: #{running_import.pk} of “big-export.csv”" in html
    assert "so start this enrichment run when it finishes." in html
    assert EnrichmentRun.objects.count() == 0


def test_enrichment_resume_rejected_while_import_runs(
    one_at_a_time, apollo_configured, running_import, client, sales_ops
):
    run = EnrichmentRun.objects.create(
        provider="apollo",
        scope=EnrichmentRun.Scope.SELECTION,
        status=EnrichmentRun.Status.FAILED,
        error="The provider was down.",
        triggered_by=sales_ops,
    )
    generation = run.generation
    client.force_login(sales_ops)

    response = client.post(reverse("accounts:enrichment-run-resume", args=[run.pk]), follow=True)

    html = response.content.decode()
    run.refresh_from_db()
    assert f"An import is running: #{running_import.pk} of “big-export.csv”" in html
    assert f"so start resuming enrichment run {run.pk} when it finishes." in html
    assert run.status == EnrichmentRun.Status.FAILED
    assert run.generation == generation


# Enrichment runs that wait for the lock ------------------------------------------------


def idle_enrichment_run(user, *, lock_waiters: int = 0) -> EnrichmentRun:
    """Create a running enrichment run without progress for an hour."""
    return EnrichmentRun.objects.create(
        provider="apollo",
        scope=EnrichmentRun.Scope.SELECTION,
        triggered_by=user,
        status=EnrichmentRun.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        lock_waiters=lock_waiters,
    )


def wait_for(condition, description: str, timeout: float = 10.0) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, f"timed out waiting until {description}"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_enrichment_chunk_waiting_for_lock(one_at_a_time, monkeypatch, client, sdr):
    account = AccountFactory(domain="northwind.example")
    run = idle_enrichment_run(sdr)
    import_run = ImportRun.objects.create(
        source="hubspot",
        file_name="big-export.csv",
        status=ImportRun.Status.RUNNING,
        created_by=sdr,
        started_at=timezone.now(),
    )
    monkeypatch.setattr(
        enrichment_tasks,
        "accounts_enrich",
        lambda **_kwargs: SimpleNamespace(
            superseded=False, processed=1, found=1, changed=0, errors=0, retry_ids=[]
        ),
    )
    errors = []

    def chunk() -> None:
        try:
            enrichment_tasks._enrich(run.pk, [account.pk], retries=0)
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=chunk)
    client.force_login(sdr)
    with lock_held_elsewhere(LockHolder(IMPORT, import_run.pk)):
        worker.start()
        wait_for(
            lambda: EnrichmentRun.objects.get(pk=run.pk).lock_waiters == 1,
            "the chunk waits for the lock",
        )
        EnrichmentRun.objects.filter(pk=run.pk).update(
            heartbeat_at=timezone.now() - timedelta(hours=1)
        )
        run.refresh_from_db()

        assert run.is_idle
        assert run.is_waiting_for_lock
        assert run.lock_wait_holder == LockHolder(IMPORT, import_run.pk)
        assert not run.is_stalled
        page = client.get(reverse("accounts:enrichment-run-detail", args=[run.pk]))
        text = page.content.decode()
        assert "Waiting for another long write to finish" in text
        assert f"An import is running: #{import_run.pk} of “big-export.csv”" in text
        assert 'data-testid="enrichment-run-stalled"' not in text

    worker.join(timeout=10)
    run.refresh_from_db()

    assert errors == []
    assert run.lock_waiters == 0
    # The end of the wait counts as progress.
    assert not run.is_idle


def test_lock_waiter_stalls_when_lock_free(one_at_a_time, sdr):
    # A process of the run waited for the lock and died: the lock is free.
    run = idle_enrichment_run(sdr, lock_waiters=1)

    assert not run.is_waiting_for_lock
    assert run.is_stalled


def test_lock_waiter_follows_segmentation_holder(one_at_a_time, sdr, settings):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    AccountFactory()
    segmentation_run, ranges = segmentation_run_plan()
    key = "{}-{}".format(*ranges[0])
    segmentation_run.summary["chunks"][key]["progress_at"] = timezone.now().isoformat()
    segmentation_run.save(update_fields=["summary"])
    run = idle_enrichment_run(sdr, lock_waiters=1)

    with lock_held_elsewhere(LockHolder(SEGMENTATION, segmentation_run.pk)):
        assert run.is_waiting_for_lock
        assert not run.is_stalled

        # The re-scoring that holds the lock has stopped making progress itself.
        stopped = timezone.now() - timedelta(hours=1)
        segmentation_run.summary["chunks"][key]["progress_at"] = stopped.isoformat()
        segmentation_run.save(update_fields=["summary"])

        assert not run.is_waiting_for_lock
        assert run.is_stalled
