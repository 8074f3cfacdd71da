from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Account
from segmentation.engine import ROW_FIELDS
from segmentation.lifecycle import framework_approve, framework_submit
from segmentation.models import Criterion, ScoreRecord, SegmentationRun
from segmentation.preview import (
    TopMovers,
    explanation_pairs,
    framework_impact_preview,
    framework_preview_settings,
)
from segmentation.services import accounts_segment


@pytest.fixture
def scored_accounts(active_framework, make_account):
    """Six accounts scored with version 1: two FinTech, two SaaS, one Retail, one unknown."""
    accounts = [
        make_account("FinTech", employee_count=300, country="SG"),
        make_account("FinTech", employee_count=5000, country="US"),
        make_account("SaaS", employee_count=300, country="DE"),
        make_account("SaaS", employee_count=20, country="US"),
        make_account("Retail & E-commerce", employee_count=300, country="US"),
        make_account(None, employee_count=300, country="US"),
    ]
    accounts_segment()
    return accounts


@pytest.fixture
def no_fintech(draft):
    """The draft with FinTech removed from the target industries."""
    draft.criteria.filter(dimension="industry").update(values=["SaaS", "HealthTech"])
    return draft


def test_preview_writes_nothing(scored_accounts, no_fintech):
    records = ScoreRecord.objects.count()
    runs = SegmentationRun.objects.count()
    before = list(Account.objects.order_by("id").values_list("tier", "tag", "score"))
    framework_impact_preview(no_fintech)
    assert ScoreRecord.objects.count() == records
    assert SegmentationRun.objects.count() == runs
    assert list(Account.objects.order_by("id").values_list("tier", "tag", "score")) == before


def test_preview_counts_fintech_moves(scored_accounts, no_fintech):
    preview = framework_impact_preview(no_fintech)
    assert preview.summary.total == 6
    assert preview.summary.moved == 2
    assert preview.summary.unchanged == 4
    assert preview.summary.tiers["high"]["low"] == 2
    assert preview.summary.tags_gained == {}
    assert preview.summary.tags_lost == {}


def test_preview_tier_matrix_rows(scored_accounts, no_fintech):
    matrix = dict(framework_impact_preview(no_fintech).tier_matrix())
    assert matrix["High"] == [1, 0, 2, 0]
    assert matrix["No tier"] == [0, 0, 0, 0]
    assert sum(sum(row) for row in matrix.values()) == 6


def test_preview_tags_gained_lost(scored_accounts, draft):
    draft.tag_template = "{industry} / {size_band}"
    draft.save()
    preview = framework_impact_preview(draft)
    assert preview.summary.moved == 5
    assert preview.summary.tags_lost["FinTech – Mid-Market – APAC"] == 1
    assert preview.summary.tags_gained["FinTech / Mid-Market"] == 1
    assert preview.summary.tags_gained["SaaS / SMB"] == 1
    assert ("Retail & E-commerce / Mid-Market", 1, 0) in preview.tag_changes()


def test_preview_top_movers(scored_accounts, no_fintech):
    preview = framework_impact_preview(no_fintech, top=1)
    mover = preview.movers[0]
    assert len(preview.movers) == 1
    assert mover.account_id in {scored_accounts[0].pk, scored_accounts[1].pk}
    assert mover.new_tier == "low"
    assert mover.old_tier == "high"
    assert mover.delta < 0
    assert "is a target industry" in mover.old_explanation[0]["reason"]
    assert "is not a target industry" in mover.new_explanation[0]["reason"]


def mover_row(account_id: int, score: int, tier: str) -> tuple:
    """Return a row as accounts_segment() passes it to TopMovers."""
    inputs = [None] * (len(ROW_FIELDS) - 1)
    return (account_id, *inputs, score, tier, "", "", "", "", False, "[]", 1, "", "")


def mover_result(score: int, tier: str):
    """Return the parts of an Evaluation that TopMovers reads."""
    return type("Result", (), {"score": score, "tier": tier, "tag": "", "explanation": []})()


