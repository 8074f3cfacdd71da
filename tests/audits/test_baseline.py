"""Baseline rows: an account's stored values before its first recorded change.

An import creates accounts without history rows, and a later re-scoring changes them
without history rows too. The first change through the ORM then records a baseline row,
which must not read as the account's creation, nor carry the time or channel of the
import or the re-scoring.
"""

import csv
import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Account, SegmentOverride
from accounts.research import account_segment_override
from accounts.selectors import account_history, account_workspace_queryset
from accounts.workspace.bulk import ASSIGN, accounts_owner_assign, bulk_selection
from audits.baseline import BASELINE_NOTE, BASELINE_TITLE, record_account_baselines
from audits.findings import active_account_ids
from audits.history import Channel, change_channel
from audits.periods import Period, team_zone
from audits.trail import TrailFilter, trail_page
from tests.factories import AccountFactory

MIGRATION = ("audits", "0005_date_account_baselines_at_first_change")
migration_module = importlib.import_module(
    "audits.migrations.0005_date_account_baselines_at_first_change"
)


@pytest.fixture
def imported(framework, saas):
    """An account imported two days ago without history and re-scored a day later."""
    account = AccountFactory(name="Acme", industry=saas, framework=framework, source="hubspot")
    Account.history.filter(id=account.pk).delete()
    created = timezone.now() - timedelta(days=2)
    Account.objects.filter(pk=account.pk).update(
        created_at=created, updated_at=created + timedelta(days=1)
    )
    account.refresh_from_db()
    return account


@pytest.fixture
def changed(imported, team):
    """The imported account after its first change, a tier set on a page."""
    before = timezone.now()
    with change_channel(Channel.PAGE):
        account_segment_override(
            account=imported,
            user=team["rep_a"],
            kind=SegmentOverride.Kind.MANUAL_TAG,
            reason="Discovery call showed fit",
            tier="low",
        )
    return {"account": imported, "before": before, "after": timezone.now()}


def trail_entries(**filters):
    found, _ = trail_page(TrailFilter(**filters), page=1, page_size=100)
    return found


def day_of(moment) -> str:
    return timezone.localtime(moment, team_zone()).date().isoformat()


def test_baseline_dated_at_first_change(changed):
    account = changed["account"]
    baseline, change = Account.history.filter(id=account.pk).order_by("history_id")

    assert baseline.history_change_reason == BASELINE_NOTE
    assert changed["before"] <= baseline.history_date <= change.history_date
    assert baseline.updated_at == account.created_at + timedelta(days=1)
    assert baseline.history_date < SegmentOverride.objects.get(account=account).created_at


def test_baseline_records_no_channel(changed):
    baseline = Account.history.filter(id=changed["account"].pk).earliest("history_id")

    assert baseline.history_channel == ""


def test_account_page_history_names_baseline(changed, team):
    accounts = account_workspace_queryset(user=team["rep_a"])
    account = accounts.get(pk=changed["account"].pk)

    entries = account_history(account)

    titles = [entry.title for entry in entries]
    assert "Account created" not in titles
    assert titles.index("Manual tag") < titles.index(BASELINE_TITLE)
    baseline = next(entry for entry in entries if entry.kind == "baseline")
    assert baseline.title == BASELINE_TITLE
    assert baseline.actor == "System"
    assert changed["before"] <= baseline.at <= changed["after"]


def test_trail_labels_baseline(changed):
    rows = trail_entries(account_id=changed["account"].pk)

    assert [row.action for row in rows if row.model_label == "Account"] == ["Changed", "Baseline"]
    baseline = next(row for row in rows if row.action == "Baseline")
    assert baseline.channel == "—"
    assert baseline.note == BASELINE_NOTE
    assert changed["before"] <= baseline.at <= changed["after"]


def test_trail_date_filter_and_csv_agree(client, make_user, changed):
    account = changed["account"]
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    rescored_day = day_of(account.created_at + timedelta(days=1))
    change_day = day_of(changed["after"])

    for day, expected_count in ((rescored_day, 0), (change_day, 1)):
        query = {"account": account.pk, "start": day, "end": day}
        page = client.get(reverse("audits:trail"), query)
        export = client.get(reverse("audits:trail-export"), query)
        lines = b"".join(export.streaming_content).decode().splitlines()
        on_page = {
            entry.at.isoformat() for entry in page.context["entries"] if entry.action == "Baseline"
        }
        in_csv = {row["changed_at"] for row in csv.DictReader(lines) if row["action"] == "Baseline"}
        assert len(on_page) == expected_count, day
        assert in_csv == on_page, day


