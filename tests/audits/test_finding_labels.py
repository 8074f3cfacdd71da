"""Finding details name fields by the labels people see, not by their keys."""

import pytest

from accounts.models import Account, SegmentOverride
from accounts.research import account_segment_override
from audits import rules
from audits.models import Violation

from .test_audit_rules import backdate, findings, publish_note


@pytest.fixture
def unverified(scored, team, in_month):
    """An account worked this month whose three mandatory fields have one source each."""
    account = scored(owner=team["rep_a"], scored_at=in_month)
    publish_note(account, in_month)
    single = {"status": "single_source"}
    statuses = dict(account.field_status, industry=single, company_size=single, country=single)
    Account.objects.filter(pk=account.pk).update(
        field_status=statuses, verification_status="unverified"
    )
    account.refresh_from_db()
    return account


def test_skipped_step_names_field_labels(unverified, team, audit_month, in_month):
    override = account_segment_override(
        account=unverified,
        user=team["rep_b"],
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="From the website",
        tag="SaaS – Enterprise – US",
    )
    backdate(override, in_month)

    findings(audit_month)

    detail = Violation.objects.get(rule_code=rules.SKIPPED_VERIFICATION).detail
    assert detail == (
        f"{team['rep_b'].get_full_name()} set the segment while these fields were unverified: "
        "industry (single source), company size (single source), country (single source)."
    )
    assert "company_size" not in detail