def test_top_movers_heap_bounded():
    heap = TopMovers(3)
    for account_id, (old, new) in enumerate([(10, 90), (50, 55), (80, 20), (0, 40), (60, 61)]):
        heap.offer(mover_row(account_id, old, "low"), mover_result(new, "low"))
    retained = sorted((entry[1], entry[3][0]) for entry in heap._heap)
    assert retained == [(40, 3), (60, 2), (80, 0)]


def test_top_movers_tier_changes_first(db):
    heap = TopMovers(3)
    moves = [
        (40, "medium", 35, "low"),
        (10, "low", 30, "low"),
        (20, "low", 90, "high"),
        (45, "medium", 44, "low"),
        (15, "low", 35, "low"),
    ]
    for account_id, (old, old_tier, new, new_tier) in enumerate(moves):
        heap.offer(mover_row(account_id, old, old_tier), mover_result(new, new_tier))

    assert [mover.account_id for mover in heap.movers()] == [2, 0, 3]


def test_approval_moves_what_preview_said(
    scored_accounts, no_fintech, ops_user, leader, django_capture_on_commit_callbacks
):
    preview = framework_impact_preview(no_fintech, top=10)
    framework_submit(framework=no_fintech, user=ops_user, summary="Drop FinTech")
    with django_capture_on_commit_callbacks(execute=True):
        framework_approve(framework=no_fintech, user=leader)
    run = SegmentationRun.objects.get(framework=no_fintech, kind=SegmentationRun.Kind.APPROVAL)
    fields = ("account_id", "score", "tier", "tag", "route")
    before = {row[0]: row for row in ScoreRecord.objects.filter(framework=1).values_list(*fields)}
    after = {row[0]: row for row in ScoreRecord.objects.filter(run=run).values_list(*fields)}
    moved_ids = {account_id for account_id, row in after.items() if before[account_id] != row}
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.moved == preview.summary.moved
    assert run.unchanged == preview.summary.unchanged
    assert run.failed == preview.summary.failed
    assert run.summary["tiers"] == preview.summary.tiers
    assert run.summary["tags"]["gained"] == preview.summary.tags_gained
    assert run.summary["tags"]["lost"] == preview.summary.tags_lost
    assert len(after) == 6
    assert {mover.account_id for mover in preview.movers} == moved_ids


def test_dry_run_command_prints_preview(scored_accounts, no_fintech):
    output = StringIO()
    call_command(
        "resegment", "--framework", str(no_fintech.version), "--dry-run", "--top", "2",
        stdout=output,
    )  # fmt: skip
    text = output.getvalue()
    assert "Dry run, nothing written." in text
    assert "2 moved" in text
    assert "score records would be appended." in text
    assert "Tier moves (rows: tier now, columns: tier after approval):" in text
    assert "Accounts that move most (2):" in text
    assert "is not a target industry" in text
    assert ScoreRecord.objects.filter(framework=no_fintech).count() == 0


def test_preview_explains_disqualifier(scored_accounts, draft, make_account):
    energy = make_account("Energy & Utilities", employee_count=300, country="US")
    accounts_segment(account_ids=[energy.pk])
    Criterion.objects.create(
        framework=draft,
        dimension="industry",
        label="Exclude energy",
        operator="in",
        values=["Energy & Utilities"],
        is_disqualifier=True,
        position=99,
    )
    output = StringIO()

    preview = framework_impact_preview(draft, top=1)
    call_command("resegment", "--framework", str(draft.version), "--dry-run", stdout=output)

    excluded = (
        "Industry Energy & Utilities is excluded: disqualified, so the score is 0 and the tier Low"
    )
    mover = preview.movers[0]
    assert mover.account_id == energy.pk
    assert mover.new_score == 0
    assert mover.new_explanation[-1]["reason"] == excluded
    assert excluded in output.getvalue()
    assert "is a target industry: disqualified" not in output.getvalue()


def small_account(make_account, industry: str, country: str):
    """Create an SMB account (20 employees), which the default version does not target."""
    return make_account(
        industry, employee_count=20, employee_min=20, employee_max=20, country=country
    )


