"""Segmentation runs whose worker stopped: the stalled signal, resuming, and double workers.

A dead worker is simulated by a chunk that commits some batches and then stops with an
exception that the scoring code does not catch, as a SIGKILL leaves it. The run stays
running and the chunk keeps its last progress time, which the tests then make old.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from audits.trail import TrailFilter, trail_page
from icp_portal.celery import app as celery_app
from segmentation import services, tasks
from segmentation.models import ScoreRecord, SegmentationRun, SegmentationRunResume
from segmentation.runs import (
    SegmentationRunNotResumable,
    segmentation_run_progress,
    segmentation_run_resume,
)
from segmentation.tasks import accounts_segment_task
from tests.factories import AccountFactory

# Batches of 2 make chunks of 20 accounts, so 25 accounts make two chunks.
BATCH_SIZE = 2
ACCOUNTS = 25


class WorkerKilled(BaseException):
    """Stops scoring the way a killed worker does: nothing records a failure."""


@pytest.fixture
def accounts(default_framework, industry_id):
    saas = industry_id("SaaS")
    return [AccountFactory(industry_id=saas, employee_count=300 + n) for n in range(ACCOUNTS)]


def broker_dispatch(monkeypatch, *, run_tasks: bool) -> Iterator[list[list[str]]]:
    """Make pages behave as with a Celery broker, and yield the chunk keys each resume queues.

    With ``run_tasks`` the chunk tasks run in this process at once. Otherwise they stay
    queued, as while no worker has taken them yet.
    """
    queued = []

    def dispatch(run, keys):
        queued.append(list(keys))
        if run_tasks:
            for key in keys:
                tasks.segmentation_run_chunk_task(run.pk, key)()

    monkeypatch.setattr(tasks, "segmentation_run_chunks_dispatch", dispatch)
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield queued
    celery_app.conf.task_always_eager = saved


@pytest.fixture
def with_broker(monkeypatch):
    """Make pages behave as with a Celery broker, with chunk tasks run in this process."""
    yield from broker_dispatch(monkeypatch, run_tasks=True)


@pytest.fixture
def with_idle_broker(monkeypatch):
    """Make pages behave as with a Celery broker whose queued chunk tasks no worker runs."""
    yield from broker_dispatch(monkeypatch, run_tasks=False)


def age_chunk(run: SegmentationRun, key: str, seconds: float) -> None:
    """Date the chunk's last progress ``seconds`` ago."""
    run.refresh_from_db()
    stamp = timezone.now() - timedelta(seconds=seconds)
    run.summary["chunks"][key]["progress_at"] = stamp.isoformat()
    SegmentationRun.objects.filter(pk=run.pk).update(summary=run.summary)
    run.refresh_from_db()


def start_long_ago(run: SegmentationRun, seconds: float = 7200) -> None:
    """Date the run's creation and start ``seconds`` ago, as for a run that ran a while."""
    stamp = timezone.now() - timedelta(seconds=seconds)
    SegmentationRun.objects.filter(pk=run.pk).update(created_at=stamp, started_at=stamp)
    run.refresh_from_db()


def killed_run(batches: int = 3) -> tuple[SegmentationRun, list[tuple[int, int]]]:
    """Plan a run and kill its first chunk's worker after ``batches`` committed batches."""
    run, ranges = services.segmentation_run_plan(batch_size=BATCH_SIZE)
    assert len(ranges) == 2

    def die(summary):
        if summary.total >= batches * BATCH_SIZE:
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        services.accounts_segment(
            run=run,
            first_id=ranges[0][0],
            last_id=ranges[0][1],
            batch_size=BATCH_SIZE,
            on_batch=die,
        )
    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.RUNNING
    assert run.processed == batches * BATCH_SIZE
    return run, ranges


def chunk_key(first: int, last: int) -> str:
    return f"{first}-{last}"


def test_started_chunk_without_progress_stalls(accounts, settings):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    run, ranges = killed_run()
    first_key, second_key = (chunk_key(*bounds) for bounds in ranges)
    age_chunk(run, first_key, 601)

    progress = segmentation_run_progress(run)

    assert progress.stalled
    assert progress.stalled_chunks == [first_key]
    assert progress.waiting_chunks == [second_key]
    assert progress.working_chunks == []
    assert progress.stalled_since == progress.last_progress_at