def old_baseline(account: Account, *, channel: str = Channel.IMPORT):
    """Write a baseline row as recorded before migration audits.0005: at updated_at, via import."""
    history = Account.history.model
    values = {
        field.attname: getattr(account, field.attname)
        for field in history._meta.concrete_fields
        if not field.name.startswith("history_") and hasattr(account, field.attname)
    }
    return history.objects.create(
        **values,
        history_date=account.updated_at,
        history_type="+",
        history_change_reason=BASELINE_NOTE,
        history_channel=channel,
    )


def run_migration() -> None:
    apps = MigrationExecutor(connection).loader.project_state(MIGRATION).apps
    migration_module.date_baselines_at_first_change(apps, connection.schema_editor())


def test_migration_dates_baseline_at_change(imported, team):
    baseline = old_baseline(imported)
    imported.name = "Acme Corp"
    imported._history_user = team["rep_a"]
    with change_channel(Channel.PAGE):
        imported.save()
    change = Account.history.filter(id=imported.pk).latest("history_id")

    run_migration()

    baseline.refresh_from_db()
    assert baseline.history_date == change.history_date
    assert baseline.history_channel == ""
    rows = trail_entries(account_id=imported.pk)
    assert [row.action for row in rows] == ["Changed", "Baseline"]


def test_migration_keeps_date_without_change(imported):
    baseline = old_baseline(imported)

    run_migration()

    baseline.refresh_from_db()
    assert baseline.history_date == imported.updated_at
    assert baseline.history_channel == ""


def test_baseline_alone_not_active(imported):
    old_baseline(imported)
    run_migration()
    day = timezone.localtime(imported.updated_at, team_zone()).date()

    active = active_account_ids(Period(day, day), {})

    assert imported.pk not in active


# Bulk changes --------------------------------------------------------------------------


@pytest.fixture
def imported_pair(framework, saas, team):
    """Two accounts owned by Ana, imported without history rows."""
    accounts = [
        AccountFactory(name=name, industry=saas, framework=framework, owner=team["rep_a"])
        for name in ("Acme", "Birch")
    ]
    Account.history.filter(id__in=[account.pk for account in accounts]).delete()
    return accounts


def test_bulk_owner_assignment_shows_before_and_after(imported_pair, team, make_user):
    ops = make_user(roles.SALES_OPS, username="ops")
    selection = bulk_selection(
        user=ops, action=ASSIGN, account_ids=[account.pk for account in imported_pair]
    )
    with change_channel(Channel.PAGE):
        changed = accounts_owner_assign(selection=selection, owner=team["rep_b"], user=ops)

    account = account_workspace_queryset(user=ops).get(pk=imported_pair[0].pk)
    entries = account_history(account)
    assert changed == 2
    assert [entry.kind for entry in entries if entry.kind == "baseline"] == ["baseline"]
    owner_changes = [
        change for entry in entries for change in entry.changes if change.field == "owner_id"
    ]
    assert len(owner_changes) == 1
    assert owner_changes[0].old == "Ana"
    assert owner_changes[0].new == "Ben"


def test_bulk_baselines_read_in_one_query(imported_pair, django_assert_num_queries):
    ids = [account.pk for account in imported_pair]

    # One SELECT of the accounts without history and one INSERT of their baselines.
    with django_assert_num_queries(2):
        recorded = record_account_baselines(ids)

    assert recorded == 2
    for account in imported_pair:
        row = Account.history.get(id=account.pk)
        assert row.history_change_reason == BASELINE_NOTE
        assert row.owner_id == account.owner_id


def test_bulk_baselines_skip_accounts_with_history(imported_pair):
    first, second = imported_pair
    first.name = "Acme Corp"
    first.save()
    rows_before = Account.history.filter(id=first.pk).count()

    recorded = record_account_baselines([first.pk, second.pk])

    assert recorded == 1
    assert Account.history.filter(id=first.pk).count() == rows_before
    assert Account.history.filter(id=second.pk).count() == 1
