"""Renaming and deleting industries that framework criteria name."""

import pytest
from django.urls import reverse

from segmentation.models import Industry
from tests.factories import AccountFactory


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


def industry_post(industry: Industry, **changes) -> dict[str, str]:
    """Return the admin change form's POST data of an industry without synonym rows."""
    data = {
        "name": industry.name,
        "slug": industry.slug,
        "description": industry.description,
        "synonyms-TOTAL_FORMS": "0",
        "synonyms-INITIAL_FORMS": "0",
        "synonyms-MIN_NUM_FORMS": "0",
        "synonyms-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def change_url(industry: Industry) -> str:
    return reverse("admin:segmentation_industry_change", args=[industry.pk])


def test_rename_used_industry_rejected(ops_client, active_framework):
    industry = Industry.objects.get(name="HealthTech")

    response = ops_client.post(change_url(industry), industry_post(industry, name="Health Tech"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Industry &#x27;HealthTech&#x27; cannot be renamed" in page
    assert "framework v1 (approved (active))" in page
    assert "as a synonym" in page
    industry.refresh_from_db()
    assert industry.name == "HealthTech"


def test_rename_case_only_accepted(ops_client, active_framework):
    industry = Industry.objects.get(name="HealthTech")

    response = ops_client.post(change_url(industry), industry_post(industry, name="Healthtech"))

    assert response.status_code == 302
    industry.refresh_from_db()
    assert industry.name == "Healthtech"


def test_rename_unused_industry_accepted(ops_client, active_framework):
    industry = Industry.objects.exclude(name__in=["SaaS", "FinTech", "HealthTech"]).first()

    response = ops_client.post(change_url(industry), industry_post(industry, name="Renamed"))

    assert response.status_code == 302
    industry.refresh_from_db()
    assert industry.name == "Renamed"


def test_rename_used_by_draft_accepted(ops_client, draft):
    criterion = draft.criteria.get(dimension="industry")
    criterion.values = ["SaaS", "Insurance"]
    criterion.save()
    industry = Industry.objects.get(name="Insurance")

    response = ops_client.post(change_url(industry), industry_post(industry, name="Insurers"))

    assert response.status_code == 302
    industry.refresh_from_db()
    assert industry.name == "Insurers"


def test_delete_used_industry_rejected(ops_client, active_framework):
    industry = Industry.objects.get(name="HealthTech")
    industry.accounts.all().delete()
    url = reverse("admin:segmentation_industry_delete", args=[industry.pk])

    page = ops_client.get(url)
    response = ops_client.post(url, {"post": "yes"})

    assert "cannot be deleted" in page.content.decode()
    assert "criterion &#x27;" in page.content.decode()
    assert response.status_code == 200
    assert Industry.objects.filter(pk=industry.pk).exists()


def test_delete_page_lists_accounts_not_permissions(ops_client, active_framework):
    industry = Industry.objects.get(name="HealthTech")
    AccountFactory(name="Clinic Cloud", industry=industry)
    url = reverse("admin:segmentation_industry_delete", args=[industry.pk])

    html = ops_client.get(url).content.decode()

    assert "Clinic Cloud" in html
    assert "cannot be deleted" in html
    assert "doesn’t have permission" not in html
    assert "doesn't have permission" not in html