def test_recent_progress_not_stalled(accounts, settings):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 599)

    progress = segmentation_run_progress(run)

    assert not progress.stalled
    assert progress.working_chunks == [chunk_key(*ranges[0])]


def test_waiting_chunks_never_stall(accounts, settings):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 60
    run, ranges = services.segmentation_run_plan(batch_size=BATCH_SIZE)
    # Queued a day ago behind other work, and no worker has started a chunk since.
    SegmentationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(days=1))
    run.refresh_from_db()

    progress = segmentation_run_progress(run)

    assert not progress.stalled
    assert progress.waiting_chunks == [chunk_key(*bounds) for bounds in ranges]
    assert progress.last_progress_at is None


def test_finished_run_never_stalls(accounts, settings):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 60
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    SegmentationRun.objects.filter(pk=run.pk).update(status=SegmentationRun.Status.FAILED)
    run.refresh_from_db()

    assert not segmentation_run_progress(run).stalled


def test_run_page_shows_stalled_with_broker(client, accounts, make_user, with_broker):
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    client.force_login(make_user(roles.SALES_LEADERSHIP))

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()

    assert 'data-testid="run-stalled"' in page
    assert "has most likely stopped" in page
    assert "more than 10 minutes ago" in page
    assert "visibility timeout" in page
    assert "1 waiting for a worker" in page
    assert reverse("segmentation:run-resume", args=[run.pk]) in page
    assert 'name="generation" value="0"' in page


def test_run_page_without_broker_names_command(client, accounts, make_user):
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    client.force_login(make_user(roles.SALES_OPS))

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()

    assert 'data-testid="run-stalled"' in page
    assert f"manage.py resegment --resume {run.pk}" in page
    assert reverse("segmentation:run-resume", args=[run.pk]) not in page


def test_run_page_waiting_not_stalled(client, accounts, make_user):
    run, _ranges = services.segmentation_run_plan(batch_size=BATCH_SIZE)
    client.force_login(make_user(roles.SALES_OPS))

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()

    assert 'data-testid="run-stalled"' not in page
    assert 'data-testid="run-waiting-note"' in page
    assert "2 waiting for a worker" in page


def test_version_list_marks_stalled_run(client, accounts, make_user):
    run, ranges = killed_run()
    client.force_login(make_user(roles.SALES_OPS))
    versions_url = reverse("segmentation:framework-list")

    assert 'data-testid="latest-run-stalled"' not in client.get(versions_url).content.decode()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    assert 'data-testid="latest-run-stalled"' in client.get(versions_url).content.decode()


def test_resume_finishes_run_once(client, accounts, make_user, with_broker):
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    user = make_user(roles.SALES_OPS)
    client.force_login(user)
    url = reverse("segmentation:run-resume", args=[run.pk])

    first = client.post(url, {"generation": "0"}, follow=True)
    # A second click of the same page's button, after the first one resumed the run.
    second = client.post(url, {"generation": "0"}, follow=True)

    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == ACCOUNTS
    assert ScoreRecord.objects.filter(run=run).count() == ACCOUNTS
    assert ScoreRecord.objects.values("account").distinct().count() == ACCOUNTS
    assert with_broker == [[chunk_key(*bounds) for bounds in ranges]]
    assert "resumed after no progress since" in first.content.decode()
    assert "already resumed" in second.content.decode()
    resume = SegmentationRunResume.objects.get()
    assert resume.resumed_by == user
    assert resume.generation == 1
    assert resume.chunks == [chunk_key(*bounds) for bounds in ranges]


def test_resumed_chunk_waits_for_worker(accounts, settings):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    run, ranges = killed_run()
    first_key, second_key = (chunk_key(*bounds) for bounds in ranges)
    start_long_ago(run)
    age_chunk(run, first_key, 3600)

    run, keys = segmentation_run_resume(run, user_id=None, generation=0)
    progress = segmentation_run_progress(run)

    assert keys == [first_key, second_key]
    # The chunk committed batches before its worker died, and its task is queued again.
    assert not progress.stalled
    assert progress.stalled_chunks == []
    assert progress.waiting_chunks == [first_key, second_key]


