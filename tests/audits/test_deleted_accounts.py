"""Review decisions, audit findings and corrections stay when their account is deleted."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Account, SegmentOverride
from audits.models import ReviewItem, Violation
from audits.periods import Period, local_today
from audits.selectors import session_accuracy
from audits.services import (
    monthly_audit_run,
    review_item_confirm,
    review_item_correct,
    review_session_create,
)
from audits.trail import TrailFilter, trail_page

RECENT = Period(local_today() - timedelta(days=7), local_today())


@pytest.fixture
def session(scored, team):
    """A review of three accounts of rep A: the first corrected, the others pending."""
    for number in range(3):
        scored(owner=team["rep_a"], scored_at=timezone.now(), name=f"Company {number}")
    session = review_session_create(
        manager=team["manager"], rep_ids=[team["rep_a"].pk], period=RECENT, sample_size=3, seed=3
    )
    first = session.items.get(position=1)
    review_item_correct(item=first, user=team["manager"], reason="Wrong size", tier="low")
    return session


def delete_account_at(session, position: int) -> str:
    item = session.items.get(position=position)
    name = item.account.name
    item.account.delete()
    return name


def test_decided_item_kept(session, team):
    before = session_accuracy(session)
    name = delete_account_at(session, 1)

    item = session.items.get(position=1)
    assert item.account is None
    assert item.decision == ReviewItem.Decision.CORRECTED
    assert item.account_label == f"{name} (deleted)"
    assert session_accuracy(session) == before


def test_correction_kept(session):
    name = delete_account_at(session, 1)

    override = SegmentOverride.objects.get(reason="Wrong size")
    assert override.account_id is None
    assert override.deleted_account_name == name
    assert override.new_tier == "low"


def test_deleted_pending_item_cannot_be_decided(session, team):
    delete_account_at(session, 2)
    item = session.items.get(position=2)

    with pytest.raises(ValidationError, match="was deleted"):
        review_item_confirm(item=item, user=team["manager"])
    item.refresh_from_db()
    assert item.decision == ReviewItem.Decision.PENDING


def test_card_of_deleted_account(client, session, team):
    name = delete_account_at(session, 2)
    client.force_login(team["manager"])

    url = reverse("audits:review-session-detail", args=[session.pk])
    html = client.get(url, {"position": 2}).content.decode()

    assert f"{name} (deleted)" in html
    assert "so it cannot be reviewed" in html
    assert 'data-review-action="confirm"' not in html


def test_progress_leaves_out_deleted_pending_item(client, session, team):
    delete_account_at(session, 2)
    client.force_login(team["manager"])

    html = client.get(reverse("audits:review-session-detail", args=[session.pk])).content

    assert "1 of 2 reviewed" in html.decode()


def test_session_opens_on_next_reviewable_item(client, session, team):
    delete_account_at(session, 2)
    client.force_login(team["manager"])

    response = client.get(reverse("audits:review-session-detail", args=[session.pk]))

    assert response.context["item"].position == 3


def test_confirm_posted_after_deletion(client, session, team):
    name = delete_account_at(session, 2)
    item = session.items.get(position=2)
    client.force_login(team["manager"])

    response = client.post(
        reverse("audits:review-item-confirm", args=[session.pk, item.pk]),
        {"view": "card"},
        HTTP_HX_REQUEST="true",
    )

    item.refresh_from_db()
    assert response.status_code == 200
    assert f"{name} (deleted): the account was deleted" in response.content.decode()
    assert item.decision == ReviewItem.Decision.PENDING


def test_table_view_of_deleted_account(client, session, team):
    name = delete_account_at(session, 1)
    client.force_login(team["manager"])

    url = reverse("audits:review-session-detail", args=[session.pk])
    html = client.get(url, {"view": "table"}).content.decode()

    assert f"{name} (deleted)" in html


def test_corrections_list_and_csv(client, session, team):
    name = delete_account_at(session, 1)
    client.force_login(team["manager"])

    listed = client.get(reverse("audits:review-correction-list"), {"q": name}).content.decode()
    export = client.get(reverse("audits:review-correction-export"))
    csv_text = b"".join(export.streaming_content).decode()

    assert f"{name} (deleted)" in listed
    assert f"{name} (deleted)" in csv_text


def test_trail_names_deleted_account(session, team):
    name = delete_account_at(session, 1)

    entries, _more = trail_page(TrailFilter(), page=1, page_size=50)

    correction = next(e for e in entries if e.model_label == "Corrected in manager review")
    assert correction.object_label == f"{name} (deleted)"
    assert correction.object_id == ""


def test_audit_finding_kept(client, make_user, scored, team, in_month, audit_month):
    account = scored(owner=team["rep_a"], scored_at=in_month, name="Gone Ltd")
    Account.objects.filter(pk=account.pk).update(verification_status="unverified")
    monthly_audit_run(month=audit_month)
    found = Violation.objects.filter(account=account).count()

    account.delete()

    remaining = Violation.objects.filter(deleted_account_name="Gone Ltd")
    assert found > 0
    assert remaining.count() == found
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    month = f"{audit_month:%Y-%m}"
    html = client.get(reverse("audits:audit-report", args=[month])).content.decode()
    export = client.get(reverse("audits:audit-report-export", args=[month]))
    assert "Gone Ltd (deleted)" in html
    assert "Gone Ltd (deleted)" in b"".join(export.streaming_content).decode()
