import importlib
import io

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from simple_history.models import HistoricalRecords

from accounts.models import Account, SegmentOverride
from accounts.research import account_segment_override, override_items
from accounts.selectors import account_history, account_workspace_queryset
from audits.history import Channel, change_channel
from segmentation.lifecycle import framework_approve, framework_draft_create, framework_submit
from segmentation.models import Framework, ScoreRecord
from segmentation.preview import framework_impact_preview, framework_preview_settings
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


NEW_TEMPLATE = "{industry} | {size_band} | {geography}"


@pytest.fixture
def overridden(active_framework, make_account, ops_user):
    """An account whose tag a person set under version 1's template, and one set freely."""
    accounts_segment()
    account = make_account("SaaS", employee_count=300, country="US", owner=ops_user)
    accounts_segment(account_ids=[account.pk])
    account_segment_override(
        account=account,
        user=ops_user,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="Enterprise deal in discovery",
        tag="saas - enterprise - us",
    )
    free = make_account("SaaS", employee_count=300, country="SG", tag_override="Key account")
    account.refresh_from_db()
    return account, free


@pytest.fixture
def new_template_draft(draft):
    Framework.objects.filter(pk=draft.pk).update(tag_template=NEW_TEMPLATE)
    draft.refresh_from_db()
    return draft


def test_approval_rewrites_tag_override(overridden, new_template_draft, ops_user, leader):
    account, free = overridden
    assert account.tag_override == "SaaS – Enterprise – US"
    framework_submit(framework=new_template_draft, user=ops_user, summary="Pipes in tags")

    approved = framework_approve(framework=new_template_draft, user=leader)

    account.refresh_from_db()
    free.refresh_from_db()
    rewrite = account.overrides.order_by("-created_at", "-id").first()
    plan = approved.tag_override_plan
    assert account.tag_override == "SaaS | Enterprise | US"
    # The approval's run writes the new tag, and counts the account as moved.
    assert account.tag == "SaaS – Enterprise – US"
    assert free.tag_override == "Key account"
    assert rewrite.old_tag == "SaaS – Enterprise – US"
    assert rewrite.new_tag == "SaaS | Enterprise | US"
    assert account.history.first().history_change_reason == (
        f"Tag override rewritten in the tag template of framework v{new_template_draft.version}"
    )
    assert len(plan.rewrites) == 1
    assert [item.account_id for item in plan.not_rewritten] == [free.pk]
    assert "'Key account' does not follow the old template" in plan.summary()


def test_rewrite_is_no_persons_change(overridden, new_template_draft, ops_user, leader):
    account, _free = overridden
    manual = account.overrides.get()
    framework_submit(framework=new_template_draft, user=ops_user, summary="Pipes in tags")

    # As in the admin: the history middleware offers the request's user to every save.
    request = RequestFactory().post("/admin/")
    request.user = leader
    HistoricalRecords.context.request = request
    try:
        with change_channel(Channel.ADMIN):
            framework_approve(framework=new_template_draft, user=leader)
    finally:
        del HistoricalRecords.context.request

    rewrite = account.overrides.order_by("-created_at", "-id").first()
    history = account.history.first()
    assert rewrite.kind == SegmentOverride.Kind.TEMPLATE_REWRITE
    assert rewrite.user is None
    assert rewrite.rewrite_of == manual
    # Neither user has a full name, so their usernames stand for them.
    assert f"framework v{new_template_draft.version}, approved by leader." in rewrite.reason
    assert "Set by ops on " in rewrite.reason
    assert "Enterprise deal in discovery" in rewrite.reason
    assert history.history_user is None
    assert not leader.segment_overrides.exists()


def test_rewritten_tag_keeps_its_author(overridden, new_template_draft, ops_user, leader):
    account, _free = overridden
    framework_submit(framework=new_template_draft, user=ops_user, summary="Pipes in tags")
    framework_approve(framework=new_template_draft, user=leader)
    account.refresh_from_db()

    items = override_items(account)
    entries = account_history(account_workspace_queryset(user=ops_user).get(pk=account.pk))

    rewrite_entry = next(entry for entry in entries if entry.kind == "override")
    assert items[0]["reason"] == (
        "Tag 'SaaS | Enterprise | US' set by ops: Enterprise deal in discovery"
    )
    assert rewrite_entry.title == "Rewritten in a new tag template"
    assert rewrite_entry.actor == ""