def test_second_tab_resume_queues_nothing(client, accounts, make_user, with_idle_broker):
    run, ranges = killed_run()
    start_long_ago(run)
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    client.force_login(make_user(roles.SALES_OPS, first_name="Sam", last_name="Ops"))
    url = reverse("segmentation:run-resume", args=[run.pk])

    client.post(url, {"generation": "0"})
    # The second tab shows the page from before the first resume.
    second = client.post(url, {"generation": "0"}, follow=True).content.decode()
    # A page loaded after the resume names the new generation.
    third = client.post(url, {"generation": "1"}, follow=True).content.decode()

    assert with_idle_broker == [[chunk_key(*bounds) for bounds in ranges]]
    assert SegmentationRunResume.objects.count() == 1
    assert f"Segmentation run {run.pk} was already resumed by Sam Ops at " in second
    assert "so nothing more was queued. Its status is running." in second
    assert 'class="alert alert-info' in second
    assert 'data-testid="run-resumed">Last resumed by Sam Ops at ' in second
    assert 'data-testid="run-stalled"' not in second
    assert f'action="{url}"' not in second
    assert "is not stalled, so nothing was queued" in third
    assert f'action="{url}"' not in third


def test_run_page_poll_drops_resume_button(client, accounts, make_user, with_idle_broker):
    run, ranges = killed_run()
    start_long_ago(run)
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    client.force_login(make_user(roles.SALES_LEADERSHIP, first_name="Lee", last_name="Leader"))
    page_url = reverse("segmentation:run-detail", args=[run.pk])
    resume_url = reverse("segmentation:run-resume", args=[run.pk])

    before = client.get(page_url, headers={"HX-Request": "true"}).content.decode()
    client.post(resume_url, {"generation": "0"})
    after = client.get(page_url, headers={"HX-Request": "true"}).content.decode()

    assert f'action="{resume_url}"' in before
    assert 'data-testid="run-resumed"' not in before
    assert "<html" not in after
    assert f'hx-get="{page_url}"' in after
    assert f'action="{resume_url}"' not in after
    assert 'data-testid="run-stalled-badge"' not in after
    assert "2 waiting for a worker" in after
    assert 'data-testid="run-resumed">Last resumed by Lee Leader at ' in after


def test_resume_recorded_in_trail(client, accounts, make_user, with_broker):
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    user = make_user(roles.SALES_LEADERSHIP, first_name="Lee", last_name="Leader")
    client.force_login(user)

    client.post(reverse("segmentation:run-resume", args=[run.pk]), {"generation": "0"})

    entries, _more = trail_page(
        TrailFilter(source_key="segmentation.segmentationrunresume"), page=1, page_size=10
    )
    assert len(entries) == 1
    assert entries[0].user == "Lee Leader"
    assert entries[0].action == "Created"


def test_resume_rejected_while_working(client, accounts, make_user, with_broker):
    run, ranges = killed_run()
    client.force_login(make_user(roles.SALES_OPS))

    response = client.post(
        reverse("segmentation:run-resume", args=[run.pk]), {"generation": "0"}, follow=True
    )

    run.refresh_from_db()
    assert "is not stalled" in response.content.decode()
    assert with_broker == []
    assert run.status == SegmentationRun.Status.RUNNING
    assert not SegmentationRunResume.objects.exists()


def test_resume_without_broker_names_command(client, accounts, make_user):
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    client.force_login(make_user(roles.SALES_OPS))

    response = client.post(
        reverse("segmentation:run-resume", args=[run.pk]), {"generation": "0"}, follow=True
    )

    run.refresh_from_db()
    assert f"manage.py resegment --resume {run.pk}" in response.content.decode()
    assert run.status == SegmentationRun.Status.RUNNING
    assert not SegmentationRunResume.objects.exists()


@pytest.mark.parametrize("role", [roles.SDR, roles.AE, roles.SALES_MANAGER, roles.MARKETING])
def test_resume_forbidden_for_other_roles(client, accounts, make_user, with_broker, role):
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    client.force_login(make_user(role))

    response = client.post(reverse("segmentation:run-resume", args=[run.pk]), {"generation": "0"})

    assert response.status_code == 403
    assert not SegmentationRunResume.objects.exists()


