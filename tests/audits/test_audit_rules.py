"""Each rule of the monthly audit on small hand-made cases."""

from datetime import timedelta

import pytest

from accounts import roles
from accounts.models import Account, ResearchNote, SegmentOverride
from accounts.research import account_segment_override
from accounts.services import accounts_import
from audits import rules
from audits.history import Channel, change_channel
from audits.models import AuditRun, Violation
from audits.periods import local_today
from audits.services import monthly_audit_run
from segmentation.models import ScoreRecord, SegmentationRun
from tests.datasets import require_datasets_dir


def findings(month) -> set[tuple[int, str]]:
    run = monthly_audit_run(month=month)
    return set(Violation.objects.filter(audit_run=run).values_list("account_id", "rule_code"))


def backdate(override: SegmentOverride, when) -> None:
    """Date the override and the account change it made at ``when``.

    An audit reads the account's values at the month's end, so the history row, the
    score record and ``updated_at`` of the change move with the override.
    """
    SegmentOverride.objects.filter(pk=override.pk).update(created_at=when)
    account_id = override.account_id
    Account.history.filter(id=account_id, history_date__gt=when).update(history_date=when)
    ScoreRecord.objects.filter(account_id=account_id, created_at__gt=when).update(created_at=when)
    Account.objects.filter(pk=account_id).update(updated_at=when)


def publish_note(account: Account, when) -> None:
    note = ResearchNote.objects.create(account=account, text="Hiring SDRs", author=account.owner)
    ResearchNote.objects.filter(pk=note.pk).update(created_at=when)


@pytest.fixture
def clean(scored, team, in_month):
    account = scored(owner=team["rep_a"], scored_at=in_month)
    publish_note(account, in_month)
    return account


def test_clean_account_has_no_finding(clean, audit_month):
    assert findings(audit_month) == set()


def test_clean_account_is_checked(clean, audit_month):
    run = monthly_audit_run(month=audit_month)
    assert run.accounts_checked == 1
    assert run.status == AuditRun.Status.SUCCEEDED


def test_inactive_account_is_skipped(scored, team, in_month, audit_month):
    account = scored(owner=team["rep_a"], scored_at=in_month - timedelta(days=45))
    Account.objects.filter(pk=account.pk).update(verification_status="unverified")
    assert findings(audit_month) == set()


@pytest.mark.parametrize(
    ("kind", "active"),
    [("approval", False), ("quarterly", False), ("import", False), ("accounts", True)],
)
def test_rescored_account_active_by_run_kind(
    scored, team, in_month, audit_month, framework, kind, active
):
    account = scored(owner=team["rep_a"], scored_at=in_month)
    Account.objects.filter(pk=account.pk).update(verification_status="unverified")
    run = SegmentationRun.objects.create(framework=framework, kind=kind)
    record = ScoreRecord.objects.create(account=account, framework=framework, run=run)
    ScoreRecord.objects.filter(pk=record.pk).update(created_at=in_month)

    found = findings(audit_month)

    assert ((account.pk, rules.UNVERIFIED_NOT_VERIFIED) in found) is active


def test_worked_account_missing_industry(clean, audit_month):
    Account.objects.filter(pk=clean.pk).update(industry=None, tag="", tier="")
    assert findings(audit_month) == {(clean.pk, rules.INCOMPLETE_WORKED)}


def test_tagged_account_missing_size(clean, audit_month):
    Account.objects.filter(pk=clean.pk).update(
        employee_count=None, employee_min=None, employee_max=None
    )
    found = findings(audit_month)
    assert (clean.pk, rules.INCOMPLETE_TAGGED) in found


def test_unverified_tagged_account(clean, audit_month):
    Account.objects.filter(pk=clean.pk).update(verification_status="unverified")
    assert findings(audit_month) == {(clean.pk, rules.UNVERIFIED_NOT_VERIFIED)}


