"""Two confirmations of one review item sent at the same time record one confirmation.

Each confirmation runs in its own thread on its own database connection and commits, so
this test commits too (``transaction=True``), and serialized rollback restores the rows
of the data migrations afterwards. A third connection holds the item's row lock until
both confirmations wait for it, then lets them go at once.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.models import SegmentOverride
from audits.models import ReviewItem
from audits.periods import Period, local_today
from audits.services import review_item_confirm, review_session_create
from tests.reliability.data import reload_migration_data

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("migration_data"),
]

# How long the lock holder waits for both confirmations to block on the item's row.
LOCK_WAIT_SECONDS = 10.0
# How long a thread waits for the others at the barrier, and the test for the threads.
THREAD_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def migration_data(transactional_db):
    """Load the data-migration rows again when an earlier browser test emptied the tables.

    Serialized rollback does not restore them after such a test, whose flush recreates
    content types with other ids (tests/reliability/data.py).
    """
    reload_migration_data()


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip(
            "Needs PostgreSQL: SQLite ignores select_for_update and lets one writer at a "
            "time into the whole database, so two confirmations cannot race there."
        )


@pytest.fixture
def item(postgresql, scored, team) -> ReviewItem:
    """A pending review item of rep A's account, in a session of the team's manager."""
    scored(owner=team["rep_a"], scored_at=timezone.now())
    session = review_session_create(
        manager=team["manager"],
        rep_ids=[team["rep_a"].pk],
        period=Period(local_today() - timedelta(days=7), local_today()),
        sample_size=1,
        seed=1,
    )
    return session.items.get()


def _waiting_for_locks() -> int:
    """Count the sessions of this test database that wait for a lock.

    The first confirmation waits for this connection's lock, and the second for the
    first's place in the row's queue, so both count, whichever they wait for.
    """
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless its snapshot is cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
        )
        return cursor.fetchone()[0]


def _wait_until_blocked(count: int) -> int:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    blocked = _waiting_for_locks()
    while blocked < count and time.monotonic() < deadline:
        time.sleep(0.05)
        blocked = _waiting_for_locks()
    return blocked


def test_concurrent_confirmations_record_one(item, team):
    start = threading.Barrier(3)
    results: list[ReviewItem] = []
    errors: list[BaseException] = []

    def confirm() -> None:
        try:
            own_item = ReviewItem.objects.select_related("account").get(pk=item.pk)
            start.wait(timeout=THREAD_TIMEOUT_SECONDS)
            results.append(review_item_confirm(item=own_item, user=team["manager"]))
        except BaseException as error:  # Reported by the test's assertions below.
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    # given a third connection that holds the item's row lock
    with transaction.atomic():
        ReviewItem.objects.select_for_update().get(pk=item.pk)
        for thread in threads:
            thread.start()
        start.wait(timeout=THREAD_TIMEOUT_SECONDS)
        # when both confirmations wait for the lock, it is released by the commit
        blocked = _wait_until_blocked(2)
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT_SECONDS)

    # then one confirmation is recorded, and the other call returns the confirmed item
    assert errors == []
    assert [thread.is_alive() for thread in threads] == [False, False]
    confirmations = SegmentOverride.objects.filter(
        account_id=item.account_id, kind=SegmentOverride.Kind.REVIEW_CONFIRMATION
    )
    assert confirmations.count() == 1
    item.refresh_from_db()
    assert item.decision == ReviewItem.Decision.CONFIRMED
    assert item.override_id == confirmations.get().pk
    assert [result.decision for result in results] == [ReviewItem.Decision.CONFIRMED] * 2
    # Both calls really waited on the lock at the same time, so they raced.
    assert blocked == 2
