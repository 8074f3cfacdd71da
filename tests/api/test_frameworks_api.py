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


def test_draft_of_named_version(client_for, sales_ops, active):
    response = client_for(sales_ops).post(URL, {"based_on": active.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["based_on_id"] == active.pk
    assert response.json()["name"] == active.name


def test_draft_by_version_number(client_for, sales_ops, active):
    body = {"based_on_version": active.version}
    response = client_for(sales_ops).post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["based_on_id"] == active.pk


@pytest.mark.parametrize(
    ("body", "field", "hint"),
    [
        ({"source": 2}, "source", "source is not a field of a framework draft request"),
        ({"version": 2}, "version", "did you mean based_on_version?"),
        ({"source": "abc"}, "source", "writable fields, based_on, based_on_version, name, summary"),
        ({"name": "Next", "Summary": "x"}, "Summary", "did you mean summary?"),
    ],
)
def test_draft_unknown_field_rejected(client_for, sales_ops, active, body, field, hint):
    count = Framework.objects.count()
    response = client_for(sales_ops).post(URL, body, format="json")
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert list(fields) == [field]
    assert hint in fields[field][0]
    assert Framework.objects.count() == count


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"based_on": "abc"}, "based_on", "Invalid based_on 'abc': send a framework's id"),
        ({"based_on": True}, "based_on", "Invalid based_on True"),
        ({"based_on": 99999}, "based_on", "No framework has id 99999"),
        ({"based_on": 99999}, "based_on", "not the version number"),
        ({"based_on_version": 9999}, "based_on_version", "Framework version 9999 not found"),
        ({"based_on_version": "v2"}, "based_on_version", "“v2” is not a whole number"),
    ],
)
def test_draft_invalid_source_rejected(client_for, sales_ops, active, body, field, message):
    count = Framework.objects.count()
    response = client_for(sales_ops).post(URL, body, format="json")
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert message in fields[field][0]
    assert Framework.objects.count() == count


def test_draft_source_mismatch_rejected(client_for, sales_ops, active, framework):
    body = {"based_on": active.pk, "based_on_version": framework.version}
    response = client_for(sales_ops).post(URL, body, format="json")
    message = response.json()["error"]["fields"]["based_on_version"][0]
    assert response.status_code == 400
    assert f"based_on {active.pk} is v{active.version}" in message


@pytest.mark.parametrize("status", [FrameworkStatus.RETIRED, FrameworkStatus.DRAFT])
def test_draft_of_inactive_version_rejected(client_for, sales_ops, active, framework, status):
    Framework.objects.filter(pk=framework.pk).update(status=status)
    count = Framework.objects.count()
    response = client_for(sales_ops).post(URL, {"based_on": framework.pk}, format="json")
    message = response.json()["error"]["fields"]["based_on"][0]
    assert response.status_code == 400
    assert "a draft copied from it could never be approved" in message
    assert f"create a draft from v{active.version}" in message
    assert Framework.objects.count() == count


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


def test_list_filters_by_status(client_for, marketing, active, framework):
    response = client_for(marketing).get(URL, {"status": "approved"})
    versions = [row["version"] for row in response.json()["results"]]
    assert response.status_code == 200
    assert versions == [active.version]


@pytest.mark.parametrize("parameter", ["statu", "Status", "stauts"])
def test_list_misspelt_filter_rejected(client_for, marketing, active, parameter):
    response = client_for(marketing).get(URL, {parameter: "approved"})
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert f"{parameter!r} is not a filter: did you mean 'status'?" in fields[parameter][0]


def test_list_invalid_status_rejected(client_for, marketing, active):
    response = client_for(marketing).get(URL, {"status": "active"})
    message = response.json()["error"]["fields"]["status"][0]
    assert response.status_code == 400
    assert message == (
        "“active” is not a framework status: use one of draft, submitted, approved, retired."
    )


def test_second_draft_is_409(client_for, sales_ops, active):
    first = client_for(sales_ops).post(URL, {}, format="json").json()
    count = Framework.objects.count()
    response = client_for(sales_ops).post(URL, {}, format="json")
    error = response.json()["error"]
    assert response.status_code == 409
    assert error["code"] == "conflict"
    assert f"Draft v{first['version']} is already open" in error["message"]
    assert "allow_parallel_draft=true" in error["message"]
    assert error["open_draft"] == {
        "id": first["id"],
        "version": first["version"],
        "status": "draft",
    }
    assert Framework.objects.count() == count


def test_second_draft_with_flag_created(client_for, sales_ops, active):
    first = client_for(sales_ops).post(URL, {}, format="json").json()
    body = {"allow_parallel_draft": True}
    response = client_for(sales_ops).post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == first["version"] + 1
    assert response.json()["based_on_id"] == active.pk