def test_conflicting_tagged_account(clean, audit_month):
    Account.objects.filter(pk=clean.pk).update(verification_status="conflicting")
    assert findings(audit_month) == {(clean.pk, rules.UNVERIFIED_CONFLICTING)}


def test_tag_differs_from_framework(clean, audit_month):
    expected = Account.objects.get(pk=clean.pk).tag
    Account.objects.filter(pk=clean.pk).update(tag="FinTech – SMB – EMEA")
    found = findings(audit_month)
    violation = Violation.objects.get(rule_code=rules.MISCLASSIFIED_FRAMEWORK)
    assert found == {(clean.pk, rules.MISCLASSIFIED_FRAMEWORK)}
    assert violation.detail.startswith(
        f"Tag “FinTech – SMB – EMEA” differs from “{expected}”, which framework v"
    )


def test_tier_differs_from_framework(clean, audit_month):
    Account.objects.filter(pk=clean.pk).update(tier="low")
    found = findings(audit_month)
    violation = Violation.objects.get(rule_code=rules.MISCLASSIFIED_FRAMEWORK)
    assert found == {(clean.pk, rules.MISCLASSIFIED_FRAMEWORK)}
    assert "Tier Low differs from High" in violation.detail


def test_other_framework_version_not_compared(clean, audit_month, framework):
    from segmentation.models import Framework

    older = Framework.objects.create(version=2, name="Retired", status="retired")
    Account.objects.filter(pk=clean.pk).update(tag="FinTech – SMB – EMEA", framework=older)
    assert findings(audit_month) == set()


def set_tag_by_hand(account, user, when) -> None:
    """Record ``user``'s manual tag of the account at ``when``."""
    override = account_segment_override(
        account=account,
        user=user,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="From the website",
        tag="SaaS – Enterprise – US",
    )
    backdate(override, when)


def correct_in_review(account, manager, when) -> None:
    override = account_segment_override(
        account=account,
        user=manager,
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="Only 40 staff",
        tag="SaaS – SMB – US",
        tier="low",
    )
    backdate(override, when)


def test_correction_of_hand_tag_blames_sdr(clean, team, audit_month, in_month):
    set_tag_by_hand(clean, team["rep_a"], in_month - timedelta(hours=1))
    correct_in_review(clean, team["manager"], in_month)
    found = findings(audit_month)
    violation = Violation.objects.get()
    assert found == {(clean.pk, rules.MISCLASSIFIED_REVIEW)}
    assert violation.responsible == team["rep_a"]
    assert violation.detail.startswith("Morgan corrected tag “SaaS – Enterprise – US”")
    assert "Only 40 staff" in violation.detail


def test_correction_of_framework_tag_blames_nobody(clean, team, audit_month, in_month, framework):
    correct_in_review(clean, team["manager"], in_month)
    found = findings(audit_month)
    violation = Violation.objects.get()
    assert found == {(clean.pk, rules.MISCLASSIFIED_FRAMEWORK_TAG)}
    assert violation.responsible is None
    assert violation.kind == "misclassification"
    assert violation.detail.startswith(
        f"Framework v{framework.version} computed the corrected segment. Morgan corrected"
    )
    assert "Only 40 staff" in violation.detail


def test_correction_blames_last_tag_setter(clean, team, audit_month, in_month):
    set_tag_by_hand(clean, team["rep_a"], in_month - timedelta(hours=2))
    set_tag_by_hand(clean, team["rep_b"], in_month - timedelta(hours=1))
    correct_in_review(clean, team["manager"], in_month)
    findings(audit_month)
    violation = Violation.objects.get(rule_code=rules.MISCLASSIFIED_REVIEW)
    assert clean.owner == team["rep_a"]
    assert violation.responsible == team["rep_b"]