def test_rewritten_override_survives_run(overridden, new_template_draft, ops_user, leader):
    account, _free = overridden
    framework_submit(framework=new_template_draft, user=ops_user, summary="Pipes in tags")
    framework_approve(framework=new_template_draft, user=leader)

    accounts_segment()

    tags = set(Account.objects.exclude(tag="").values_list("tag", flat=True))
    account.refresh_from_db()
    assert account.tag == "SaaS | Enterprise | US"
    assert "SaaS – Enterprise – US" not in tags
    assert "SaaS – Mid-Market – US" not in tags


def _results() -> dict[int, tuple]:
    return {
        account_id: result
        for account_id, *result in Account.objects.values_list(
            "id", "score", "tier", "tag", "route", "size_band", "geography"
        )
    }


def test_preview_and_run_count_rewrites(overridden, new_template_draft, ops_user, leader):
    account, _free = overridden
    preview = framework_impact_preview(new_template_draft).summary
    before = _results()
    framework_submit(framework=new_template_draft, user=ops_user, summary="Pipes in tags")
    framework_approve(framework=new_template_draft, user=leader)

    run = accounts_segment()

    after = _results()
    changed = {account_id for account_id in after if after[account_id] != before[account_id]}
    account.refresh_from_db()
    assert account.tag == "SaaS | Enterprise | US"
    assert account.pk in changed
    assert preview.moved == len(changed)
    assert run.moved == len(changed)
    assert preview.tags_gained["SaaS | Enterprise | US"] == 1
    assert run.tags_gained["SaaS | Enterprise | US"] == 1
    assert preview.tags_lost["SaaS – Enterprise – US"] == 1
    assert run.tags_lost["SaaS – Enterprise – US"] == 1
    assert preview.tags_gained == run.tags_gained
    assert preview.tags_lost == run.tags_lost


def test_dry_run_counts_rewritten_override(overridden, new_template_draft):
    output = io.StringIO()
    call_command(
        "resegment", "--framework", str(new_template_draft.version), "--dry-run", stdout=output
    )
    assert "+1       -0       SaaS | Enterprise | US" in output.getvalue()


def test_same_template_rewrites_nothing(overridden, draft, ops_user, leader):
    account, _free = overridden
    framework_submit(framework=draft, user=ops_user, summary="Same tags")

    approved = framework_approve(framework=draft, user=leader)

    account.refresh_from_db()
    assert approved.tag_override_plan is None
    assert account.tag_override == "SaaS – Enterprise – US"


def test_template_with_tier_takes_account_tier(overridden, draft, ops_user, leader):
    account, _free = overridden
    Framework.objects.filter(pk=draft.pk).update(tag_template="{industry} – {size_band} | {tier}")
    draft.refresh_from_db()

    plan = framework_preview_settings(draft).override_rewrites

    assert [item.new_tag for item in plan.rewrites] == ["SaaS – Enterprise | High"]
    assert account.tier == "high"


TIER_TEMPLATE = "{industry} – {size_band} | {tier}"


@pytest.fixture
def tier_template_draft(draft):
    Framework.objects.filter(pk=draft.pk).update(tag_template=TIER_TEMPLATE)
    draft.refresh_from_db()
    return draft


def test_rewritten_tier_follows_tier_override(overridden, tier_template_draft, ops_user, leader):
    account, _free = overridden
    framework_submit(framework=tier_template_draft, user=ops_user, summary="Tier in tags")
    framework_approve(framework=tier_template_draft, user=leader)
    accounts_segment()
    Account.objects.filter(pk=account.pk).update(tier_override="low")

    accounts_segment()

    account.refresh_from_db()
    assert account.tag_override == "SaaS – Enterprise | High"
    assert account.tier == "low"
    assert account.tag == "SaaS – Enterprise | Low"


def test_rewritten_tier_follows_computed_tier(overridden, tier_template_draft, ops_user, leader):
    account, _free = overridden
    Framework.objects.filter(pk=tier_template_draft.pk).update(high_tier_min_score=100)
    tier_template_draft.refresh_from_db()
    preview = framework_impact_preview(tier_template_draft).summary
    framework_submit(framework=tier_template_draft, user=ops_user, summary="Tier in tags")
    framework_approve(framework=tier_template_draft, user=leader)

    run = accounts_segment()

    account.refresh_from_db()
    assert account.tier == "medium"
    assert account.tag == "SaaS – Enterprise | Medium"
    assert preview.tags_gained["SaaS – Enterprise | Medium"] == 1
    assert run.tags_gained["SaaS – Enterprise | Medium"] == 1
    assert "SaaS – Enterprise | High" not in run.tags_gained


