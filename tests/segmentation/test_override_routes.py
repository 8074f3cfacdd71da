"""An account that needs enrichment gets no route, whatever tag and tier a person sets."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import workspace
from accounts.models import Account, SegmentOverride
from accounts.research import account_segment_override
from segmentation.services import accounts_segment
from tests.factories import AccountFactory

from .test_conflicts import CONFLICTING_INDUSTRY, statuses

TAG = "SaaS – Mid-Market – APAC"


@pytest.fixture
def conflicting_account(default_framework, industry_id, sdr):
    """A SaaS account in Singapore whose industry sources disagree, scored once."""
    account = AccountFactory(
        owner=sdr,
        industry_id=industry_id("SaaS"),
        employee_count=300,
        country="SG",
        verification_status="conflicting",
        field_status=statuses(industry=CONFLICTING_INDUSTRY),
    )
    accounts_segment(account_ids=[account.pk])
    account.refresh_from_db()
    return account


@pytest.fixture
def complete_account(default_framework, industry_id, sdr):
    """The same account with verified fields, scored once."""
    account = AccountFactory(
        owner=sdr,
        industry_id=industry_id("SaaS"),
        employee_count=300,
        country="SG",
        verification_status="verified",
        field_status=statuses(),
    )
    accounts_segment(account_ids=[account.pk])
    account.refresh_from_db()
    return account


def tag_by_hand(account: Account, user) -> None:
    account_segment_override(
        account=account,
        user=user,
        kind=SegmentOverride.Kind.MANUAL_TAG,
        reason="Tagged from the website",
        tag=TAG,
        tier="high",
    )
    account.refresh_from_db()


def test_fixture_needs_enrichment(conflicting_account):
    assert conflicting_account.needs_enrichment is True
    assert conflicting_account.route == ""


def test_manual_tag_on_conflict_gets_no_route(conflicting_account, sdr):
    tag_by_hand(conflicting_account, sdr)

    assert conflicting_account.tag == TAG
    assert conflicting_account.tier == "high"
    assert conflicting_account.tag_override == TAG
    assert conflicting_account.route == ""
    latest = conflicting_account.score_records.order_by("-id").first()
    assert latest.route == ""


@pytest.mark.parametrize("per_account", [True, False], ids=["per_account", "full_run"])
def test_rescoring_keeps_override_without_route(conflicting_account, sdr, per_account):
    tag_by_hand(conflicting_account, sdr)

    if per_account:
        accounts_segment(account_ids=[conflicting_account.pk])
    else:
        accounts_segment()

    conflicting_account.refresh_from_db()
    assert conflicting_account.tag == TAG
    assert conflicting_account.tier == "high"
    assert conflicting_account.needs_enrichment is True
    assert conflicting_account.route == ""


def test_missing_country_override_gets_no_route(default_framework, industry_id, sdr):
    account = AccountFactory(
        owner=sdr, industry_id=industry_id("SaaS"), employee_count=300, country=""
    )
    accounts_segment(account_ids=[account.pk])
    account.refresh_from_db()
    tag_by_hand(account, sdr)

    accounts_segment(account_ids=[account.pk])

    account.refresh_from_db()
    assert account.needs_enrichment is True
    assert account.tier == "high"
    assert account.route == ""


def test_complete_account_override_routed(complete_account, sdr, default_framework):
    tag_by_hand(complete_account, sdr)
    assert complete_account.route == default_framework.high_tier_route

    accounts_segment(account_ids=[complete_account.pk])

    complete_account.refresh_from_db()
    assert complete_account.route == default_framework.high_tier_route


def test_resolved_conflict_routes_override(conflicting_account, sdr, default_framework):
    tag_by_hand(conflicting_account, sdr)
    conflicting_account.verification_status = "verified"
    conflicting_account.field_status = statuses()
    conflicting_account.save(update_fields=["verification_status", "field_status"])

    accounts_segment(account_ids=[conflicting_account.pk])

    conflicting_account.refresh_from_db()
    assert conflicting_account.needs_enrichment is False
    assert conflicting_account.route == default_framework.high_tier_route


def test_page_tag_keeps_account_off_outbound(
    client, conflicting_account, sdr, marketing, default_framework
):
    client.force_login(sdr)
    response = client.post(
        reverse("accounts:account-segment-edit", args=[conflicting_account.pk]),
        {
            "tag": TAG,
            "tier": "high",
            "reason": "Tagged from the website",
            "version": workspace.account_version(conflicting_account),
        },
        follow=True,
    )
    api = APIClient()
    api.force_login(marketing)
    route = default_framework.high_tier_route
    members = api.get(f"/api/v1/segments/routes/{route}/members/").json()

    conflicting_account.refresh_from_db()
    assert response.status_code == 200
    assert 'data-testid="route-held"' in response.content.decode()
    assert conflicting_account.tag == TAG
    assert conflicting_account.route == ""
    assert members["results"] == []