def test_correction_of_template_rewrite_blames_setter(clean, team, audit_month, in_month):
    """A template rewrite has no author, so the tag stays the rewritten change's author's."""
    set_tag_by_hand(clean, team["rep_b"], in_month - timedelta(hours=2))
    hand_tag = SegmentOverride.objects.get(kind=SegmentOverride.Kind.MANUAL_TAG)
    rewrite = SegmentOverride.objects.create(
        account=clean,
        kind=SegmentOverride.Kind.TEMPLATE_REWRITE,
        old_tag=hand_tag.new_tag,
        new_tag=hand_tag.new_tag,
        reason="Rewritten in the tag template of a new version",
        rewrite_of=hand_tag,
    )
    SegmentOverride.objects.filter(pk=rewrite.pk).update(created_at=in_month - timedelta(hours=1))
    correct_in_review(clean, team["manager"], in_month)
    findings(audit_month)
    violation = Violation.objects.get(rule_code=rules.MISCLASSIFIED_REVIEW)
    assert clean.owner == team["rep_a"]
    assert violation.responsible == team["rep_b"]


def test_correction_in_other_month_ignored(clean, team, audit_month, in_month):
    override = account_segment_override(
        account=clean,
        user=team["manager"],
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="Only 40 staff",
        tier="low",
    )
    backdate(override, in_month - timedelta(days=45))
    assert findings(audit_month) == set()


def test_manual_tag_before_verification(clean, team, audit_month, in_month):
    statuses = dict(clean.field_status, country={"status": "single_source"})
    Account.objects.filter(pk=clean.pk).update(
        field_status=statuses, verification_status="unverified"
    )
    override = account_segment_override(
        account=clean,
        user=team["rep_b"],
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="From the website",
        tag="SaaS – Enterprise – US",
    )
    backdate(override, in_month)
    found = findings(audit_month)
    skipped = Violation.objects.get(rule_code=rules.SKIPPED_VERIFICATION)
    mismatch = Violation.objects.get(rule_code=rules.MISCLASSIFIED_FRAMEWORK)
    assert found == {
        (clean.pk, rules.SKIPPED_VERIFICATION),
        (clean.pk, rules.UNVERIFIED_NOT_VERIFIED),
        (clean.pk, rules.MISCLASSIFIED_FRAMEWORK),
    }
    assert skipped.responsible == team["rep_b"]
    assert mismatch.responsible == team["rep_b"]
    assert skipped.detail == (
        f"{team['rep_b'].get_full_name()} set the segment while these fields were unverified: "
        "country (single source)."
    )


def test_fit_validation_not_compared(clean, team, audit_month, in_month):
    override = account_segment_override(
        account=clean,
        user=team["rep_a"],
        kind=SegmentOverride.Kind.FIT_VALIDATION,
        reason="Discovery",
        tier="medium",
    )
    backdate(override, in_month)
    assert findings(audit_month) == set()


def test_high_fit_without_note(scored, team, in_month, audit_month):
    account = scored(owner=team["rep_a"], scored_at=in_month)
    assert account.tier == "high"
    assert findings(audit_month) == {(account.pk, rules.SKIPPED_RESEARCH)}


def test_proposed_note_does_not_count(scored, team, in_month, audit_month):
    account = scored(owner=team["rep_a"], scored_at=in_month)
    ResearchNote.objects.create(account=account, text="Maybe", status="proposed")
    assert findings(audit_month) == {(account.pk, rules.SKIPPED_RESEARCH)}


def test_severity_from_rule(clean, audit_month):
    from audits.models import SeverityRule

    SeverityRule.objects.filter(rule_code=rules.UNVERIFIED_NOT_VERIFIED).update(severity="severe")
    Account.objects.filter(pk=clean.pk).update(verification_status="unverified")
    monthly_audit_run(month=audit_month)
    assert Violation.objects.get().severity == "severe"


def test_default_consequence_from_rule(clean, team, audit_month, in_month):
    set_tag_by_hand(clean, team["rep_a"], in_month - timedelta(hours=1))
    correct_in_review(clean, team["manager"], in_month)
    monthly_audit_run(month=audit_month)
    assert Violation.objects.get().consequence == "coaching"


