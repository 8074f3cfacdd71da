"""Read-only admin pages of observations, resolutions and enrichment runs."""

import pytest
from django.urls import reverse

from enrichment.models import EnrichmentRunItem, FieldResolution
from enrichment.services import enrichment_run_create
from tests.factories import UserFactory

from .conftest import blank_account, location_value, observe

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_observation_list_filters(admin_client):
    account = blank_account(name="Observed Co")
    observe(account, "location", location_value("DE"), "apollo")
    observe(account, "location", location_value("US"), "clearbit")
    url = reverse("admin:enrichment_observation_changelist")

    response = admin_client.get(url, {"source": "apollo"})

    sources = [observation.source for observation in response.context["cl"].result_list]
    assert response.status_code == 200
    assert sources == ["apollo"]
    assert "Observed Co" in response.content.decode()


def test_observation_cannot_be_added_or_changed(admin_client):
    observation = observe(blank_account(), "location", location_value("DE"), "apollo")

    add = admin_client.get(reverse("admin:enrichment_observation_add"))
    change = admin_client.get(reverse("admin:enrichment_observation_change", args=[observation.pk]))

    assert add.status_code == 403
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()


def test_resolution_list(admin_client, manager):
    account = blank_account(name="Resolved Co")
    FieldResolution.objects.create(
        account=account,
        field="country",
        value=location_value("DE"),
        reason="Checked the register",
        resolved_by=manager,
        resolved_at="2026-01-05T09:00:00Z",
    )

    response = admin_client.get(reverse("admin:enrichment_fieldresolution_changelist"))

    assert response.status_code == 200
    assert "Checked the register" in response.content.decode()


def test_run_page_lists_failures(admin_client):
    failed = blank_account(domain="failed.example")
    done = blank_account(domain="done.example")
    run = enrichment_run_create(provider="apollo", account_ids=[failed.pk, done.pk])
    EnrichmentRunItem.objects.filter(account=failed).update(
        status="failed", error="the provider returned HTTP 500"
    )

    listing = admin_client.get(reverse("admin:enrichment_enrichmentrun_changelist"))
    page = admin_client.get(reverse("admin:enrichment_enrichmentrun_change", args=[run.pk]))

    html = page.content.decode()
    assert listing.status_code == 200
    assert page.status_code == 200
    assert "the provider returned HTTP 500" in html
    assert "done.example" not in html


def test_sales_ops_views_enrichment_runs(client, make_user):
    from accounts import roles

    sales_ops = make_user(roles.SALES_OPS, username="ops", is_staff=True)
    failed = blank_account(name="Failed Co", domain="failed.example")
    run = enrichment_run_create(provider="apollo", account_ids=[failed.pk])
    EnrichmentRunItem.objects.filter(run=run).update(
        status=EnrichmentRunItem.Status.FAILED, error="the provider returned HTTP 500"
    )
    client.force_login(sales_ops)

    index = client.get(reverse("admin:index"))
    runs = client.get(reverse("admin:enrichment_enrichmentrun_changelist"))
    detail = client.get(reverse("admin:enrichment_enrichmentrun_change", args=[run.pk]))
    observations = client.get(reverse("admin:enrichment_observation_changelist"))
    add = client.get(reverse("admin:enrichment_enrichmentrun_add"))

    assert reverse("admin:enrichment_enrichmentrun_changelist") in index.content.decode()
    assert runs.status_code == 200
    assert detail.status_code == 200
    assert "the provider returned HTTP 500" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert observations.status_code == 200
    assert add.status_code == 403
