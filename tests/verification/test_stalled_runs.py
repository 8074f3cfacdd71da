"""Stalled enrichment runs and runs waiting for a worker, resuming them while the old process
lives, and the eager time budget.

The old process of a run is a thread with its own database connection, so its writes and
the resume meet in PostgreSQL as two processes' would.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import tempfile
import threading
import time
import traceback
from collections import Counter
from datetime import timedelta

import kombu.pools
import pytest
from celery.exceptions import Reject
from django.db import connection, connections
from django.utils import timezone

from enrichment import tasks
from enrichment.models import EnrichmentRun, EnrichmentRunItem, Observation
from enrichment.services import (
    ENRICHMENT_RUN_TASK_NAMES,
    EnrichmentBatch,
    EnrichmentRunNotResumable,
    accounts_enrich,
    enrichment_run_create,
    enrichment_run_resume,
    enrichment_run_start,
    enrichment_run_task_started,
)
from enrichment.tasks import accounts_enrich_chunk_task, accounts_enrich_task, enrichment_run_queue
from icp_portal.broker import broker_queued_messages
from icp_portal.celery import app as celery_app
from tests.enrichment.fake_server import FakeResponse
from tests.enrichment.payloads import APOLLO_RESPONSE

from .conftest import blank_account

PATH = "/api/v1/organizations/enrich"


@pytest.fixture
def apollo(configure_provider, fake_server, settings):
    settings.ENRICHMENT_TASK_CHUNK_SIZE = 2
    # Every lookup reaches the fake server, so its requests count the lookups.
    settings.ENRICHMENT_CACHE_SECONDS = 0
    configure_provider("apollo", max_attempts=1)
    fake_server.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE))
    return fake_server


def requested_domains(server) -> Counter:
    return Counter(request.query["domain"][0] for request in server.requests if request.query)


def running_run(accounts, *, idle: timedelta) -> EnrichmentRun:
    """Create a running run whose last progress was ``idle`` ago."""
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])
    enrichment_run_start(run)
    EnrichmentRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - idle)
    run.refresh_from_db()
    return run


def backdate_heartbeat(run: EnrichmentRun) -> None:
    EnrichmentRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))


class OldProcess(threading.Thread):
    """Run accounts_enrich for one generation in a thread, as a worker would."""

    def __init__(self, run: EnrichmentRun, account_ids: list[int], generation: int) -> None:
        super().__init__(daemon=True)
        self.run_id = run.pk
        self.account_ids = account_ids
        self.generation = generation
        self.batch: EnrichmentBatch | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.batch = accounts_enrich(
                provider="apollo",
                account_ids=self.account_ids,
                run=EnrichmentRun.objects.get(pk=self.run_id),
                generation=self.generation,
            )
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            connection.close()


def wait_for_requests(server, count: int, timeout: float = 5.0) -> None:
    give_up = time.monotonic() + timeout
    while server.count(PATH) < count:
        assert time.monotonic() < give_up, f"the fake server got {server.count(PATH)} requests"
        time.sleep(0.02)


# Stalled runs ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_run_stalls_after_setting(apollo, settings):
    settings.ENRICHMENT_STALLED_AFTER_SECONDS = 120
    account = blank_account(domain="company.example")

    idle = running_run([account], idle=timedelta(seconds=150))
    busy = running_run([account], idle=timedelta(seconds=90))

    assert idle.is_stalled
    assert not busy.is_stalled


@pytest.mark.django_db
def test_finished_run_never_stalls(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(hours=2))

    EnrichmentRun.objects.filter(pk=run.pk).update(status=EnrichmentRun.Status.SUCCEEDED)
    run.refresh_from_db()

    assert not run.is_stalled


@pytest.mark.django_db
def test_lookups_record_heartbeat(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(hours=1))
    before = run.heartbeat_at

    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    run.refresh_from_db()
    assert run.heartbeat_at > before + timedelta(minutes=59)
    assert not run.is_stalled


@pytest.mark.django_db
def test_resume_rejects_run_with_progress(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(seconds=30))

    with pytest.raises(EnrichmentRunNotResumable, match="made progress at"):
        enrichment_run_resume(run)

    run.refresh_from_db()
    assert run.generation == 0
    assert run.status == EnrichmentRun.Status.RUNNING


@pytest.mark.django_db
def test_second_resume_of_stalled_run_rejected(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(hours=1))
    same_run_seen_by_another_request = EnrichmentRun.objects.get(pk=run.pk)

    enrichment_run_resume(run)
    with pytest.raises(EnrichmentRunNotResumable):
        enrichment_run_resume(same_run_seen_by_another_request)

    run.refresh_from_db()
    assert run.generation == 1
    assert run.status == EnrichmentRun.Status.PENDING


@pytest.mark.django_db
def test_forced_resume_ignores_progress(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(seconds=1))

    enrichment_run_resume(run, force=True)

    assert run.generation == 1
    assert run.status == EnrichmentRun.Status.PENDING


# Runs waiting for a worker --------------------------------------------------------------


def with_queued_tasks(run: EnrichmentRun, count: int) -> EnrichmentRun:
    EnrichmentRun.objects.filter(pk=run.pk).update(queued_tasks=count)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_queued_run_waits_not_stalls(apollo):
    account = blank_account(domain="company.example")
    run = with_queued_tasks(running_run([account], idle=timedelta(hours=1)), 2)

    assert run.is_idle
    assert run.is_waiting_for_worker
    assert not run.is_stalled
    # The run is running, so a worker took its first task.
    assert not run.is_unclaimed


@pytest.mark.django_db
def test_pending_queued_run_unclaimed(apollo):
    account = blank_account(domain="company.example")
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])
    backdate_heartbeat(run)
    run = with_queued_tasks(run, 1)

    assert run.is_waiting_for_worker
    assert run.is_unclaimed
    assert not run.is_stalled


@pytest.mark.django_db
def test_queued_run_with_progress_not_waiting(apollo):
    account = blank_account(domain="company.example")
    run = with_queued_tasks(running_run([account], idle=timedelta(seconds=30)), 2)

    assert not run.is_idle
    assert not run.is_waiting_for_worker
    assert not run.is_stalled


@pytest.mark.django_db
def test_started_run_without_progress_stalls(apollo):
    account = blank_account(domain="company.example")
    run = with_queued_tasks(running_run([account], idle=timedelta(hours=1)), 0)

    assert run.is_stalled
    assert not run.is_waiting_for_worker


@pytest.mark.django_db
def test_waiting_run_resumable_and_count_reset(apollo):
    account = blank_account(domain="company.example")
    run = with_queued_tasks(running_run([account], idle=timedelta(hours=1)), 3)

    enrichment_run_resume(run)

    assert run.generation == 1
    assert run.queued_tasks == 0
    assert run.status == EnrichmentRun.Status.PENDING


@pytest.mark.django_db
def test_old_generation_task_keeps_count(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(hours=1))
    enrichment_run_resume(run)
    run = with_queued_tasks(run, 1)
    heartbeat = run.heartbeat_at

    enrichment_run_task_started(run.pk, generation=0)

    run.refresh_from_db()
    assert run.queued_tasks == 1
    assert run.heartbeat_at == heartbeat


# The old process of a resumed run -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_old_process_stops_before_next_lookup(apollo):
    first = blank_account(domain="a-first.example")
    second = blank_account(domain="b-second.example")
    run = running_run([first, second], idle=timedelta(0))
    apollo.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE, delay=0.5))
    old = OldProcess(run, [first.pk, second.pk], generation=0)

    old.start()
    wait_for_requests(apollo, 1)
    backdate_heartbeat(run)
    enrichment_run_resume(run)
    batch = accounts_enrich(provider="apollo", account_ids=[first.pk, second.pk], run=run)
    old.join(timeout=10)

    run.refresh_from_db()
    assert old.error is None
    assert old.batch is not None
    assert old.batch.superseded
    assert batch.found == 2
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.found == 2
    # The old process requested only the account it had started on.
    assert requested_domains(apollo) == {"a-first.example": 2, "b-second.example": 1}
    names = list(
        Observation.objects.filter(account=first, source="apollo").values_list("field", flat=True)
    )
    assert len(names) == len(set(names))


@pytest.mark.django_db(transaction=True)
def test_old_process_write_skipped_after_resume(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(0))
    apollo.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE, delay=0.5))
    old = OldProcess(run, [account.pk], generation=0)

    old.start()
    wait_for_requests(apollo, 1)
    backdate_heartbeat(run)
    enrichment_run_resume(run)
    old.join(timeout=10)

    item = EnrichmentRunItem.objects.get(run=run)
    run.refresh_from_db()
    assert old.batch is not None
    assert old.batch.superseded
    assert item.status == EnrichmentRunItem.Status.PENDING
    assert item.attempts == 0
    assert not Observation.objects.filter(account=account, source="apollo").exists()
    assert run.status == EnrichmentRun.Status.PENDING

    apollo.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE))
    accounts_enrich(provider="apollo", account_ids=[account.pk], run=run)

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.found == 1


@pytest.mark.django_db
def test_chunk_of_old_generation_skipped(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(hours=1))
    enrichment_run_resume(run)

    result = accounts_enrich_chunk_task.delay(run.pk, [account.pk], generation=0).get()

    assert result == {"skipped": 1}
    assert apollo.count(PATH) == 0
    assert EnrichmentRunItem.objects.get(run=run).status == EnrichmentRunItem.Status.PENDING


@pytest.mark.django_db
def test_fan_out_of_old_generation_queues_nothing(apollo):
    account = blank_account(domain="company.example")
    run = running_run([account], idle=timedelta(hours=1))
    enrichment_run_resume(run)

    assert accounts_enrich_task.delay(run.pk, generation=0).get() == 0
    assert apollo.count(PATH) == 0


# The time budget without a broker -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_eager_run_stops_at_time_budget(apollo, settings):
    settings.ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = 1
    accounts = [blank_account(domain=f"company{index}.example") for index in range(5)]
    apollo.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE, delay=0.4))
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])

    enrichment_run_queue(run.pk)

    run.refresh_from_db()
    not_reached = EnrichmentRunItem.objects.filter(run=run, error_kind="NotReached")
    # Five lookups of 0.4 s each take longer than the budget, so a run that ignored the
    # budget would make all five. Wall time is not asserted: a busy machine stretches it.
    assert 1 <= apollo.count(PATH) < 5
    assert not_reached.count() == 5 - apollo.count(PATH)
    assert all("time budget of 1 s" in item.error for item in not_reached)
    assert all(item.status == EnrichmentRunItem.Status.FAILED for item in not_reached)
    assert run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS
    assert f"{not_reached.count()} accounts were not looked up" in run.error
    assert "resume the run" in run.error


@pytest.mark.django_db(transaction=True)
def test_resume_after_time_budget_finishes(apollo, settings):
    settings.ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = 1
    accounts = [blank_account(domain=f"company{index}.example") for index in range(5)]
    apollo.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE, delay=0.4))
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])
    enrichment_run_queue(run.pk)
    run.refresh_from_db()
    apollo.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE))

    enrichment_run_queue(enrichment_run_resume(run).pk)

    run.refresh_from_db()
    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.error == ""
    assert run.found == 5
    assert requested_domains(apollo) == {account.domain: 1 for account in accounts}


# With a broker --------------------------------------------------------------------------


def queued_tasks(client) -> list[tuple[str, list, dict]]:
    """Return (task name, args, kwargs) of every message in the default queue."""
    tasks = []
    for raw in client.lrange("celery", 0, -1):
        message = json.loads(raw)
        args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args, kwargs))
    return tasks


@pytest.mark.django_db(transaction=True)
def test_broker_chunks_get_no_deadline(apollo, broker, settings):
    settings.ENRICHMENT_EAGER_TIME_BUDGET_SECONDS = 0
    accounts = [blank_account(domain=f"company{index}.example") for index in range(3)]
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])

    enrichment_run_queue(run.pk)
    [(name, args, kwargs)] = queued_tasks(broker)
    broker.delete("celery")
    chunks = accounts_enrich_task.run(*args, **kwargs)
    queued = queued_tasks(broker)

    assert name == "enrichment.tasks.accounts_enrich_task"
    assert kwargs == {"generation": 0}
    assert chunks == 2
    assert [task[0] for task in queued] == ["enrichment.tasks.accounts_enrich_chunk_task"] * 2
    assert [task[2] for task in queued] == [{"generation": 0, "deadline": None}] * 2
    assert apollo.count(PATH) == 0


@pytest.mark.django_db(transaction=True)
def test_broker_run_waits_until_worker_starts(apollo, broker):
    accounts = [blank_account(domain=f"company{index}.example") for index in range(3)]
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])

    enrichment_run_queue(run.pk)
    backdate_heartbeat(run)
    run.refresh_from_db()

    assert run.queued_tasks == 1
    assert run.is_unclaimed
    assert not run.is_stalled

    # A worker takes the start task, which queues two chunks.
    [(_name, args, kwargs)] = queued_tasks(broker)
    broker.delete("celery")
    accounts_enrich_task.run(*args, **kwargs)
    run.refresh_from_db()

    assert run.status == EnrichmentRun.Status.RUNNING
    assert run.queued_tasks == 2
    assert not run.is_idle

    # All workers are busy elsewhere, so the chunks wait.
    backdate_heartbeat(run)
    run.refresh_from_db()

    assert run.is_waiting_for_worker
    assert not run.is_unclaimed
    assert not run.is_stalled

    for _name, args, kwargs in queued_tasks(broker):
        accounts_enrich_chunk_task.run(*args, **kwargs)
    run.refresh_from_db()

    assert run.queued_tasks == 0
    assert run.status == EnrichmentRun.Status.SUCCEEDED


class WorkerDied(BaseException):
    """Simulated death of a worker process in the middle of a chunk."""


@pytest.mark.django_db(transaction=True)
def test_broker_run_stalls_after_worker_dies(apollo, broker, monkeypatch):
    accounts = [blank_account(domain=f"company{index}.example") for index in range(3)]
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])
    enrichment_run_queue(run.pk)
    [(_name, args, kwargs)] = queued_tasks(broker)
    broker.delete("celery")
    accounts_enrich_task.run(*args, **kwargs)

    def die(**_kwargs):
        raise WorkerDied

    monkeypatch.setattr(tasks, "accounts_enrich", die)
    for _name, args, kwargs in queued_tasks(broker):
        with pytest.raises(WorkerDied):
            accounts_enrich_chunk_task.run(*args, **kwargs)
    backdate_heartbeat(run)
    run.refresh_from_db()

    assert run.queued_tasks == 0
    assert run.is_stalled
    assert not run.is_waiting_for_worker


class RetrySent(Exception):
    """Raised by a stand-in for Task.retry once the retry would be in the broker."""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("outcome", "expected_count"), [(RetrySent, 1), (Reject("broker down"), 0)]
)
def test_broker_retry_counted_as_queued(apollo, broker, monkeypatch, outcome, expected_count):
    account = blank_account(domain="company.example")
    apollo.route("GET", PATH, FakeResponse(status=429, headers={"Retry-After": "120"}))
    run = enrichment_run_create(provider="apollo", account_ids=[account.pk])
    enrichment_run_start(run)
    # The chunk runs uncounted, so the count after it is the retry's alone.
    assert run.queued_tasks == 0

    def retry(**_kwargs):
        raise outcome

    monkeypatch.setattr(accounts_enrich_chunk_task, "retry", retry)
    with pytest.raises((RetrySent, Reject)):
        accounts_enrich_chunk_task.run(run.pk, [account.pk], generation=0)
    run.refresh_from_db()

    assert run.queued_tasks == expected_count
    assert EnrichmentRunItem.objects.get(run=run).status == EnrichmentRunItem.Status.PENDING


# A worker that dies while the broker keeps its task ------------------------------------


def take_message(channel, queue: str = "celery"):
    """Take the next message from the queue without acknowledging it, as acks_late does.

    The broker keeps the message in its ``unacked`` hash until it is acknowledged.
    """
    message = channel.basic_get(queue, no_ack=False)
    assert message is not None, f"no message in the {queue!r} queue"
    return message


def run_as_worker(task, message) -> object:
    """Run the task of a delivered message in this process, with the message's request."""
    args, kwargs, _embed = message.decode()
    task.push_request(
        id=message.headers["id"],
        retries=message.headers.get("retries", 0),
        delivery_info=message.delivery_info,
        is_eager=False,
    )
    try:
        return task.run(*args, **kwargs)
    finally:
        task.pop_request()


