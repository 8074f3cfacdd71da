from accounts.models import Account
from segmentation.models import ScoreRecord
from segmentation.services import accounts_segment


def test_tier_override_kept(active_framework, make_account):
    account = make_account("FinTech", employee_count=300, country="SG", tier_override="low")
    accounts_segment()
    account.refresh_from_db()
    record = ScoreRecord.objects.get(account=account)
    assert account.tier == "low"
    assert account.route == "Nurture"
    assert account.score == 94
    assert record.tier == "low"
    assert record.score == 94
    assert record.explanation[-1]["outcome"] == "override"
    assert "the framework computed 'high'" in record.explanation[-1]["reason"]


def test_tag_override_kept(active_framework, make_account):
    account = make_account("SaaS", employee_count=300, country="SG", tag_override="Key account")
    accounts_segment()
    account.refresh_from_db()
    record = ScoreRecord.objects.get(account=account)
    assert account.tag == "Key account"
    assert account.tier == "high"
    assert account.route == "Outbound"
    assert record.tag == "Key account"
    assert "'SaaS – Mid-Market – APAC'" in record.explanation[-1]["reason"]


def test_route_follows_override_tier(active_framework, make_account):
    account = make_account("Education", employee_count=20, country="BR", tier_override="high")
    accounts_segment()
    account.refresh_from_db()
    assert account.tier == "high"
    assert account.route == "Outbound"


def test_cleared_override_recomputed(active_framework, make_account):
    account = make_account("FinTech", employee_count=300, country="SG", tier_override="low")
    accounts_segment()
    Account.objects.filter(pk=account.pk).update(tier_override="")
    summary = accounts_segment()
    account.refresh_from_db()
    assert summary.moved == 1
    assert account.tier == "high"
    assert account.route == "Outbound"
    assert ScoreRecord.objects.filter(account=account).count() == 2


def test_override_rerun_unchanged(active_framework, make_account):
    make_account("FinTech", employee_count=300, country="SG", tier_override="low")
    accounts_segment()
    summary = accounts_segment()
    assert summary.moved == 0
    assert summary.recorded == 0


def test_stale_tag_replaced(active_framework, make_account):
    account = make_account("SaaS", employee_count=300, country="SG")
    Account.objects.filter(pk=account.pk).update(tag="Old tag", tier="low", route="Nurture")
    accounts_segment()
    account.refresh_from_db()
    assert account.tag == "SaaS – Mid-Market – APAC"
    assert account.tier == "high"
    assert account.route == "Outbound"