@pytest.fixture
def near_cutoffs(active_framework, make_account):
    """Four accounts scored with v1, each a few points from a cut-off.

    A Retail account fails the must-have industry, so its score 39 is the must-have cap.
    SaaS SMB accounts score 38 in Brazil (Low, Nurture), 63 in the US (Medium, no route)
    and 50 without a country (Medium, needs enrichment).
    """
    accounts = {
        "capped": make_account("Retail & E-commerce", employee_count=500, country="US"),
        "latam": small_account(make_account, "SaaS", "BR"),
        "us": small_account(make_account, "SaaS", "US"),
        "no_country": small_account(make_account, "SaaS", ""),
    }
    accounts_segment()
    return accounts


@pytest.fixture
def lower_cutoffs(draft):
    """The draft with High from 70 to 50 and Medium from 40 to 35."""
    draft.high_tier_min_score = 50
    draft.medium_tier_min_score = 35
    draft.save()
    return draft


def change_counts(preview) -> dict[str, tuple[int, int]]:
    return {row.kind.key: (row.accounts, row.accounts_in_total) for row in preview.change_rows()}


def test_changes_add_up_to_moved(near_cutoffs, lower_cutoffs):
    preview = framework_impact_preview(lower_cutoffs)
    counts = change_counts(preview)
    assert preview.summary.moved == 4
    assert counts["tier"] == (3, 3)
    assert counts["score"] == (1, 1)
    assert counts["route"] == (0, 2)
    assert counts["tag"] == (0, 0)
    assert sum(accounts for accounts, _total in counts.values()) == preview.summary.moved


def test_score_only_names_must_have_cap(near_cutoffs, lower_cutoffs):
    rows = {row.kind.key: row for row in framework_impact_preview(lower_cutoffs).change_rows()}
    note = rows["score"].note
    assert note.startswith("Held at the must-have cap: 1.")
    assert "which is 34 in v2 and 39 in v1" in note
    assert rows["tier"].note == ""


def test_changes_count_enrichment_and_geography(active_framework, draft, make_account):
    # Without an industry, neither account has a tag or a route to change.
    make_account(None, employee_count=20, employee_min=20, employee_max=20, country="BR")
    make_account(None, employee_count=5, employee_min=5, employee_max=5, country="DE")
    accounts_segment()
    draft.size_bands.filter(name="SMB").update(max_employees=10)
    draft.geography_mappings.filter(country="DE").delete()

    counts = change_counts(framework_impact_preview(draft))

    assert counts["enrichment"] == (1, 1)
    assert counts["placement"] == (1, 2)
    assert counts["tier"] == (0, 0)
    assert counts["score"] == (0, 2)


def test_route_moves_include_no_route(near_cutoffs, lower_cutoffs):
    preview = framework_impact_preview(lower_cutoffs)
    assert preview.route_moves() == [("No route", "Outbound", 1), ("Nurture", "No route", 1)]


def test_tier_routes_explain_missing_route(near_cutoffs, lower_cutoffs):
    rows = {row.tier_label: row for row in framework_impact_preview(lower_cutoffs).tier_routes()}
    assert set(rows) == {"High", "Medium"}
    assert rows["High"].accounts == 2
    assert rows["High"].routes == [
        ("No route: needs enrichment (a mandatory field is missing)", 1),
        ("Outbound", 1),
    ]
    assert rows["Medium"].routes == [("No route: v2 gives Medium no route", 1)]


def test_movers_rank_tier_changes_before_scores(near_cutoffs, lower_cutoffs):
    movers = framework_impact_preview(lower_cutoffs).movers
    assert [mover.change for mover in movers] == ["tier", "tier", "tier", "score"]
    assert movers[-1].account_id == near_cutoffs["capped"].pk
    assert movers[-1].delta == -5


def test_movers_list_changed_reasons_once(scored_accounts, no_fintech):
    mover = framework_impact_preview(no_fintech, top=1).movers[0]
    changed = mover.changed_pairs
    assert len(changed) == 1
    assert "is a target industry" in changed[0].old["reason"]
    assert "is not a target industry" in changed[0].new["reason"]
    assert len(mover.unchanged_items) == len(mover.new_explanation) - 1
    assert all(item["dimension"] != "industry" for item in mover.unchanged_items)