def run_in_killed_worker(task, message) -> None:
    """Run a delivered chunk task in a forked process that is killed with SIGKILL.

    The process dies when the chunk starts looking accounts up, so no ``finally`` block
    after the start of the task runs, as in a worker that the kernel killed.
    """
    args, kwargs, _embed = message.decode()
    task_id = message.headers["id"]
    # The child opens its own database connection instead of sharing this one.
    connections.close_all()
    # The child writes why it ended without reaching the lookups, for the assert message.
    with tempfile.TemporaryFile(mode="w+") as outcome:
        pid = os.fork()
        if pid == 0:
            try:

                def die(**_kwargs):
                    os.kill(os.getpid(), signal.SIGKILL)

                tasks.accounts_enrich = die
                task.push_request(id=task_id, retries=0, is_eager=False)
                result = task.run(*args, **kwargs)
                outcome.write(f"the task returned {result!r}")
            except BaseException:
                outcome.write(traceback.format_exc())
            finally:
                outcome.flush()
                os._exit(1)
        _pid, status = os.waitpid(pid, 0)
        outcome.seek(0)
        ended = outcome.read()
    assert os.WIFSIGNALED(status), ended
    assert os.WTERMSIG(status) == signal.SIGKILL


def hand_out_again(channel) -> None:
    """Put unacknowledged messages back into their queue, as the broker does after the
    visibility timeout of a worker that died.
    """
    channel.visibility_timeout = 0
    channel.qos.restore_visible(num=100)


