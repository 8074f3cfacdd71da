import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles, workspace
from accounts.models import Account, SegmentOverride
from accounts.services import accounts_import
from enrichment.models import FieldResolution, Observation
from tests.factories import AccountFactory

from .conftest import HTMX


@pytest.fixture
def account(ae, approved_framework):
    return AccountFactory(
        name="Globex",
        owner=ae,
        framework=approved_framework,
        tag="SaaS – SMB – US",
        tier="medium",
        score=55,
    )


def fit_url(account) -> str:
    return reverse("accounts:account-fit-validate", args=[account.pk])


# Fit validation ------------------------------------------------------------------------


def test_owner_ae_confirms_fit(client, ae, account):
    client.force_login(ae)
    response = client.post(
        fit_url(account),
        {
            "version": workspace.account_version(account),
            "decision": "confirm",
            "reason": "Budget and need confirmed",
        },
        **HTMX,
    )
    override = SegmentOverride.objects.get(account=account)
    account.refresh_from_db()
    assert response.status_code == 200
    assert override.kind == SegmentOverride.Kind.FIT_VALIDATION
    assert override.reason == "Budget and need confirmed"
    assert override.new_tier == "medium"
    assert account.tier == "medium"


def test_stale_fit_confirmation_rejected(client, ae, account):
    client.force_login(ae)
    version = workspace.account_version(account)
    Account.objects.filter(pk=account.pk).update(
        tag="SaaS – Enterprise – US", updated_at=account.updated_at + timedelta(seconds=5)
    )

    response = client.post(
        fit_url(account), {"version": version, "decision": "confirm", "reason": "Budget"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone changed this account after you opened the form" in html
    assert not SegmentOverride.objects.exists()


# The version and fingerprints that a rendered form sends back.
HIDDEN_INPUT = r'<input type="hidden" name="(version|loaded_\w+)" value="([^"]*)"'


def opened_fit_form(client, account, decision: str = "confirm") -> dict[str, str]:
    """Open the fit form as the page does and return its version and fingerprints."""
    html = client.get(f"{fit_url(account)}?decision={decision}", **HTMX).content.decode()
    return dict(
        re.findall(r'<input type="hidden" name="(version|loaded_\w+)" value="([^"]*)"', html)
    )


def test_fit_confirmation_rejected_after_tag_change(client, ae, manager, team, account):
    client.force_login(ae)
    opened = opened_fit_form(client, account)
    manager_client = Client()
    manager_client.force_login(manager)
    tag_url = reverse("accounts:account-segment-edit", args=[account.pk])
    tag_form = dict(re.findall(HIDDEN_INPUT, manager_client.get(tag_url, **HTMX).content.decode()))
    saved = manager_client.post(
        tag_url, {**tag_form, "tag": "FinTech – SMB – US", "reason": "Payments company"}, **HTMX
    )
    assert saved.status_code == 200

    response = client.post(
        fit_url(account), {**opened, "decision": "confirm", "reason": "Budget"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone changed the tag after you opened the form" in html
    assert "manager" in html
    assert "FinTech – SMB – US" in html
    assert not SegmentOverride.objects.filter(kind=SegmentOverride.Kind.FIT_VALIDATION).exists()


def test_fit_confirmation_merged_after_other_change(client, ae, manager, account):
    client.force_login(ae)
    opened = opened_fit_form(client, account)
    account.refresh_from_db()
    account.description = "Sells payroll software to schools."
    account._history_user = manager
    account.save()

    response = client.post(
        fit_url(account), {**opened, "decision": "confirm", "reason": "Budget"}, **HTMX
    )

    account.refresh_from_db()
    override = SegmentOverride.objects.get(account=account)
    assert response.status_code == 200
    assert override.kind == SegmentOverride.Kind.FIT_VALIDATION
    assert override.new_tag == "SaaS – SMB – US"
    assert account.description == "Sells payroll software to schools."


def test_fit_refinement_rejected_after_tier_change(client, ae, account):
    client.force_login(ae)
    opened = opened_fit_form(client, account, "refine")
    Account.objects.filter(pk=account.pk).update(
        tier="high", updated_at=account.updated_at + timedelta(seconds=5)
    )

    # The tier select still shows medium, the tier that the form opened with.
    response = client.post(
        fit_url(account),
        {**opened, "decision": "refine", "tier": "medium", "tag": "", "reason": "Smaller"},
        **HTMX,
    )

    assert response.status_code == 409
    assert "Someone changed the tier after you opened the form" in response.content.decode()
    assert not SegmentOverride.objects.exists()


def test_fit_form_warns_of_single_source_size(client, ae, account):
    Account.objects.filter(pk=account.pk).update(
        field_status={"company_size": {"status": "single_source"}}
    )
    client.force_login(ae)

    html = client.get(fit_url(account), **HTMX).content.decode()

    assert 'data-testid="unconfirmed-warning"' in html
    assert "company size (single source)" in html


def test_confirmed_fit_shown_on_account(client, ae, account):
    client.force_login(ae)
    data = {"version": workspace.account_version(account), "decision": "confirm"}
    client.post(fit_url(account), {**data, "reason": "Budget and need confirmed"}, **HTMX)

    page = client.get(reverse("accounts:account-detail", args=[account.pk])).content.decode()

    badge = page[page.index('data-testid="fit-validated"') :]
    assert 'title="Budget and need confirmed"' in badge[:200]
    assert f"Fit confirmed by {ae.get_full_name() or ae.get_username()}, " in badge


def test_no_fit_badge_before_validation(client, ae, account):
    client.force_login(ae)
    page = client.get(reverse("accounts:account-detail", args=[account.pk])).content.decode()
    assert 'data-testid="fit-validated"' not in page


@pytest.fixture
def untagged(ae, approved_framework):
    return AccountFactory(
        name="Initech",
        owner=ae,
        framework=approved_framework,
        tag="",
        tier="high",
        score=80,
        missing_fields=["company_size"],
    )


def test_confirm_without_tag_rejected(client, ae, untagged):
    client.force_login(ae)
    response = client.post(
        fit_url(untagged),
        {
            "version": workspace.account_version(untagged),
            "decision": "confirm",
            "reason": "Budget confirmed",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert (
        f"Account {untagged.pk} has no tag, so there is no segment to confirm: its mandatory "
        "field company size is missing. Enter it on the account page so that it is tagged, "
        "then confirm the fit, or refine the fit with a tag."
    ) in html
    assert not SegmentOverride.objects.exists()


def test_confirm_form_without_tag_offers_refine(client, ae, untagged):
    client.force_login(ae)
    html = client.get(fit_url(untagged), **HTMX).content.decode()
    assert 'data-testid="fit-confirm-refused"' in html
    assert "Confirm fit</button>" not in html
    assert "?decision=refine" in html


def segment_card(html: str) -> str:
    start = html.index('<div id="account-segment"')
    return html[start : html.index('<div id="account-status"', start)]


def test_page_disables_confirm_fit_without_tag(client, ae, untagged):
    client.force_login(ae)
    page = client.get(reverse("accounts:account-detail", args=[untagged.pk])).content.decode()

    card = segment_card(page)
    assert "?decision=confirm" not in card
    assert re.search(r"<button [^>]*disabled[^>]*>Confirm fit</button>", card)
    assert 'data-testid="fit-confirm-unavailable">No tag to confirm yet.<' in card
    assert "?decision=refine" in card


def test_page_offers_confirm_fit_with_tag(client, ae, account):
    client.force_login(ae)
    page = client.get(reverse("accounts:account-detail", args=[account.pk])).content.decode()

    card = segment_card(page)
    assert "?decision=confirm" in card
    assert 'data-testid="fit-confirm-unavailable"' not in card


def test_refine_without_tag_allowed(client, ae, untagged):
    client.force_login(ae)
    response = client.post(
        fit_url(untagged),
        {
            "version": workspace.account_version(untagged),
            "decision": "refine",
            "tier": "high",
            "tag": "SaaS – SMB – US",
            "reason": "Discovery showed 40 employees",
        },
        **HTMX,
    )
    untagged.refresh_from_db()
    assert response.status_code == 200
    assert untagged.tag == "SaaS – SMB – US"


def test_owner_ae_refines_tier(client, ae, account):
    client.force_login(ae)
    client.post(
        fit_url(account),
        {
            "version": workspace.account_version(account),
            "decision": "refine",
            "tier": "high",
            "tag": "",
            "reason": "3 teams want it",
        },
        **HTMX,
    )
    override = SegmentOverride.objects.get(account=account)
    account.refresh_from_db()
    assert account.tier == "high"
    assert override.old_tier == "medium"
    assert override.new_tier == "high"
    assert override.kind == SegmentOverride.Kind.FIT_VALIDATION
    page = client.get(reverse("accounts:account-detail", args=[account.pk])).content.decode()
    assert "Fit refined by " in page


def test_refinement_without_change_rejected(client, ae, account):
    client.force_login(ae)
    response = client.post(
        fit_url(account),
        {
            "version": workspace.account_version(account),
            "decision": "refine",
            "tier": "medium",
            "tag": "",
            "reason": "Same",
        },
        **HTMX,
    )
    assert response.status_code == 422
    assert "The refinement changes nothing" in response.content.decode()
    assert not SegmentOverride.objects.exists()


def test_fit_requires_reason(client, ae, account):
    client.force_login(ae)
    response = client.post(
        fit_url(account),
        {"version": workspace.account_version(account), "decision": "confirm", "reason": ""},
        **HTMX,
    )
    assert response.status_code == 422
    assert "“What discovery showed” is empty: say why" in response.content.decode()
    assert not SegmentOverride.objects.exists()


def test_manager_of_owner_validates_fit(client, manager, team, account):
    client.force_login(manager)
    response = client.post(
        fit_url(account),
        {
            "version": workspace.account_version(account),
            "decision": "confirm",
            "reason": "Call notes",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert SegmentOverride.objects.filter(account=account, user=manager).exists()


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_OPS, roles.MARKETING, roles.AE])
def test_fit_denied_to_others(client, make_user, account, role):
    client.force_login(make_user(role, username=f"other-{role}"))
    response = client.post(
        fit_url(account),
        {"version": workspace.account_version(account), "decision": "confirm", "reason": "x"},
        **HTMX,
    )
    assert response.status_code == 403
    assert not SegmentOverride.objects.exists()


def test_manager_of_other_team_denied(client, make_user, account):
    client.force_login(make_user(roles.SALES_MANAGER, username="other-manager"))
    assert client.get(fit_url(account), **HTMX).status_code == 403


def test_fit_buttons_shown_to_owner_only(client, ae, sdr, account):
    client.force_login(ae)
    assert ">Confirm fit</a>" in client.get(account.get_absolute_url()).content.decode()
    client.force_login(sdr)
    assert ">Confirm fit</a>" not in client.get(account.get_absolute_url()).content.decode()


def test_refine_form_offers_tier(client, ae, account):
    client.force_login(ae)
    html = client.get(fit_url(account) + "?decision=refine", **HTMX).content.decode()
    assert 'name="tier"' in html
    assert "Save refinement" in html


# Conflicts -----------------------------------------------------------------------------


@pytest.fixture
def conflicting(sdr, saas, approved_framework):
    account = AccountFactory(
        name="Initech",
        owner=sdr,
        framework=approved_framework,
        verification_status="conflicting",
        field_status={
            "company_size": {
                "status": "conflicting",
                "sources": ["apollo"],
                "values": {"apollo": "410", "zoominfo": "5,000"},
            }
        },
    )
    observations = {}
    for source, count in (("apollo", 410), ("zoominfo", 5000)):
        observations[source] = Observation.objects.create(
            account=account,
            field="employees",
            value={"count": count, "min": count, "max": count, "approximate": False},
            raw_value=str(count),
            source=source,
            observed_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    account.observations_by_source = observations
    return account


def resolve_url(account) -> str:
    return reverse("accounts:account-conflict-resolve", args=[account.pk, "employees"])


def test_resolve_form_lists_source_values(client, manager, team, conflicting):
    client.force_login(manager)
    html = client.get(resolve_url(conflicting), **HTMX).content.decode()
    assert "Apollo: 410" in html
    assert "ZoomInfo: 5,000" in html
    assert "Another value" in html


MERGED_ROWS_CSV = (
    "name,website,employees\n"
    "Walt Disney,disney.example,201000\n"
    "Twenty-First Century Fox,disney.example,22400\n"
)


@pytest.fixture
def merged_rows(tmp_path, sdr, approved_framework):
    """An account that two rows of one file gave different head counts."""
    path = tmp_path / "merged.csv"
    path.write_text(MERGED_ROWS_CSV, encoding="utf-8")
    run = accounts_import(path, source="crm")
    account = Account.objects.get(domain="disney.example")
    Account.objects.filter(pk=account.pk).update(owner=sdr)
    account.refresh_from_db()
    return run, account


def test_resolve_form_lists_both_rows_of_file(client, manager, team, merged_rows):
    run, account = merged_rows
    client.force_login(manager)
    html = client.get(resolve_url(account), **HTMX).content.decode()
    assert account.field_status["company_size"]["status"] == "conflicting"
    assert f"Crm: 201,000 (line 2, import #{run.pk})" in html
    assert f"Crm: 22,400 (line 3, import #{run.pk})" in html


def test_resolve_form_lists_repeated_old_value(client, manager, team, merged_rows, tmp_path):
    """A later import whose rows repeat an old value and add a new one offers both."""
    _run, account = merged_rows
    path = tmp_path / "later.csv"
    path.write_text(
        "name,website,employees\n"
        "Walt Disney,disney.example,201000\n"
        "Twenty-First Century Fox,disney.example,35000\n",
        encoding="utf-8",
    )
    later = accounts_import(path, source="crm")
    client.force_login(manager)
    html = client.get(resolve_url(account), **HTMX).content.decode()
    assert f"Crm: 201,000 (line 2, import #{later.pk})" in html
    assert f"Crm: 35,000 (line 3, import #{later.pk})" in html
    assert "22,400" not in html


def test_manager_resolves_with_earlier_row(client, manager, team, merged_rows):
    _run, account = merged_rows
    earlier = Observation.objects.get(account=account, field="employees", line=2)
    client.force_login(manager)
    response = client.post(
        resolve_url(account), {"choice": str(earlier.pk), "reason": "Disney's own row"}, **HTMX
    )
    account.refresh_from_db()
    assert response.status_code == 200
    assert FieldResolution.objects.get(account=account).observation == earlier
    assert account.employee_count == 201000


def test_manager_resolves_by_choosing_source(client, manager, team, conflicting):
    chosen = conflicting.observations_by_source["zoominfo"]
    client.force_login(manager)
    response = client.post(
        resolve_url(conflicting), {"choice": str(chosen.pk), "reason": "Annual report"}, **HTMX
    )
    resolution = FieldResolution.objects.get(account=conflicting)
    conflicting.refresh_from_db()
    assert response.status_code == 200
    assert resolution.observation == chosen
    assert resolution.reason == "Annual report"
    assert conflicting.employee_count == 5000
    assert conflicting.field_status["company_size"]["status"] == "accepted"


def test_manager_resolves_with_typed_value(client, manager, team, conflicting):
    client.force_login(manager)
    client.post(
        resolve_url(conflicting),
        {"choice": "other", "value": "1,200", "reason": "Asked the CFO"},
        **HTMX,
    )
    conflicting.refresh_from_db()
    assert FieldResolution.objects.get(account=conflicting).value["count"] == 1200
    assert conflicting.employee_count == 1200


def test_typed_value_must_be_valid(client, manager, team, conflicting):
    client.force_login(manager)
    response = client.post(
        resolve_url(conflicting),
        {"choice": "other", "value": "many", "reason": "Asked"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Company size &#x27;many&#x27; is invalid" in response.content.decode()
    assert not FieldResolution.objects.exists()


def test_resolution_requires_reason(client, manager, team, conflicting):
    chosen = conflicting.observations_by_source["apollo"]
    client.force_login(manager)
    response = client.post(
        resolve_url(conflicting), {"choice": str(chosen.pk), "reason": ""}, **HTMX
    )
    assert response.status_code == 422
    assert not FieldResolution.objects.exists()


def test_sdr_may_not_resolve(client, sdr, conflicting):
    client.force_login(sdr)
    assert client.get(resolve_url(conflicting), **HTMX).status_code == 403


def test_unresolvable_field_is_404(client, manager, team, conflicting):
    client.force_login(manager)
    url = reverse("accounts:account-conflict-resolve", args=[conflicting.pk, "description"])
    assert client.get(url, **HTMX).status_code == 404


def test_sdr_edit_of_conflicting_field_rejected(client, sdr, conflicting):
    client.force_login(sdr)
    url = reverse("accounts:account-field-edit", args=[conflicting.pk, "employees"])
    data = {"employees": "900", "version": workspace.account_version(conflicting)}
    count = conflicting.employee_count

    response = client.post(url, data, **HTMX)

    conflicting.refresh_from_db()
    assert response.status_code == 422
    assert "Employees has conflicting sources, so it cannot be edited" in (
        response.content.decode()
    )
    assert conflicting.employee_count == count
    assert conflicting.field_status["company_size"]["status"] == "conflicting"
    assert not Observation.objects.filter(account=conflicting, source="manual").exists()


def test_conflicting_field_offers_no_edit_link(client, sdr, conflicting):
    client.force_login(sdr)
    html = client.get(conflicting.get_absolute_url()).content.decode()
    assert 'data-testid="edit-employees"' not in html
    assert 'data-testid="edit-industry"' in html
    assert "A Sales Manager of the account's team can resolve it." in html


def test_api_change_of_conflicting_field_rejected(client, sdr, conflicting):
    client.force_login(sdr)
    response = client.patch(
        f"/api/v1/accounts/{conflicting.pk}/",
        {"employee_count": 900},
        content_type="application/json",
    )
    count = conflicting.employee_count
    conflicting.refresh_from_db()
    assert response.status_code == 400
    assert "conflicting sources" in response.json()["error"]["fields"]["employee_count"][0]
    assert conflicting.employee_count == count


def test_api_change_of_other_field_allowed(client, sdr, conflicting):
    client.force_login(sdr)
    response = client.patch(
        f"/api/v1/accounts/{conflicting.pk}/",
        {"description": "Makes TPS reports."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


# Reason lengths: counted in user-perceived characters, each line break once -----------

EMOJI_REASON = "🚀" * 500
CRLF_REASON = "line\r\n" * 100


def fit_post(client, account, reason: str):
    data = {"version": workspace.account_version(account), "decision": "confirm"}
    return client.post(fit_url(account), {**data, "reason": reason}, **HTMX)


@pytest.mark.parametrize(
    ("reason", "stored"), [(EMOJI_REASON, EMOJI_REASON), (CRLF_REASON, "line\n" * 99 + "line")]
)
def test_fit_reason_counts_characters(client, ae, account, reason, stored):
    client.force_login(ae)
    response = fit_post(client, account, reason)
    assert response.status_code == 200
    assert SegmentOverride.objects.get(account=account).reason == stored


def test_fit_reason_over_limit_rejected(client, ae, account):
    client.force_login(ae)
    response = fit_post(client, account, EMOJI_REASON + "🚀")
    assert response.status_code == 422
    assert "“What discovery showed” is 501 characters long" in response.content.decode()
    assert not SegmentOverride.objects.exists()


def test_resolve_reason_form_has_counter(client, manager, team, conflicting):
    client.force_login(manager)
    html = client.get(resolve_url(conflicting), **HTMX).content.decode()
    textarea = html[html.index('<textarea name="reason"') :]
    assert "maxlength" not in textarea[: textarea.index(">")]
    assert 'data-max-length="500"' in textarea[: textarea.index(">")]
    assert '<span id="resolve_reason-counter"' in html


@pytest.mark.parametrize(
    ("reason", "stored"), [(EMOJI_REASON, EMOJI_REASON), (CRLF_REASON, "line\n" * 99 + "line")]
)
def test_resolve_reason_counts_code_points(client, manager, team, conflicting, reason, stored):
    client.force_login(manager)
    chosen = conflicting.observations_by_source["zoominfo"]
    response = client.post(
        resolve_url(conflicting), {"choice": str(chosen.pk), "reason": reason}, **HTMX
    )
    assert response.status_code == 200
    assert FieldResolution.objects.get(account=conflicting).reason == stored


def test_resolve_reason_over_limit_rejected(client, manager, team, conflicting):
    client.force_login(manager)
    chosen = conflicting.observations_by_source["zoominfo"]
    response = client.post(
        resolve_url(conflicting), {"choice": str(chosen.pk), "reason": "é" * 501}, **HTMX
    )
    assert response.status_code == 422
    assert "“Why this value is right” is 501 characters long" in response.content.decode()
    assert not FieldResolution.objects.exists()
