"""One edit of a scoring input through a page or the API scores the account once."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import workspace
from accounts.models import Account
from segmentation import services as segmentation_services
from segmentation import tasks as segmentation_tasks
from tests.factories import AccountFactory

from .conftest import HTMX


@pytest.fixture
def rescores(monkeypatch) -> list[tuple[str, list[int]]]:
    """Record every scoring of given accounts: run at once ("now") or queued ("queued")."""
    calls: list[tuple[str, list[int]]] = []
    score_now = segmentation_services.accounts_segment

    def accounts_segment(**kwargs):
        if kwargs.get("account_ids") is not None:
            calls.append(("now", list(kwargs["account_ids"])))
        return score_now(**kwargs)

    def apply_async(args, **kwargs):
        calls.append(("queued", list(args)))

    monkeypatch.setattr(segmentation_services, "accounts_segment", accounts_segment)
    monkeypatch.setattr(segmentation_tasks.account_resegment_task, "apply_async", apply_async)
    return calls


@pytest.fixture
def account(sdr, approved_framework) -> Account:
    return AccountFactory(name="Initech", owner=sdr, framework=approved_framework)


def test_page_field_edit_scores_once(
    client, sdr, account, rescores, django_capture_on_commit_callbacks
):
    client.force_login(sdr)
    account.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:account-field-edit", args=[account.pk, "employees"]),
            {"employees": "1200", "version": workspace.account_version(account)},
            **HTMX,
        )
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.employee_count == 1200
    assert rescores == [("now", [account.pk])]


def test_api_patch_scores_once(sdr, account, rescores, django_capture_on_commit_callbacks):
    client = APIClient()
    client.force_login(sdr)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            f"/api/v1/accounts/{account.pk}/", {"employee_count": 4200}, format="json"
        )
    account.refresh_from_db()
    assert response.status_code == 200, response.json()
    assert account.employee_count == 4200
    assert rescores == [("now", [account.pk])]


def test_save_outside_edits_still_queues(account, rescores, django_capture_on_commit_callbacks):
    """A plain save, as from the admin or a script, keeps the automatic re-score."""
    account.refresh_from_db()
    account.employee_count = 77
    with django_capture_on_commit_callbacks(execute=True):
        account.save()
    assert rescores == [("queued", [account.pk])]