def test_mover_same_reasons_names_cutoffs(near_cutoffs, lower_cutoffs):
    mover = framework_impact_preview(lower_cutoffs).movers[0]
    assert mover.changed_pairs == []
    assert len(mover.unchanged_items) == 6
    assert "tier cut-offs differ" in mover.same_reasons_text


def test_explanation_pairs_match_criteria():
    old = [
        {"dimension": "industry", "label": "Target industry", "reason": "SaaS matches"},
        {"dimension": "revenue", "label": "Revenue", "reason": "$10M"},
        {"dimension": "manual", "label": "Note", "reason": "Set by a manager"},
    ]
    new = [
        {"dimension": "revenue", "label": "Revenue", "reason": "$10M"},
        {"dimension": "industry", "label": "Target industry", "reason": "SaaS does not match"},
        {"dimension": "industry", "label": "Exclude energy", "reason": "Not energy"},
    ]
    pairs = explanation_pairs(old, new)
    assert [(pair.old, pair.new) for pair in pairs] == [
        (old[1], new[0]),
        (old[0], new[1]),
        (None, new[2]),
        (old[2], None),
    ]
    assert [pair.changed for pair in pairs] == [False, True, True, True]


@pytest.fixture
def band_gap_no_gb(unchanged_draft):
    """The draft with SMB up to 100 employees (Mid-Market starts at 201) and no GB."""
    draft = unchanged_draft
    draft.size_bands.filter(name="SMB").update(max_employees=100)
    draft.geography_mappings.filter(country="GB").delete()
    return draft


def test_dry_run_prints_settings_and_warnings(scored_accounts, band_gap_no_gb):
    output = StringIO()
    call_command(
        "resegment", "--framework", str(band_gap_no_gb.version), "--dry-run", stdout=output
    )
    text = output.getvalue()
    preview_settings = framework_preview_settings(band_gap_no_gb)
    assert "Warning: No size band covers 101 to 200 employees" in text
    for warning in preview_settings.placement_warnings:
        assert f"Warning: {warning}" in text
    assert "Settings changed against the active v1 (2):" in text
    assert "  Size bands, SMB: max employees: 200 -> 100" in text
    assert "  Geography map, GB: EMEA, EMEA -> removed" in text
    assert ScoreRecord.objects.filter(framework=band_gap_no_gb).count() == 0


def test_dry_run_prints_breakdown_and_routes(near_cutoffs, lower_cutoffs):
    output = StringIO()
    call_command(
        "resegment", "--framework", str(lower_cutoffs.version), "--dry-run", stdout=output
    )  # fmt: skip
    # Columns are padded, so lines are compared with single spaces.
    lines = [" ".join(line.split()) for line in output.getvalue().splitlines()]
    assert "Would change 4 accounts:" in lines
    assert "Tier changes 3 (3 with this change in total)" in lines
    assert "Score changes only 1 (1 with this change in total)" in lines
    assert "Route changes, same tier and tag 0 (2 with this change in total)" in lines
    assert any(line.startswith("Held at the must-have cap: 1.") for line in lines)
    assert "Route moves (2):" in lines
    assert "1 No route -> Outbound" in lines
    assert "1 Nurture -> No route" in lines
    assert "To High: 2 accounts" in lines
    assert "1 No route: needs enrichment (a mandatory field is missing)" in lines
    assert "1 No route: v2 gives Medium no route" in lines
    assert (
        lines.count(
            "Every reason and the score stay the same. The tier changes because the version's "
            "tier cut-offs differ."
        )
        == 3
    )


def test_dry_run_lists_unchanged_with_verbosity(scored_accounts, no_fintech):
    quiet, verbose = StringIO(), StringIO()
    args = ("resegment", "--framework", str(no_fintech.version), "--dry-run", "--top", "1")
    call_command(*args, stdout=quiet)
    call_command(*args, "--verbosity", "2", stdout=verbose)
    assert "5 unchanged reasons (--verbosity 2 lists them)" in quiet.getvalue()
    assert "same:  Company size" not in quiet.getvalue()
    assert quiet.getvalue().count("is a target industry") == 1
    assert "      same:  Company size" in verbose.getvalue()
