import time
from unittest import mock

import pytest

from accounts.models import Account
from audits.history import Channel, change_channel
from segmentation.models import ScoreRecord
from segmentation.signals import auto_resegmentation_paused, pending_key
from segmentation.tasks import account_resegment_task


@pytest.fixture
def queued(settings):
    """Record queued re-segmentations instead of running them, as a broker would."""
    settings.ICP_RESEGMENT_DELAY_SECONDS = 30
    with mock.patch.object(account_resegment_task, "apply_async") as apply_async:
        yield apply_async


@pytest.fixture
def account(active_framework, make_account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = make_account("SaaS", employee_count=300, country="SG")
    return Account.objects.get(pk=created.pk)


@pytest.fixture(autouse=True)
def clear_cache():
    from django.core.cache import cache

    cache.clear()


def test_burst_queues_one_run(account, queued, django_capture_on_commit_callbacks):
    for count in (400, 500, 600, 700, 800):
        with django_capture_on_commit_callbacks(execute=True):
            account.employee_count = count
            account.save()
    assert queued.call_count == 1
    assert queued.call_args.args == ((account.pk,),)
    assert queued.call_args.kwargs == {"countdown": 30}


def test_untracked_change_queues_nothing(account, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account.description = "New description"
        account.save()
    assert queued.call_count == 0


def test_funding_signal_queues_run(account, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account.buying_signals = [{"kind": "funding", "detail": "Series B"}]
        account.save(update_fields=["buying_signals", "updated_at"])
    assert queued.call_count == 1


def test_import_channel_skipped(account, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), change_channel(Channel.IMPORT):
        account.annual_revenue_usd = 10**9
        account.save()
    assert queued.call_count == 0


def test_paused_block_skipped(account, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), auto_resegmentation_paused():
        account.technologies = ["Snowflake"]
        account.save()
    assert queued.call_count == 0


def test_bulk_update_skipped(account, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Account.objects.filter(pk=account.pk).update(employee_count=20)
    assert queued.call_count == 0


def test_task_scores_once_and_reopens(account, queued, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    with django_capture_on_commit_callbacks(execute=True):
        account.employee_count = 20
        account.save()
    account_resegment_task(account.pk)
    account.refresh_from_db()
    assert account.size_band == "SMB"
    assert ScoreRecord.objects.filter(account=account).count() == 1
    assert cache.get(pending_key(account.pk)) is None
    with django_capture_on_commit_callbacks(execute=True):
        account.employee_count = 2000
        account.save()
    assert queued.call_count == 2


def test_save_after_countdown_queues_again(
    account, queued, settings, django_capture_on_commit_callbacks
):
    """The task ran in a worker with its own cache, so the key here was never deleted."""
    settings.ICP_RESEGMENT_DELAY_SECONDS = 1
    with django_capture_on_commit_callbacks(execute=True):
        account.employee_count = 400
        account.save()
    time.sleep(1.2)

    with django_capture_on_commit_callbacks(execute=True):
        account.employee_count = 3000
        account.save()

    assert queued.call_count == 2


def test_eager_burst_scores_each_change(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account.employee_count = 20
        account.save()
    account.refresh_from_db()
    assert account.size_band == "SMB"
