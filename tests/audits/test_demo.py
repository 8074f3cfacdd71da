"""plant_demo_violations against the monthly audit on a small factory-made demo set."""

from collections import Counter

import pytest

from accounts import roles
from accounts.models import Account, SegmentOverride
from audits import rules
from audits.demo import plant_demo_violations
from audits.models import ReviewItem, ReviewSession, TrainingRecord, Violation, ViolationKind
from audits.periods import local_today, month_period
from audits.selectors import overdue_training, session_accuracy
from audits.services import monthly_audit_run
from tests.factories import AccountFactory


@pytest.fixture
def demo_data(make_user, saas, framework):
    make_user(roles.SALES_MANAGER, username="manager")
    reps = [make_user(roles.SDR, username=f"demo-sdr{n}") for n in range(3)]
    accounts = [
        AccountFactory(source="demo", owner=reps[n % 3], industry=saas, tag="x", tier="low")
        for n in range(12)
    ]
    return {"reps": reps, "accounts": accounts}


@pytest.fixture
def planted(demo_data, audit_month):
    return plant_demo_violations(month=audit_month)


def test_audit_finds_planted_counts(planted, audit_month):
    run = monthly_audit_run(month=audit_month)
    found = Counter(Violation.objects.filter(audit_run=run).values_list("kind", flat=True))
    for kind in ViolationKind.values:
        assert found[kind] == planted[kind], kind


def test_every_kind_planted(planted):
    for kind in ViolationKind.values:
        assert planted[kind] >= 1, kind


def test_every_rule_planted(planted, audit_month):
    run = monthly_audit_run(month=audit_month)
    codes = set(Violation.objects.filter(audit_run=run).values_list("rule_code", flat=True))
    assert codes == set(rules.RULES)


def test_untouched_demo_accounts_clean(planted, demo_data, audit_month):
    run = monthly_audit_run(month=audit_month)
    flagged = set(Violation.objects.filter(audit_run=run).values_list("account_id", flat=True))
    untouched = {account.pk for account in demo_data["accounts"][10:]}
    assert flagged.isdisjoint(untouched)


def test_planted_review_has_both_decisions(planted):
    decisions = set(ReviewItem.objects.values_list("decision", flat=True))
    assert decisions == {"confirmed", "corrected"}


def test_planted_corrections_match_accuracy(planted, audit_month):
    """The audit blames a correction on the rep whom the session's accuracy counts."""
    run = monthly_audit_run(month=audit_month)
    accuracy = session_accuracy(ReviewSession.objects.get())
    review = Violation.objects.get(audit_run=run, rule_code=rules.MISCLASSIFIED_REVIEW)
    framework = Violation.objects.get(audit_run=run, rule_code=rules.MISCLASSIFIED_FRAMEWORK_TAG)
    assert {row.rep_id for row in accuracy if row.corrected} == {review.responsible_id}
    assert sum(row.framework_corrected for row in accuracy) == 1
    assert framework.responsible_id is None


def test_planted_training_overdue(planted, demo_data):
    overdue = {row.user_id: row.kind for row in overdue_training(None, today=local_today())}
    reps = demo_data["reps"]
    assert planted["training_records"] == TrainingRecord.objects.count()
    assert planted["overdue_training"] == 2
    assert reps[0].pk not in overdue
    assert overdue[reps[1].pk] == "refresher"
    assert overdue[reps[2].pk] == "onboarding"


def test_planted_training_overdue_in_audited_month(planted, demo_data, audit_month):
    last_day = month_period(audit_month).last_day
    overdue = {row.user_id: row.kind for row in overdue_training(None, today=last_day)}
    assert overdue[demo_data["reps"][1].pk] == "refresher"


def test_unfinished_month_rejected(demo_data):
    with pytest.raises(ValueError, match="has not finished"):
        plant_demo_violations(month=local_today())


def test_too_few_accounts_rejected(make_user, framework, audit_month):
    make_user(roles.SALES_MANAGER, username="manager")
    with pytest.raises(ValueError, match="planting needs 10"):
        plant_demo_violations(month=audit_month)


def test_planted_statuses_have_sources(planted, demo_data):
    clean, _worked, single, conflicting = (
        Account.objects.get(pk=account.pk) for account in demo_data["accounts"][:4]
    )
    industry = conflicting.field_status["industry"]

    for name in ("industry", "company_size", "country"):
        assert clean.field_status[name]["sources"] == ["apollo", "demo"], name
    assert single.field_status["company_size"]["sources"] == ["demo"]
    assert industry["status"] == "conflicting"
    assert len(set(industry["values"].values())) == 2


def test_planted_records_match_accounts(planted, demo_data, audit_month):
    period = month_period(audit_month)
    for planted_account in demo_data["accounts"][:10]:
        account = Account.objects.get(pk=planted_account.pk)
        latest = account.score_records.order_by("-created_at", "-id").first()
        assert latest is not None, account.pk
        assert period.start <= latest.created_at < period.end, account.pk
        assert latest.score == account.score, account.pk
        assert latest.tier == account.tier, account.pk
        assert latest.tag == account.tag, account.pk


def test_planted_tags_set_by_rep(planted, demo_data):
    for planted_account in demo_data["accounts"][3:5]:
        account = Account.objects.get(pk=planted_account.pk)
        override = SegmentOverride.objects.get(account=account)
        assert override.kind == SegmentOverride.Kind.MANUAL_TAG
        assert override.user_id == account.owner_id
        assert account.tag_override == account.tag


def test_planted_enrichment_cases_unrouted(planted):
    """The accounts tagged by hand while a field conflicts or is missing get no route."""
    needing = Account.objects.filter(source="demo", needs_enrichment=True)
    tagged_by_hand = needing.exclude(tag_override="")
    assert tagged_by_hand.count() == 2
    assert list(needing.exclude(route="").values_list("pk", flat=True)) == []
