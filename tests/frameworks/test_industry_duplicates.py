"""Databases with two industries of one name, saved before names had to differ."""

import importlib
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from segmentation.models import Industry
from tests.factories import AccountFactory

labels_migration = importlib.import_module(
    "segmentation.migrations.0013_industry_name_lower_unique"
)
NAME_CONSTRAINT = "industry_name_lower_unique"


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


def drop_name_constraint() -> None:
    """Drop the lower(name) index for this test's transaction, as on a database from
    before it existed, so that a duplicate name can be saved."""
    constraint = next(c for c in Industry._meta.constraints if c.name == NAME_CONSTRAINT)
    with connection.schema_editor() as editor:
        editor.remove_constraint(Industry, constraint)


def add_duplicate(name: str) -> Industry:
    """Save an industry that bypasses the checks, like one saved before they existed."""
    drop_name_constraint()
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


def test_migration_reports_duplicates(active_framework):
    original = Industry.objects.get(name="SaaS")
    duplicate = add_duplicate("saas")

    with pytest.raises(RuntimeError) as raised:
        labels_migration.check_duplicate_names(django_apps, None)

    message = str(raised.value)
    assert f"'SaaS' (id {original.pk}), 'saas' (id {duplicate.pk})" in message
    assert "delete or rename every one but" in message


def test_migration_passes_loaded_taxonomy(active_framework):
    labels_migration.check_duplicate_names(django_apps, None)
