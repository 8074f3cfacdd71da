"""Batches written on their own connections while the next batch is scored, and a
taxonomy change committed by another request in the middle of one.

These tests commit, because the writer threads cannot see an uncommitted test transaction,
and they need PostgreSQL, the only database the writers run on.
"""

import itertools
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from accounts import roles
from accounts.models import Account
from segmentation import services
from segmentation.models import (
    Framework,
    Industry,
    IndustrySynonym,
    ScoreRecord,
    SegmentationRun,
)
from tests.factories import AccountFactory

from .test_command import migration_rows  # noqa: F401 (a fixture)
from .test_services import copy_framework

pytestmark = pytest.mark.django_db(transaction=True)

BATCH_SIZE = 4
SIZES = itertools.cycle([20, 150, 600, 2500, 12000, None])
COUNTRIES = itertools.cycle(["US", "DE", "SG", "BR", ""])


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("Batches are written on separate connections only on PostgreSQL.")


@pytest.fixture
def varied_accounts(postgresql, migration_rows):  # noqa: F811
    return [
        AccountFactory(
            employee_count=size, employee_min=size, employee_max=size, country=next(COUNTRIES)
        )
        for size in itertools.islice(SIZES, 30)
    ]


def latest_results() -> list[tuple]:
    return list(
        Account.objects.order_by("id").values_list(
            "id", "score", "tier", "tag", "route", "size_band", "geography", "framework_id"
        )
    )


def clear_results() -> None:
    ScoreRecord.objects.all().delete()
    Account.objects.update(
        score=None, tier="", tag="", route="", size_band="", geography="", framework=None
    )


def test_concurrent_writes_match_inline(varied_accounts, settings):
    settings.ICP_SEGMENTATION_WRITERS = 0
    inline = services.accounts_segment(batch_size=BATCH_SIZE)
    expected = latest_results()
    clear_results()

    settings.ICP_SEGMENTATION_WRITERS = 2
    concurrent = services.accounts_segment(batch_size=BATCH_SIZE)

    assert latest_results() == expected
    assert (concurrent.moved, concurrent.unchanged, concurrent.failed) == (
        inline.moved,
        inline.unchanged,
        inline.failed,
    )
    assert concurrent.moved == len(varied_accounts)
    run = SegmentationRun.objects.get(pk=concurrent.run_id)
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert (run.processed, run.moved) == (len(varied_accounts), len(varied_accounts))
    assert run.summary["chunks"]["all"]["after_id"] == varied_accounts[-1].pk
    assert ScoreRecord.objects.filter(run=run).count() == len(varied_accounts)


def test_failed_batch_keeps_earlier_batches(varied_accounts, settings, monkeypatch):
    """The third batch fails: the two before it stay written and later ones are not."""
    settings.ICP_SEGMENTATION_WRITERS = 2
    write = services.results_write
    # The batches are written concurrently, so the failing one is picked by its accounts,
    # not by the order of the calls.
    third_batch_first_id = varied_accounts[2 * BATCH_SIZE].pk

    def fail_third(results, **options):
        if any(account_id == third_batch_first_id for account_id, _result in results):
            raise RuntimeError("disk full")
        write(results, **options)

    monkeypatch.setattr(services, "results_write", fail_third)
    with pytest.raises(RuntimeError, match="disk full"):
        services.accounts_segment(batch_size=BATCH_SIZE)

    run = SegmentationRun.objects.get()
    assert run.status == SegmentationRun.Status.FAILED
    assert run.error == "RuntimeError: disk full"
    written = varied_accounts[: 2 * BATCH_SIZE]
    assert run.summary["chunks"]["all"]["after_id"] == written[-1].pk
    assert run.processed == len(written)
    assert sorted(ScoreRecord.objects.values_list("account_id", flat=True)) == [
        account.pk for account in written
    ]
    assert not Account.objects.filter(pk__gt=written[-1].pk, framework__isnull=False).exists()

    # A retry of the run resumes after the last committed batch and doubles nothing.
    monkeypatch.setattr(services, "results_write", write)
    services.accounts_segment(run=run, batch_size=BATCH_SIZE)
    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == len(varied_accounts)
    per_account = ScoreRecord.objects.values_list("account_id", flat=True)
    assert sorted(per_account) == [account.pk for account in varied_accounts]
    # Items made by the failed batch were rolled back with it and stored again on retry.
    labels = [item["label"] for record in ScoreRecord.objects.all() for item in record.explanation]
    assert len(labels) == 6 * len(varied_accounts)
    assert "Missing item" not in labels


def test_new_version_moves_only_changed(varied_accounts, settings):
    settings.ICP_SEGMENTATION_WRITERS = 2
    services.accounts_segment(batch_size=BATCH_SIZE)
    before = dict(Account.objects.values_list("id", "updated_at"))
    moved = [account.pk for account in varied_accounts[:2]]  # US and DE, now APAC
    Account.objects.filter(pk__in=moved).update(country="JP")
    second_version = copy_framework(Framework.objects.get(status="approved"), version=2)

    services.accounts_segment(batch_size=BATCH_SIZE)

    after = dict(Account.objects.values_list("id", "updated_at"))
    assert {pk for pk in after if after[pk] != before[pk]} == set(moved)
    assert set(Account.objects.values_list("framework_id", flat=True)) == {second_version.pk}


def test_map_value_race_reports_mapped(postgresql, migration_rows, make_user, monkeypatch):  # noqa: F811
    """A value mapped and committed by another request between the checks and the insert."""
    account = AccountFactory(industry=None, industry_raw="Neobank")
    saas = Industry.objects.get(name="SaaS")
    fintech = Industry.objects.get(name="FinTech")
    create = IndustrySynonym.objects.create

    def map_in_other_request() -> None:
        try:
            synonym = IndustrySynonym(industry=fintech, value="Neobank", key="neobank")
            IndustrySynonym.objects.bulk_create([synonym])
        finally:
            connections.close_all()

    def create_after_other_request(**fields):
        other = threading.Thread(target=map_in_other_request)
        other.start()
        other.join()
        return create(**fields)

    monkeypatch.setattr(IndustrySynonym.objects, "create", create_after_other_request)
    user = make_user(roles.SALES_OPS, username="ops")

    with pytest.raises(ValidationError) as raised:
        services.industry_value_map(raw_value="Neobank", industry=saas, user=user)

    message = raised.value.messages[0]
    assert "'Neobank' already maps to FinTech through the synonym 'Neobank'" in message
    assert "was added after this page was loaded, so nothing was changed" in message
    assert "To map it to SaaS instead, edit that synonym in the admin" in message
    assert IndustrySynonym.objects.get(key="neobank").industry == fintech
    account.refresh_from_db()
    assert account.industry_id is None
