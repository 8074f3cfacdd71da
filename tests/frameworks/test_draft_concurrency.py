"""Two drafts created at the same time get two version numbers.

A second connection starts a draft while the first has read the highest version and not
yet committed its draft. Both commit, so this test commits too (``transaction=True``).
Serialized rollback restores the rows of the data migrations afterwards, and
``migration_rows`` loads the default framework in case an earlier test flushed it.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from accounts import roles
from segmentation.lifecycle import (
    FrameworkOpenCopyError,
    framework_draft_create,
    framework_next_version,
)
from segmentation.models import Framework, FrameworkStatus
from tests.segmentation.test_command import migration_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# How long the first transaction waits between reading its version and inserting the draft.
HOLD_SECONDS = 1.0
THREAD_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL: SQLite lets one writer at a time into the database.")


def test_concurrent_drafts_get_own_versions(postgresql, migration_rows, make_user):  # noqa: F811
    ops = make_user(roles.SALES_OPS, username="ops")
    source = Framework.objects.get(status=FrameworkStatus.APPROVED)
    started = threading.Event()
    errors: list[BaseException] = []

    def second_draft() -> None:
        try:
            started.wait(THREAD_TIMEOUT_SECONDS)
            framework_draft_create(source=source, user=ops, allow_parallel=True)
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)
        finally:
            connections.close_all()

    other = threading.Thread(target=second_draft)
    other.start()
    with transaction.atomic():
        version = framework_next_version()
        started.set()
        # The second request reads the versions now, while this draft is not inserted.
        time.sleep(HOLD_SECONDS)
        Framework.objects.create(
            version=version, name="First draft", status=FrameworkStatus.DRAFT, based_on=source
        )
    other.join(THREAD_TIMEOUT_SECONDS)

    assert errors == []
    drafts = Framework.objects.filter(status=FrameworkStatus.DRAFT).order_by("version")
    assert list(drafts.values_list("version", flat=True)) == [version, version + 1]


def test_concurrent_copies_create_one(postgresql, migration_rows, make_user):  # noqa: F811
    ops = make_user(roles.SALES_OPS, username="ops")
    source = Framework.objects.get(status=FrameworkStatus.APPROVED)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def press() -> None:
        try:
            barrier.wait(THREAD_TIMEOUT_SECONDS)
            outcomes.append(framework_draft_create(source=source, user=ops))
        except BaseException as error:  # noqa: BLE001 - reported by the asserts below
            outcomes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT_SECONDS)

    drafts = list(Framework.objects.filter(based_on=source, status=FrameworkStatus.DRAFT))
    rejected = [item for item in outcomes if isinstance(item, FrameworkOpenCopyError)]
    assert len(drafts) == 1
    assert len(rejected) == 1
    assert rejected[0].open_copy.pk == drafts[0].pk