def test_resume_rejects_finished_run(accounts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = tasks.resegment_all_task(batch_size=BATCH_SIZE)
    run = SegmentationRun.objects.get(pk=run_id)
    assert run.status == SegmentationRun.Status.SUCCEEDED

    with pytest.raises(
        SegmentationRunNotResumable,
        match="has finished with the status succeeded, so there is nothing",
    ):
        segmentation_run_resume(run, user_id=None, force=True)


def test_resegment_command_resumes_run(accounts, capsys):
    run, ranges = killed_run()

    call_command("resegment", resume=run.pk)

    run.refresh_from_db()
    output = capsys.readouterr().out
    assert f"Resuming run {run.pk}: 2 unfinished chunks" in output
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == ACCOUNTS
    assert ScoreRecord.objects.filter(run=run).count() == ACCOUNTS
    assert ScoreRecord.objects.values("account").distinct().count() == ACCOUNTS
    assert SegmentationRunResume.objects.get().resumed_by is None


def test_resegment_command_unknown_run(db):
    with pytest.raises(CommandError, match="Segmentation run 999999 was not found"):
        call_command("resegment", resume=999999)


def test_admin_run_list_marks_stalled(client, accounts, make_user):
    run, ranges = killed_run()
    age_chunk(run, chunk_key(*ranges[0]), 3600)
    client.force_login(make_user(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:segmentation_segmentationrun_changelist")).content.decode()

    assert "column-stalled" in page
    assert 'alt="True"' in page


# A worker that died between two chunks ------------------------------------------------


def take_chunk(channel):
    """Take the next chunk task from the queue without acknowledging it, as a worker with
    acks_late reserves it.
    """
    message = channel.basic_get("celery", no_ack=False)
    assert message is not None, "no chunk task in the queue"
    return message


def run_chunk(message) -> None:
    args, _kwargs, _embed = message.decode()
    accounts_segment_task(*args)
    message.ack()


def quiet_run(run: SegmentationRun, seconds: float) -> None:
    """Date the run's start and every chunk's progress ``seconds`` ago."""
    run.refresh_from_db()
    stamp = timezone.now() - timedelta(seconds=seconds)
    for chunk in run.summary["chunks"].values():
        if chunk.get("progress_at"):
            chunk["progress_at"] = stamp.isoformat()
    SegmentationRun.objects.filter(pk=run.pk).update(
        summary=run.summary, started_at=stamp, created_at=stamp
    )
    run.refresh_from_db()


def dispatched_run(django_capture_on_commit_callbacks):
    run, ranges = services.segmentation_run_plan(batch_size=BATCH_SIZE)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.segmentation_run_dispatch(run, ranges)
    return run, [chunk_key(*bounds) for bounds in ranges]


def test_reserved_chunk_of_dead_worker_stalls(
    accounts, settings, broker_channel, django_capture_on_commit_callbacks
):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    run, (first_key, second_key) = dispatched_run(django_capture_on_commit_callbacks)
    run_chunk(take_chunk(broker_channel))
    # The worker reserved the second chunk and died before starting it.
    take_chunk(broker_channel)
    quiet_run(run, 599)

    recent = segmentation_run_progress(run)

    assert not recent.stalled
    assert recent.waiting_chunks == [second_key]

    quiet_run(run, 601)
    progress = segmentation_run_progress(run)

    assert progress.stalled
    assert progress.lost_chunks == [second_key]
    assert progress.waiting_chunks == []
    assert progress.stalled_chunks == []
    assert progress.unfinished_chunks == [second_key]
    assert progress.lost_since == progress.last_progress_at


def test_queued_chunk_of_quiet_run_waits(
    accounts, settings, broker_channel, django_capture_on_commit_callbacks
):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    run, (first_key, second_key) = dispatched_run(django_capture_on_commit_callbacks)
    run_chunk(take_chunk(broker_channel))
    # The second chunk waits in the queue behind other work.
    quiet_run(run, 3600)

    progress = segmentation_run_progress(run)

    assert not progress.stalled
    assert progress.waiting_chunks == [second_key]
    assert progress.lost_chunks == []


def test_handed_on_chunk_waits_again(
    accounts, settings, broker_channel, django_capture_on_commit_callbacks
):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    run, (first_key, second_key) = dispatched_run(django_capture_on_commit_callbacks)
    run_chunk(take_chunk(broker_channel))
    take_chunk(broker_channel)
    quiet_run(run, 3600)
    assert segmentation_run_progress(run).stalled

    # The broker's visibility timeout passes, and it puts the task back in the queue.
    broker_channel.visibility_timeout = 0
    broker_channel.qos.restore_visible(num=100)
    progress = segmentation_run_progress(run)

    assert not progress.stalled
    assert progress.waiting_chunks == [second_key]


def test_run_page_offers_resume_for_lost_chunk(
    client, accounts, make_user, broker_channel, django_capture_on_commit_callbacks
):
    run, (first_key, second_key) = dispatched_run(django_capture_on_commit_callbacks)
    run_chunk(take_chunk(broker_channel))
    take_chunk(broker_channel)
    quiet_run(run, 3600)
    client.force_login(make_user(roles.SALES_OPS))

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()

    assert 'data-testid="run-stalled"' in page
    assert 'data-testid="run-lost"' in page
    assert "1 chunk that no worker has started is not in the broker's queue" in page
    assert reverse("segmentation:run-resume", args=[run.pk]) in page
    assert 'data-testid="run-waiting-note"' not in page


def test_resume_requeues_lost_chunk(
    client, accounts, make_user, broker_channel, django_capture_on_commit_callbacks
):
    run, (first_key, second_key) = dispatched_run(django_capture_on_commit_callbacks)
    run_chunk(take_chunk(broker_channel))
    take_chunk(broker_channel)
    quiet_run(run, 3600)
    client.force_login(make_user(roles.SALES_OPS))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("segmentation:run-resume", args=[run.pk]), {"generation": "0"}, follow=True
        )
    run.refresh_from_db()
    progress = segmentation_run_progress(run)

    assert "1 unfinished chunk queued again" in response.content.decode()
    assert not progress.stalled
    assert progress.waiting_chunks == [second_key]

    run_chunk(take_chunk(broker_channel))
    run.refresh_from_db()

    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == ACCOUNTS


def test_chosen_accounts_chunk_not_lost(accounts, settings, broker_channel):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 600
    # An import's scoring run: the import task scores its chunk, so no chunk task is queued.
    run = services.segmentation_run_create(
        framework=services.framework_get_active(),
        kind=SegmentationRun.Kind.IMPORT,
        total=ACCOUNTS,
        chunks=["selected"],
        account_ids=[account.pk for account in accounts],
    )
    quiet_run(run, 3600)

    progress = segmentation_run_progress(run)

    assert not progress.stalled
    assert progress.waiting_chunks == ["selected"]
    assert progress.lost_chunks == []


# Runs over chosen accounts -------------------------------------------------------------

# More than RUN_ACCOUNT_IDS_SHOWN, and fewer than all accounts, so scoring others shows.
CHOSEN = 23


def killed_chosen_run(
    chosen: list[int], kind: str = SegmentationRun.Kind.ACCOUNTS, batches: int = 3
) -> SegmentationRun:
    """Score chosen accounts in a run and kill the worker after ``batches`` committed batches."""
    run = services.segmentation_run_create(
        framework=services.framework_get_active(),
        kind=kind,
        total=len(chosen),
        chunks=[services.SELECTED_CHUNK],
        account_ids=chosen,
    )

    def die(summary):
        if summary.total >= batches * BATCH_SIZE:
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        services.accounts_segment(account_ids=chosen, run=run, batch_size=BATCH_SIZE, on_batch=die)
    run.refresh_from_db()
    assert run.processed == batches * BATCH_SIZE
    start_long_ago(run)
    age_chunk(run, services.SELECTED_CHUNK, 3600)
    return run


def assert_chosen_scored_once(run: SegmentationRun, chosen: list[int]) -> None:
    run.refresh_from_db()
    records = ScoreRecord.objects.filter(run=run)
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == len(chosen)
    assert records.count() == len(chosen)
    assert sorted(records.values_list("account_id", flat=True)) == sorted(chosen)


def test_chosen_run_stores_every_id(accounts):
    chosen = [account.pk for account in accounts]

    run = services.segmentation_run_create(
        framework=services.framework_get_active(),
        kind=SegmentationRun.Kind.ACCOUNTS,
        total=len(chosen),
        chunks=[services.SELECTED_CHUNK],
        account_ids=list(reversed(chosen)) + chosen[:3],
    )

    assert services.segmentation_run_account_ids(run.pk) == sorted(chosen)
    assert run.summary["account_ids"] == sorted(chosen)[: services.RUN_ACCOUNT_IDS_SHOWN]


def test_chosen_run_page_names_lowest(client, accounts, make_user):
    chosen = sorted(account.pk for account in accounts)
    run = services.segmentation_run_create(
        framework=services.framework_get_active(),
        kind=SegmentationRun.Kind.ACCOUNTS,
        total=len(chosen),
        chunks=[services.SELECTED_CHUNK],
        account_ids=chosen,
    )
    client.force_login(make_user(roles.SALES_OPS))

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()

    shown_count = services.RUN_ACCOUNT_IDS_SHOWN
    for account_id in chosen[:shown_count]:
        assert reverse("accounts:account-detail", args=[account_id]) in page
    for account_id in chosen[shown_count:]:
        assert reverse("accounts:account-detail", args=[account_id]) not in page
    assert f" and {len(chosen) - shown_count} more." in page


def test_chosen_run_resume_scores_rest(client, accounts, make_user, with_broker):
    chosen = [account.pk for account in accounts[:CHOSEN]]
    run = killed_chosen_run(chosen)
    client.force_login(make_user(roles.SALES_OPS))
    page_url = reverse("segmentation:run-detail", args=[run.pk])
    resume_url = reverse("segmentation:run-resume", args=[run.pk])

    page = client.get(page_url).content.decode()
    response = client.post(resume_url, {"generation": "0"}, follow=True)

    assert 'data-testid="run-stalled"' in page
    assert f'action="{resume_url}"' in page
    assert "1 unfinished chunk queued again" in response.content.decode()
    assert with_broker == [[services.SELECTED_CHUNK]]
    assert_chosen_scored_once(run, chosen)


def test_chosen_run_resumed_by_command(accounts):
    chosen = [account.pk for account in accounts[-CHOSEN:]]
    run = killed_chosen_run(chosen)

    call_command("resegment", resume=run.pk)

    assert_chosen_scored_once(run, chosen)


def test_chosen_run_without_ids_not_resumable(client, accounts, make_user, with_broker):
    chosen = [account.pk for account in accounts[:CHOSEN]]
    run = killed_chosen_run(chosen)
    # As a run created before every chosen id was stored.
    run.account_links.all().delete()
    client.force_login(make_user(roles.SALES_OPS))
    resume_url = reverse("segmentation:run-resume", args=[run.pk])

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()
    response = client.post(resume_url, {"generation": "0"}, follow=True).content.decode()

    message = f"stored only the lowest ids of its {CHOSEN} chosen accounts"
    assert message in page
    assert f'action="{resume_url}"' not in page
    assert message in response
    assert with_broker == []
    assert not SegmentationRunResume.objects.exists()


def test_import_run_points_to_import(client, accounts, make_user, with_broker):
    from accounts.models import ImportRun

    chosen = [account.pk for account in accounts]
    run = killed_chosen_run(chosen, kind=SegmentationRun.Kind.IMPORT)
    import_run = ImportRun.objects.create(
        source="csv", file_name="companies.csv", segmentation_run=run
    )
    client.force_login(make_user(roles.SALES_OPS))

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()

    assert f"scores the accounts of import run {import_run.pk}" in page
    assert f"manage.py resegment --import-run {import_run.pk}" in page
    assert reverse("segmentation:run-resume", args=[run.pk]) not in page
    with pytest.raises(SegmentationRunNotResumable, match="use Finish scoring"):
        segmentation_run_resume(run, user_id=None, force=True)


def test_migration_stores_listed_accounts(accounts):
    migration = importlib.import_module("segmentation.migrations.0017_run_account")
    ids = sorted(account.pk for account in accounts)

    def legacy_run(listed, total, status=SegmentationRun.Status.RUNNING):
        run = services.segmentation_run_create(
            framework=services.framework_get_active(),
            kind=SegmentationRun.Kind.ACCOUNTS,
            total=total,
            chunks=[services.SELECTED_CHUNK],
            account_ids=listed,
        )
        run.account_links.all().delete()
        SegmentationRun.objects.filter(pk=run.pk).update(status=status)
        return run

    complete = legacy_run(ids[:3], 3)
    truncated = legacy_run(ids[: services.RUN_ACCOUNT_IDS_SHOWN], len(ids))
    finished = legacy_run(ids[:3], 3, SegmentationRun.Status.SUCCEEDED)

    migration.store_listed_accounts(django_apps, None)

    assert services.segmentation_run_account_ids(complete.pk) == ids[:3]
    assert services.segmentation_run_account_ids(truncated.pk) == []
    assert services.segmentation_run_account_ids(finished.pk) == []
