import pytest
from django.urls import reverse

from segmentation.models import Industry, IndustrySynonym, ScoreRecord, SegmentationRun


@pytest.mark.parametrize(
    "name",
    ["industry", "framework", "segmentationrun", "scorerecord"],
)
def test_changelist_loads(admin_client, default_framework, name):
    response = admin_client.get(reverse(f"admin:segmentation_{name}_changelist"))
    assert response.status_code == 200


def test_framework_change_page_loads(admin_client, default_framework):
    response = admin_client.get(
        reverse("admin:segmentation_framework_change", args=[default_framework.pk])
    )
    assert response.status_code == 200
    assert b"Target industry" in response.content


def test_results_read_only(admin_client, default_framework):
    assert admin_client.get(reverse("admin:segmentation_segmentationrun_add")).status_code == 403
    assert admin_client.get(reverse("admin:segmentation_scorerecord_add")).status_code == 403
    assert SegmentationRun.objects.count() == 0
    assert ScoreRecord.objects.count() == 0


def synonym_post(industry: Industry, value: str) -> dict:
    existing = list(industry.synonyms.all())
    data = {
        "name": industry.name,
        "slug": industry.slug,
        "description": industry.description,
        "synonyms-TOTAL_FORMS": str(len(existing) + 1),
        "synonyms-INITIAL_FORMS": str(len(existing)),
        "synonyms-MIN_NUM_FORMS": "0",
        "synonyms-MAX_NUM_FORMS": "1000",
    }
    for index, synonym in enumerate(existing):
        data[f"synonyms-{index}-id"] = str(synonym.pk)
        data[f"synonyms-{index}-industry"] = str(industry.pk)
        data[f"synonyms-{index}-value"] = synonym.value
        data[f"synonyms-{index}-vocabulary"] = synonym.vocabulary
    new = len(existing)
    data[f"synonyms-{new}-industry"] = str(industry.pk)
    data[f"synonyms-{new}-value"] = value
    data[f"synonyms-{new}-vocabulary"] = "other"
    return data


def test_synonym_key_derived(admin_client, default_framework):
    industry = Industry.objects.get(name="SaaS")
    url = reverse("admin:segmentation_industry_change", args=[industry.pk])
    response = admin_client.post(url, synonym_post(industry, "Subscription  Software!"))
    assert response.status_code == 302
    synonym = IndustrySynonym.objects.get(value="Subscription  Software!")
    assert synonym.key == "subscription software"
    assert synonym.industry == industry


def test_synonym_key_clash_rejected(admin_client, default_framework):
    industry = Industry.objects.get(name="FinTech")
    url = reverse("admin:segmentation_industry_change", args=[industry.pk])
    response = admin_client.post(url, synonym_post(industry, "computer-software"))
    assert response.status_code == 200
    assert "matches the existing synonym" in response.content.decode()
    assert not IndustrySynonym.objects.filter(value="computer-software").exists()
