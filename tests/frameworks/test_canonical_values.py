"""Criterion values stored in their canonical spelling, and compared so in the preview."""

import pytest
from django.urls import reverse

from segmentation.diff import SettingChange, framework_settings_diff

from .admin_posts import framework_post


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


def save_values(client, draft, dimension: str, text: str):
    dimensions = list(draft.criteria.order_by("position", "id").values_list("dimension", flat=True))
    index = dimensions.index(dimension)
    data = framework_post(draft, **{f"criteria-{index}-values_text": text})
    url = reverse("admin:segmentation_framework_change", args=[draft.pk])
    return client.post(url, data)


@pytest.mark.parametrize(
    ("dimension", "typed", "stored"),
    [
        ("industry", "saas\nFINTECH\nHealthtech", ["SaaS", "FinTech", "HealthTech"]),
        ("company_size", "mid-market, ENTERPRISE", ["Mid-Market", "Enterprise"]),
        ("geography", "north america\nemea\nsg", ["North America", "EMEA", "SG"]),
        ("geography", "rest of world", ["Rest of World"]),
        ("technology", "snowflake", ["snowflake"]),
    ],
)
def test_admin_stores_canonical_values(ops_client, draft, dimension, typed, stored):
    response = save_values(ops_client, draft, dimension, typed)
    assert response.status_code == 302
    assert draft.criteria.get(dimension=dimension).values == stored


def test_admin_rejects_unknown_industry(ops_client, draft):
    response = save_values(ops_client, draft, "industry", "saas\nSpace Mining")
    assert response.status_code == 200
    assert "unknown industry &#x27;Space Mining&#x27;" in response.content.decode()
    assert draft.criteria.get(dimension="industry").values == ["SaaS", "FinTech", "HealthTech"]


def test_preview_ignores_case_only_change(unchanged_draft, active_framework):
    draft = unchanged_draft
    draft.criteria.filter(dimension="industry").update(values=["saas", "fintech", "HEALTHTECH"])
    draft.criteria.filter(dimension="technology").update(
        values=[
            value.upper() for value in active_framework.criteria.get(dimension="technology").values
        ]
    )
    assert framework_settings_diff(draft, active_framework) == []


def test_preview_lists_real_value_change(unchanged_draft, active_framework):
    draft = unchanged_draft
    draft.criteria.filter(dimension="industry").update(
        values=["SaaS", "fintech", "HealthTech", "Financial Services"]
    )
    changes = framework_settings_diff(draft, active_framework)
    assert changes == [
        SettingChange(
            "Criteria",
            "Industry: Target industry: values",
            "SaaS, FinTech, HealthTech",
            "SaaS, fintech, HealthTech, Financial Services",
        )
    ]
