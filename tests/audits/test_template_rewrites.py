"""The monthly audit after an approval rewrote people's tags in a new tag template."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import roles
from accounts.models import Account, SegmentOverride
from accounts.research import account_segment_override
from audits import rules, selectors
from audits.models import ReviewItem, Violation
from audits.periods import local_today, month_period
from audits.services import monthly_audit_run, review_item_correct, review_session_create
from segmentation.lifecycle import framework_approve, framework_draft_create, framework_submit
from segmentation.models import Framework
from segmentation.services import accounts_segment

NEW_TEMPLATE = "{industry} | {size_band} | {geography}"


@pytest.fixture
def approve_new_template(framework, make_user):
    """Return a function that approves a copy of version 1 with NEW_TEMPLATE as its tags."""
    ops = make_user(roles.SALES_OPS, username="opal")
    leader = make_user(roles.SALES_LEADERSHIP, username="lena", first_name="Lena")

    def approve() -> Framework:
        draft = framework_draft_create(source=framework, user=ops)
        Framework.objects.filter(pk=draft.pk).update(tag_template=NEW_TEMPLATE)
        draft.refresh_from_db()
        framework_submit(framework=draft, user=ops, summary="Pipes in tags")
        approved = framework_approve(framework=draft, user=leader)
        # The approval's run, which the approval queues after its commit.
        accounts_segment()
        return approved

    approve.leader = leader
    return approve


def unverified_country(account: Account) -> None:
    statuses = dict(account.field_status, country={"status": "single_source"})
    Account.objects.filter(pk=account.pk).update(
        field_status=statuses, verification_status="unverified"
    )


def test_tag_setter_stays_responsible(scored, team, approve_new_template):
    this_month = local_today().replace(day=1)
    account = scored(owner=team["rep_a"], scored_at=timezone.now())
    unverified_country(account)
    account_segment_override(
        account=account,
        user=team["rep_b"],
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="From the website",
        tag="SaaS – Enterprise – US",
    )
    approve_new_template()

    run = monthly_audit_run(month=this_month)

    account.refresh_from_db()
    skipped = Violation.objects.get(audit_run=run, rule_code=rules.SKIPPED_VERIFICATION)
    assert account.tag == "SaaS | Enterprise | US"
    assert skipped.responsible == team["rep_b"]
    assert skipped.detail.startswith("Ben set the segment")
    assert not Violation.objects.filter(responsible=approve_new_template.leader).exists()


def test_rewrite_alone_leaves_account_inactive(scored, team, approve_new_template):
    this_month = local_today().replace(day=1)
    before = month_period(this_month).start - timedelta(days=3)
    account = scored(owner=team["rep_a"], scored_at=before)
    override = account_segment_override(
        account=account,
        user=team["rep_b"],
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="From the website",
        tag="SaaS – Enterprise – US",
    )
    SegmentOverride.objects.filter(pk=override.pk).update(created_at=before)
    Account.history.filter(id=account.pk, history_date__gt=before).update(history_date=before)
    account.score_records.update(created_at=before)
    approve_new_template()

    run = monthly_audit_run(month=this_month)

    assert run.accounts_checked == 0
    assert not Violation.objects.filter(audit_run=run).exists()


def test_review_accuracy_ignores_rewrite(scored, team, approve_new_template):
    period = month_period(local_today())
    account = scored(owner=team["rep_a"], scored_at=timezone.now())
    # The rep set the tag by hand, so the correction counts against the rep.
    hand_tag = SegmentOverride.objects.create(
        account=account,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        new_tag=account.tag,
        reason="Tagged by hand",
        user=team["rep_a"],
        rep=team["rep_a"],
    )
    SegmentOverride.objects.filter(pk=hand_tag.pk).update(
        created_at=timezone.now() - timedelta(minutes=1)
    )
    session = review_session_create(
        manager=team["manager"], rep_ids=[team["rep_a"].pk], period=period
    )
    item = session.items.get()
    review_item_correct(
        item=item, user=team["manager"], reason="Enterprise account", tag="SaaS – Enterprise – US"
    )
    approve_new_template()

    accuracy = selectors.session_accuracy(session)
    corrections = selectors.review_corrections(team["manager"])
    run = monthly_audit_run(month=period.first_day)

    account.refresh_from_db()
    misclassified = Violation.objects.get(audit_run=run, rule_code=rules.MISCLASSIFIED_REVIEW)
    assert account.tag == "SaaS | Enterprise | US"
    assert [(row.rep_id, row.corrected, row.confirmed) for row in accuracy] == [
        (team["rep_a"].pk, 1, 0)
    ]
    assert [correction.user for correction in corrections] == [team["manager"]]
    assert ReviewItem.objects.get(pk=item.pk).override.user == team["manager"]
    assert misclassified.responsible == team["rep_a"]
    assert misclassified.detail.startswith("Morgan corrected")
