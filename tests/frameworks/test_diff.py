"""The settings a version changes against the active one, as the impact preview lists them."""

from django.urls import reverse

from segmentation.diff import SettingChange, framework_settings_diff
from segmentation.models import Framework, GeographyMapping


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