def test_framework_tag_correction_has_no_consequence(clean, team, audit_month, in_month):
    correct_in_review(clean, team["manager"], in_month)
    monthly_audit_run(month=audit_month)
    violation = Violation.objects.get()
    assert violation.severity == "moderate"
    assert violation.consequence == "none"


def test_no_framework_skips_comparison(clean, audit_month, framework):
    Account.objects.filter(pk=clean.pk).update(tag="FinTech – SMB – EMEA")
    # No version was ever approved.
    framework.status = "draft"
    framework.approved_at = None
    framework.save()
    run = monthly_audit_run(month=audit_month)
    assert findings(audit_month) == set()
    assert run.counts["framework_version"] is None


def test_query_count_independent_of_accounts(
    scored, team, in_month, audit_month, django_assert_max_num_queries
):
    for _ in range(3):
        scored(owner=team["rep_a"], scored_at=in_month)
    monthly_audit_run(month=audit_month)
    for _ in range(12):
        scored(owner=team["rep_b"], scored_at=in_month)
    with django_assert_max_num_queries(40) as captured:
        monthly_audit_run(month=audit_month)
    small = len(captured.captured_queries)
    for _ in range(20):
        scored(owner=team["rep_b"], scored_at=in_month)
    with django_assert_max_num_queries(small) as captured:
        monthly_audit_run(month=audit_month)


def test_assigned_owner_not_blamed_for_missing_field(
    scored, team, in_month, audit_month, make_user
):
    ops = make_user(roles.SALES_OPS, username="opal")
    account = scored(owner=None, scored_at=in_month - timedelta(days=45))
    Account.objects.filter(pk=account.pk).update(industry=None, tag="", tier="")
    account.refresh_from_db()
    account.owner = team["rep_a"]
    account._history_user = ops
    with change_channel(Channel.PAGE):
        account.save()
    account.history.filter(history_user=ops).update(history_date=in_month)

    assert findings(audit_month) == set()


def test_other_reps_note_does_not_blame_owner(clean, team, audit_month):
    ResearchNote.objects.filter(account=clean).update(author=team["rep_b"])
    Account.objects.filter(pk=clean.pk).update(industry=None, tag="", tier="")
    assert findings(audit_month) == set()


IMPORTED_CSV = """name,domain,industry,employees,country
Orbit Ledger,orbitledger.example,SaaS,300,SG
Harbor Freight Data,harborfreight.example,SaaS,450,US
"""


@pytest.fixture
def imported(tmp_path, framework, team) -> list[Account]:
    """Accounts created this month by an import, scored and tagged while single-source."""
    path = tmp_path / "accounts.csv"
    path.write_text(IMPORTED_CSV)
    accounts_import(path, source="hubspot", created_by=team["rep_a"])
    accounts = list(Account.objects.order_by("name"))
    assert [account.verification_status for account in accounts] == ["unverified"] * 2
    assert all(account.tag for account in accounts)
    return accounts


def test_imported_accounts_not_active(imported):
    assert findings(local_today().replace(day=1)) == set()


def test_imported_account_worked_by_person(imported, team):
    account = imported[0]
    with change_channel(Channel.PAGE):
        account._history_user = team["rep_a"]
        account.city = "Singapore"
        account.save()

    found = findings(local_today().replace(day=1))

    assert {account_id for account_id, _rule in found} == {account.pk}
    assert (account.pk, rules.UNVERIFIED_NOT_VERIFIED) in found


@pytest.mark.shared_data
def test_public_dataset_import_leaves_month_quiet(framework):
    # Most S&P 500 rows are single-source once imported, and all are tagged.
    accounts_import(require_datasets_dir() / "sp500-companies" / "constituents.csv")
    assert Account.objects.filter(verification_status="unverified").count() > 400

    run = monthly_audit_run(month=local_today().replace(day=1))

    assert (run.accounts_checked, run.violations_found) == (0, 0)