def started_run(accounts, broker, broker_channel) -> EnrichmentRun:
    """Create a run, and let a worker take its start task, which queues the chunks."""
    run = enrichment_run_create(provider="apollo", account_ids=[a.pk for a in accounts])
    enrichment_run_queue(run.pk)
    start = take_message(broker_channel)
    run_as_worker(accounts_enrich_task, start)
    start.ack()
    run.refresh_from_db()
    return run


@pytest.mark.django_db(transaction=True)
def test_redelivered_chunk_waits_not_stalls(apollo, broker, broker_channel):
    accounts = [blank_account(domain=f"company{index}.example") for index in range(2)]
    run = started_run(accounts, broker, broker_channel)
    assert run.queued_tasks == 1

    chunk = take_message(broker_channel)
    run_in_killed_worker(accounts_enrich_chunk_task, chunk)
    backdate_heartbeat(run)
    run.refresh_from_db()

    # The broker keeps the chunk for the dead worker until the visibility timeout.
    assert run.queued_tasks == 0
    assert run.started_tasks == [chunk.headers["id"]]
    assert run.is_stalled
    assert not run.is_waiting_for_worker

    hand_out_again(broker_channel)
    run.refresh_from_db()

    assert [task[0] for task in queued_tasks(broker)] == [
        "enrichment.tasks.accounts_enrich_chunk_task"
    ]
    assert run.waiting_tasks == 1
    assert run.is_waiting_for_worker
    assert not run.is_stalled

    redelivered = take_message(broker_channel)
    assert redelivered.delivery_info["redelivered"]
    run_as_worker(accounts_enrich_chunk_task, redelivered)
    redelivered.ack()
    run.refresh_from_db()

    assert run.status == EnrichmentRun.Status.SUCCEEDED
    assert run.queued_tasks == 0
    assert run.started_tasks == []


