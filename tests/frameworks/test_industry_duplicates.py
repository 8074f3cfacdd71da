"""Databases with two industries of one name, saved before names had to differ."""

from io import StringIO

import pytest
from django.core.management import call_command
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


def add_duplicate(name: str) -> Industry:
    """Save an industry that bypasses the checks, like one saved before they existed."""
    Industry.objects.bulk_create([Industry(name=name, slug=f"{name.lower()}-duplicate")])
    return Industry.objects.get(name=name)


def resegment(*args: str) -> str:
    out = StringIO()
    call_command("resegment", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def scored_saas_accounts(active_framework, industry_ids):
    accounts = [AccountFactory(industry_id=industry_ids["SaaS"]) for _ in range(3)]
    output = resegment()
    assert "Tiers: high 3" in output
    return accounts


def test_resegment_unchanged_with_duplicate(scored_saas_accounts):
    add_duplicate("saas")

    output = resegment("--dry-run")

    assert "Total 3: 0 moved, 3 unchanged" in output


def test_delete_duplicate_allowed(ops_client, scored_saas_accounts):
    duplicate = add_duplicate("saas")
    url = reverse("admin:segmentation_industry_delete", args=[duplicate.pk])

    page = ops_client.get(url)
    response = ops_client.post(url, {"post": "yes"})

    assert "cannot be deleted" not in page.content.decode()
    assert response.status_code == 302
    assert not Industry.objects.filter(pk=duplicate.pk).exists()
    assert "Total 3: 0 moved, 3 unchanged" in resegment("--dry-run")


def test_rename_duplicate_allowed(ops_client, scored_saas_accounts):
    duplicate = add_duplicate("saas")

    response = ops_client.post(
        reverse("admin:segmentation_industry_change", args=[duplicate.pk]),
        industry_post(duplicate, name="Robotics"),
    )

    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.name == "Robotics"


def test_delete_original_still_locked(ops_client, active_framework):
    saas = Industry.objects.get(name="SaaS")
    saas.accounts.all().delete()
    url = reverse("admin:segmentation_industry_delete", args=[saas.pk])

    assert "cannot be deleted" in ops_client.get(url).content.decode()