def test_tag_override_tier_part_follows_tier(overridden, tier_template_draft, ops_user, leader):
    account, _free = overridden
    framework_submit(framework=tier_template_draft, user=ops_user, summary="Tier in tags")
    framework_approve(framework=tier_template_draft, user=leader)
    accounts_segment()
    account_segment_override(
        account=account,
        user=ops_user,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="Fintech arm of the group",
        tag="fintech - enterprise | high",
    )
    Account.objects.filter(pk=account.pk).update(tier_override="medium")

    accounts_segment()

    account.refresh_from_db()
    assert account.tag_override == "FinTech – Enterprise | High"
    assert account.tag == "FinTech – Enterprise | Medium"


def test_rewrite_replaces_stale_tier_part(overridden, tier_template_draft, ops_user, leader):
    account, _free = overridden
    framework_submit(framework=tier_template_draft, user=ops_user, summary="Tier in tags")
    framework_approve(framework=tier_template_draft, user=leader)
    accounts_segment()
    # The tier part names a tier that the account no longer has.
    Account.objects.filter(pk=account.pk).update(
        tag_override="SaaS – Enterprise | Low", tier_override="medium"
    )
    later = framework_draft_create(source=Framework.objects.get(version=2), user=ops_user)
    Framework.objects.filter(pk=later.pk).update(tag_template="{tier}: {industry} / {size_band}")
    later.refresh_from_db()

    plan = framework_preview_settings(later).override_rewrites

    assert account.pk not in [item.account_id for item in plan.not_rewritten]
    assert [item.new_tag for item in plan.rewrites] == ["Medium: SaaS / Enterprise"]


def test_preview_counts_override_rewrites(overridden, new_template_draft):
    plan = framework_preview_settings(new_template_draft).override_rewrites
    summary = plan.summary()
    assert "1 tag overrides set by people will be rewritten" in summary
    assert "and 1 cannot be and keep their spelling" in summary


def test_approval_summary_in_past_tense(overridden, new_template_draft, ops_user, leader):
    framework_submit(framework=new_template_draft, user=ops_user, summary="Pipes in tags")

    approved = framework_approve(framework=new_template_draft, user=leader)

    summary = approved.tag_override_plan.summary(done=True)
    assert "1 tag overrides set by people were rewritten" in summary
    assert "and 1 could not be and keep their spelling" in summary


def test_dry_run_prints_override_rewrites(overridden, new_template_draft):
    output = io.StringIO()
    call_command(
        "resegment", "--framework", str(new_template_draft.version), "--dry-run", stdout=output
    )
    assert "1 tag overrides set by people will be rewritten" in output.getvalue()


def test_preview_page_shows_override_rewrites(client, overridden, new_template_draft, ops_user):
    client.force_login(ops_user)
    url = reverse("segmentation:framework-preview", args=[new_template_draft.version])
    text = client.get(url).content.decode()
    assert 'data-testid="preview-override-rewrites"' in text
    assert "will be rewritten in the new template" in text


def test_migration_repairs_old_rewrites(overridden, leader):
    account, _free = overridden
    manual = account.overrides.get()
    old = SegmentOverride.objects.create(
        account=account,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        old_tag="SaaS – Enterprise – US",
        new_tag="SaaS | Enterprise | US",
        reason="Tag template changed to '{industry} | {size_band} | {geography}' by the "
        "approval of framework v2, so the tag set by a person is written in it. Set by ops.",
        user=leader,
    )
    Account.objects.filter(pk=account.pk).update(tag_override="SaaS | Enterprise | US")
    account.refresh_from_db()
    account._change_reason = "Tag override rewritten in the tag template of framework v2"
    account._history_user = leader
    account.save()
    repair = importlib.import_module("accounts.migrations.0028_template_rewrites_without_user")

    repair.forwards(django_apps, None)

    old.refresh_from_db()
    manual.refresh_from_db()
    assert old.kind == SegmentOverride.Kind.TEMPLATE_REWRITE
    assert old.user is None
    assert old.rewrite_of == manual
    assert manual.user is not None
    assert account.history.first().history_user is None
