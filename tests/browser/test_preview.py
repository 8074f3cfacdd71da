"""The impact preview page in Chromium: what would change, route moves and top movers."""

import pytest
from playwright.sync_api import expect

from accounts import roles
from segmentation.lifecycle import framework_draft_create, framework_submit
from segmentation.models import Framework, Industry
from segmentation.services import accounts_segment
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lower_cutoffs(migration_data, make_user):
    """A submitted copy of v1 with High from 70 to 50 and Medium from 40 to 35.

    Of three accounts scored with v1, Granite Retail fails the must-have industry, so its
    score 39 is the must-have cap and drops to 34. Harbor Analytics (63, Medium) reaches
    High and Outbound. Ledger Works (50, Medium) reaches High without a route, because
    its country is unknown.
    """
    ops = make_user(roles.SALES_OPS, username="ops", is_staff=True)
    industries = dict(Industry.objects.values_list("name", "id"))
    small = {"employee_count": 20, "employee_min": 20, "employee_max": 20}
    AccountFactory(
        name="Granite Retail", industry_id=industries["Retail & E-commerce"], country="US"
    )
    AccountFactory(name="Harbor Analytics", industry_id=industries["SaaS"], country="US", **small)
    AccountFactory(name="Ledger Works", industry_id=industries["SaaS"], country="", **small)
    accounts_segment()
    draft = framework_draft_create(source=Framework.objects.get(status="approved"), user=ops)
    draft.high_tier_min_score = 50
    draft.medium_tier_min_score = 35
    draft.save()
    framework_submit(framework=draft, user=ops, summary="Lower both cut-offs")
    return draft


def test_preview_shows_changes_routes_movers(page, login, live_server, leadership, lower_cutoffs):
    login("leadership")
    page.goto(f"{live_server.url}/frameworks/{lower_cutoffs.version}/preview/")

    breakdown = page.get_by_test_id("change-breakdown")
    expect(breakdown).to_be_visible()
    counts = {
        row.get_attribute("data-change"): int(row.get_by_test_id("change-count").inner_text())
        for row in breakdown.locator("tbody tr").all()
    }
    assert counts == {
        "tier": 2,
        "tag": 0,
        "route": 0,
        "score": 1,
        "enrichment": 0,
        "placement": 0,
    }
    expect(page.get_by_test_id("preview-moved")).to_have_text("3")
    expect(breakdown.get_by_test_id("change-total")).to_have_text("3")
    expect(breakdown.get_by_test_id("change-note")).to_contain_text("Held at the must-have cap: 1.")

    breakdown.get_by_role("link", name="Tier changes").click()
    expect(page).to_have_url(
        f"{live_server.url}/frameworks/{lower_cutoffs.version}/preview/#preview-tier-moves"
    )

    routes = page.get_by_test_id("route-moves")
    expect(routes.locator("tbody tr")).to_have_count(1)
    expect(routes.locator("tbody tr").first).to_have_text("No routeOutbound1")
    tier_routes = page.get_by_test_id("tier-routes")
    expect(tier_routes).to_contain_text("To High: 2 accounts")
    expect(tier_routes).to_contain_text("Outbound: 1")
    expect(tier_routes).to_contain_text(
        "No route: needs enrichment (a mandatory field is missing): 1"
    )

    movers = page.get_by_test_id("mover")
    expect(movers).to_have_count(3)
    expect(movers.get_by_test_id("mover-change")).to_have_text(["Tier", "Tier", "Score only"])
    first = movers.first
    expect(first.get_by_test_id("same-reasons")).to_contain_text("tier cut-offs differ")
    capped = movers.last
    expect(capped.get_by_test_id("reason-now")).to_contain_text("the score at 39")
    expect(capped.get_by_test_id("reason-after")).to_contain_text("the score at 34")
    unchanged = capped.get_by_test_id("unchanged-reasons")
    expect(unchanged.locator("summary")).to_have_text("5 unchanged reasons")
    geography = unchanged.get_by_text("Country US (North America) is a target geography")
    expect(geography).to_be_hidden()
    unchanged.locator("summary").click()
    expect(geography).to_be_visible()
    expect(capped.get_by_text("Country US (North America) is a target geography")).to_have_count(1)
