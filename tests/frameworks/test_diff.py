"""The settings a version changes against the active one, as the impact preview lists them."""

import pytest
from django.urls import reverse

from segmentation.diff import SettingChange, framework_settings_diff
from segmentation.models import Criterion, Framework, GeographyMapping


@pytest.fixture
def draft(unchanged_draft) -> Framework:
    """A copy of version 1 with its settings unchanged, which each test then changes."""
    return unchanged_draft


def test_copy_has_no_changes(draft, active_framework):
    assert framework_settings_diff(draft, active_framework) == []


def test_version_fields_listed(draft, active_framework):
    Framework.objects.filter(pk=draft.pk).update(high_tier_min_score=90, summary="Stricter")
    draft.refresh_from_db()

    changes = framework_settings_diff(draft, active_framework)

    assert changes == [SettingChange("Version", "High tier min score", "70", "90")]


def test_criterion_weight_change_listed(draft, active_framework):
    draft.criteria.filter(dimension="industry").update(weight=0)
    old_weight = active_framework.criteria.get(dimension="industry").weight

    changes = framework_settings_diff(draft, active_framework)

    assert len(changes) == 1
    assert changes[0].section == "Criteria"
    assert changes[0].item.endswith(": weight")
    assert (changes[0].old, changes[0].new) == (str(old_weight), "0")


def test_parts_added_and_removed(draft, active_framework):
    draft.size_bands.filter(name="SMB").delete()
    draft.geography_mappings.filter(country="US").delete()
    GeographyMapping.objects.filter(framework=draft, country="BR").update(label="South America")

    changes = framework_settings_diff(draft, active_framework)

    by_item = {(change.section, change.item): change for change in changes}
    assert by_item[("Size bands", "SMB")].new == "removed"
    assert by_item[("Geography map", "US")].new == "removed"
    assert by_item[("Geography map", "BR")].new.endswith("South America")


def test_preview_page_lists_changes(client, draft, ops_user):
    draft.criteria.filter(dimension="industry").update(weight=0)
    client.force_login(ops_user)

    html = client.get(reverse("segmentation:framework-preview", args=[draft.version])).content
    text = html.decode()

    assert 'data-testid="setting-changes"' in text
    assert "Settings changed against the active v1: 1" in text


def test_preview_page_says_same_settings(client, draft, ops_user):
    client.force_login(ops_user)

    html = client.get(reverse("segmentation:framework-preview", args=[draft.version])).content

    assert f"v{draft.version} has the same settings as v1" in html.decode()


def test_added_criterion_described(draft, active_framework):
    Criterion.objects.create(
        framework=draft,
        dimension="industry",
        label="Exclude energy",
        operator="in",
        values=["Energy & Utilities"],
        weight=10,
        is_disqualifier=True,
        position=99,
    )

    changes = framework_settings_diff(draft, active_framework)

    assert changes == [
        SettingChange(
            "Criteria",
            "Industry: Exclude energy",
            "—",
            "added: is one of Energy & Utilities · weight 10 · disqualifier · "
            "unknown value: leave out of the score",
        )
    ]


def test_renamed_criterion_paired(draft, active_framework):
    draft.criteria.filter(dimension="industry").update(label="Core industries", weight=5)

    changes = framework_settings_diff(draft, active_framework)

    by_item = {change.item: change for change in changes}
    assert set(by_item) == {"Industry: Core industries: label", "Industry: Core industries: weight"}
    assert by_item["Industry: Core industries: label"].old == "Target industry"
    assert by_item["Industry: Core industries: label"].new == "renamed to Core industries"


def test_removed_criterion_described(draft, active_framework):
    draft.criteria.filter(dimension="industry").delete()

    changes = framework_settings_diff(draft, active_framework)

    assert len(changes) == 1
    assert changes[0].old.startswith("is one of SaaS, FinTech, HealthTech · weight")
    assert changes[0].new == "removed"


def test_choice_changes_use_labels(draft, active_framework):
    criterion = draft.criteria.get(dimension="industry")
    old_policy = criterion.get_unknown_policy_display()
    draft.criteria.filter(pk=criterion.pk).update(unknown_policy="half", operator="not_in")

    changes = framework_settings_diff(draft, active_framework)

    by_item = {change.item.rsplit(": ", 1)[1]: change for change in changes}
    assert (by_item["operator"].old, by_item["operator"].new) == ("is one of", "is none of")
    assert (by_item["unknown policy"].old, by_item["unknown policy"].new) == (
        old_policy,
        "Half the points",
    )
