"""Framework versions: read for every role, draft copies for Sales Ops."""

from decimal import Decimal

import pytest

from accounts import roles
from segmentation.models import Criterion, Framework, FrameworkStatus, GeographyMapping, SizeBand

URL = "/api/v1/frameworks/"


@pytest.fixture
def active(db) -> Framework:
    framework = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
    if framework is None:
        framework = Framework.objects.create(
            version=800, name="Active", status=FrameworkStatus.APPROVED
        )
    framework.criteria.all().delete()
    framework.size_bands.all().delete()
    framework.geography_mappings.all().delete()
    Criterion.objects.create(
        framework=framework, dimension="industry", values=["SaaS"], weight=30, position=0
    )
    Criterion.objects.create(
        framework=framework,
        dimension="revenue",
        operator="range",
        min_value=Decimal("1000000"),
        weight=20,
        position=1,
    )
    SizeBand.objects.create(framework=framework, name="SMB", max_employees=200, position=0)
    GeographyMapping.objects.create(framework=framework, country="SG", region="APAC", label="APAC")
    return framework


def test_frameworks_listed(client_for, marketing, active):
    response = client_for(marketing).get(URL)
    versions = [row["version"] for row in response.json()["results"]]
    assert response.status_code == 200
    assert active.version in versions


def test_framework_detail_has_rules(client_for, marketing, active):
    body = client_for(marketing).get(f"{URL}{active.pk}/").json()
    assert len(body["criteria"]) == 2
    assert body["size_bands"][0]["name"] == "SMB"
    assert body["geography_mappings"] == [{"country": "SG", "region": "APAC", "label": "APAC"}]


def test_draft_copies_active(client_for, sales_ops, active):
    response = client_for(sales_ops).post(URL, {"name": "Next year"}, format="json")
    body = response.json()
    draft = Framework.objects.get(pk=body["id"])
    assert response.status_code == 201, body
    assert draft.status == FrameworkStatus.DRAFT
    assert draft.based_on_id == active.pk
    assert draft.version > active.version
    assert draft.name == "Next year"
    assert draft.created_by == sales_ops
    assert draft.criteria.count() == 2
    assert draft.size_bands.count() == 1
    assert draft.geography_mappings.count() == 1
    assert active.criteria.count() == 2
    assert draft.high_tier_min_score == active.high_tier_min_score


def test_draft_of_named_version(client_for, sales_ops, active, framework):
    response = client_for(sales_ops).post(URL, {"based_on": framework.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["based_on_id"] == framework.pk
    assert response.json()["name"] == framework.name


@pytest.mark.parametrize(
    "role", [roles.SDR, roles.AE, roles.SALES_MANAGER, roles.MARKETING, roles.SALES_LEADERSHIP]
)
def test_draft_denied(client_for, make_user, role, active):
    count = Framework.objects.count()
    response = client_for(make_user(role, username=f"fw-{role}")).post(URL, {}, format="json")
    assert response.status_code == 403
    assert Framework.objects.count() == count


def test_draft_without_active_is_400(client_for, sales_ops):
    Framework.objects.filter(status=FrameworkStatus.APPROVED).update(status=FrameworkStatus.RETIRED)
    response = client_for(sales_ops).post(URL, {}, format="json")
    assert response.status_code == 400
    assert "based_on" in response.json()["error"]["fields"]
