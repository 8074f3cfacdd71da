"""Two requests that start one upload at the same moment create one import run."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from accounts.models import ImportRun
from accounts.workspace import imports as wizard

from .test_import_wizard import HUBSPOT_CSV, preview

pytestmark = pytest.mark.django_db(transaction=True)

BARRIER_TIMEOUT_SECONDS = 30


@pytest.fixture
def ops(client, sales_ops):
    client.force_login(sales_ops)
    return client


@pytest.fixture
def both_runs_created(monkeypatch) -> threading.Barrier:
    """Hold each start after it created its run until the other one has created its run too.

    Both requests have then passed every check that reads committed runs, which is the
    moment two POSTs of one session can reach on a busy server.
    """
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT_SECONDS)
    create = wizard.import_run_create

    def create_then_wait(*args: Any, **kwargs: Any) -> ImportRun:
        run = create(*args, **kwargs)
        barrier.wait()
        return run

    monkeypatch.setattr(wizard, "import_run_create", create_then_wait)
    return barrier


def test_simultaneous_starts_create_one_run(ops, both_runs_created):
    if connection.vendor != "postgresql":
        pytest.skip("two connections writing at once need PostgreSQL")
    token, _ = preview(ops, HUBSPOT_CSV)
    url = reverse("accounts:import-start", args=[token])
    responses: dict[str, Any] = {}

    def post(name: str) -> None:
        # A second client with the same session cookie is a second tab of one browser.
        client = Client()
        client.cookies = ops.cookies
        try:
            responses[name] = client.post(url)
        except Exception as error:  # noqa: BLE001 - reported by the asserts below
            responses[name] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT_SECONDS * 4)

    runs = list(ImportRun.objects.all())
    first, second = responses["first"], responses["second"]
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert len(runs) == 1
    assert first.status_code == 302
    assert second.status_code == 302
    detail = reverse("accounts:import-detail", args=[runs[0].pk])
    assert first["Location"] == detail
    assert second["Location"] == detail
    assert runs[0].upload_token == token
    assert runs[0].status == ImportRun.Status.SUCCEEDED
