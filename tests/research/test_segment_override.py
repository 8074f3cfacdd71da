import pytest
from django.core.exceptions import ValidationError

from accounts.models import SegmentOverride
from accounts.research import account_segment_override
from segmentation.models import Framework, ScoreRecord
from tests.factories import AccountFactory


@pytest.fixture
def scored_account(db, sdr):
    framework = Framework.objects.get(status="approved")
    return AccountFactory(
        owner=sdr,
        framework=framework,
        tag="SaaS – SMB – US",
        tier="medium",
        score=55,
        route="",
    )


def test_override_sets_tag_tier_and_route(scored_account, manager):
    account_segment_override(
        account=scored_account,
        user=manager,
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="Customer confirmed 600 staff",
        tag="SaaS – Mid-Market – US",
        tier="high",
    )
    scored_account.refresh_from_db()
    assert scored_account.tag == "SaaS – Mid-Market – US"
    assert scored_account.tier == "high"
    assert scored_account.tag_override == "SaaS – Mid-Market – US"
    assert scored_account.route == scored_account.framework.high_tier_route


def test_override_records_rep_and_reason(scored_account, manager, sdr):
    override = account_segment_override(
        account=scored_account,
        user=manager,
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="Wrong industry",
        tag="FinTech – SMB – US",
    )
    assert override.rep == sdr
    assert override.old_tag == "SaaS – SMB – US"
    assert override.new_tag == "FinTech – SMB – US"
    assert override.reason == "Wrong industry"


def test_override_appends_score_record(scored_account, manager):
    account_segment_override(
        account=scored_account,
        user=manager,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="Research",
        tier="low",
    )
    record = ScoreRecord.objects.get(account=scored_account)
    assert record.tier == "low"
    assert record.explanation[-1]["outcome"] == "override"


def test_tier_change_leaves_tag_to_framework(scored_account, manager):
    account_segment_override(
        account=scored_account,
        user=manager,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="Budget confirmed",
        tier="high",
    )

    scored_account.refresh_from_db()
    assert scored_account.tier_override == "high"
    assert scored_account.tag_override == ""
    assert scored_account.tag == "SaaS – SMB – US"


def test_confirmation_changes_nothing(scored_account, manager):
    account_segment_override(
        account=scored_account,
        user=manager,
        kind=SegmentOverride.Kind.REVIEW_CONFIRMATION,
        reason="Looks right",
    )
    scored_account.refresh_from_db()
    assert scored_account.tag_override == ""
    assert not ScoreRecord.objects.filter(account=scored_account).exists()
    assert SegmentOverride.objects.filter(account=scored_account).count() == 1


def test_override_requires_reason(scored_account, manager):
    with pytest.raises(ValidationError, match="reason is required"):
        account_segment_override(
            account=scored_account,
            user=manager,
            kind=SegmentOverride.Kind.MANUAL_TAG,
            reason="  ",
            tag="X",
        )


def test_override_rejects_unknown_tier(scored_account, manager):
    with pytest.raises(ValidationError, match="not valid"):
        account_segment_override(
            account=scored_account,
            user=manager,
            kind=SegmentOverride.Kind.MANUAL_TAG,
            reason="r",
            tier="top",
        )


def test_override_reason_crlf_stored_as_lf(scored_account, manager):
    override = account_segment_override(
        account=scored_account,
        user=manager,
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="line\r\n" * 100,
        tier="high",
    )
    assert override.reason == "line\n" * 99 + "line"


def test_override_reason_over_limit_rejected(scored_account, manager):
    with pytest.raises(ValidationError) as raised:
        account_segment_override(
            account=scored_account,
            user=manager,
            kind=SegmentOverride.Kind.REVIEW_CORRECTION,
            reason="🚀" * 501,
            tier="high",
        )
    assert raised.value.message_dict["reason"] == [
        "The reason is 501 characters long, more than the 500 allowed: shorten it."
    ]
    assert not SegmentOverride.objects.exists()