@pytest.mark.django_db(transaction=True)
def test_redelivered_chunk_keeps_other_count(apollo, broker, broker_channel):
    accounts = [blank_account(domain=f"company{index}.example") for index in range(3)]
    run = started_run(accounts, broker, broker_channel)
    assert run.queued_tasks == 2

    first = take_message(broker_channel)
    run_in_killed_worker(accounts_enrich_chunk_task, first)
    hand_out_again(broker_channel)
    backdate_heartbeat(run)
    run.refresh_from_db()

    assert run.queued_tasks == 1
    assert run.waiting_tasks == 2

    messages = [take_message(broker_channel), take_message(broker_channel)]
    [redelivered] = [m for m in messages if m.headers["id"] == first.headers["id"]]
    [second] = [m for m in messages if m.headers["id"] != first.headers["id"]]
    run_as_worker(accounts_enrich_chunk_task, redelivered)
    redelivered.ack()
    run.refresh_from_db()

    # The second delivery was not counted, so it counts nothing off.
    assert run.queued_tasks == 1
    assert run.status == EnrichmentRun.Status.RUNNING

    run_as_worker(accounts_enrich_chunk_task, second)
    second.ack()
    run.refresh_from_db()

    assert run.queued_tasks == 0
    assert run.status == EnrichmentRun.Status.SUCCEEDED


@pytest.mark.django_db
def test_unreachable_broker_read_fails_fast():
    # A local port where nothing listens, to play a Redis server that is down.
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app._pool = celery_app.amqp._producer_pool = None
    celery_app.conf.update(broker_url="redis://127.0.0.1:6390/0", task_always_eager=False)
    try:
        started = time.monotonic()
        messages = broker_queued_messages(set(ENRICHMENT_RUN_TASK_NAMES))
        elapsed = time.monotonic() - started
    finally:
        kombu.pools.reset()
        celery_app._pool = celery_app.amqp._producer_pool = None
        celery_app.conf.update(broker_url=saved[0], task_always_eager=saved[1])

    assert messages is None
    # Kombu waits 2 s before its first retry of a connection.
    assert elapsed < 1.9
