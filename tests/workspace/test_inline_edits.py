import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import workspace
from accounts.models import Account, ResearchNote, SegmentOverride
from enrichment.models import Observation
from segmentation.models import ScoreRecord
from segmentation.taxonomy import unknown_industry_message
from tests.factories import AccountFactory

from .conftest import HTMX


def edit_url(account: Account, field: str) -> str:
    return reverse("accounts:account-field-edit", args=[account.pk, field])


def version_of(account: Account) -> str:
    account.refresh_from_db()
    return workspace.account_version(account)


@pytest.fixture
def account(sdr, approved_framework):
    return AccountFactory(
        name="Globex",
        owner=sdr,
        employee_raw="500",
        country="US",
        region="CA",
        city="San Francisco",
        framework=approved_framework,
        tag="SaaS – SMB – US",
        tier="medium",
        score=55,
    )


@pytest.fixture
def client_sdr(client, sdr):
    client.force_login(sdr)
    return client


# Field edits ---------------------------------------------------------------------------


def test_field_form_carries_version(client_sdr, account):
    html = client_sdr.get(edit_url(account, "employees"), **HTMX).content.decode()
    assert f'value="{version_of(account)}"' in html
    assert 'name="version"' in html
    assert 'value="500"' in html


def test_field_edit_saves_normalized_value(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "employees"),
        {"employees": "51-200", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.employee_raw == "51-200"
    assert account.employee_min == 51
    assert account.employee_max == 200
    assert 'data-testid="field-saved"' in response.content.decode()


def test_field_edit_records_manual_observation(client_sdr, account, sdr):
    client_sdr.post(
        edit_url(account, "employees"),
        {"employees": "51-200", "version": version_of(account)},
        **HTMX,
    )
    observation = Observation.objects.get(account=account, field="employees")
    assert observation.source == "manual"
    assert observation.entered_by == sdr
    assert observation.raw_value == "51-200"
    assert observation.value == {"count": 125, "min": 51, "max": 200, "approximate": False}


def test_field_edit_verifies_and_rescores(client_sdr, account):
    client_sdr.post(
        edit_url(account, "employees"),
        {"employees": "51-200", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert account.field_status["company_size"]["status"] == "accepted"
    assert ScoreRecord.objects.filter(account=account).exists()


def test_field_edit_tells_page_account_changed(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "employees"),
        {"employees": "51-200", "version": version_of(account)},
        **HTMX,
    )
    events = json.loads(response["HX-Trigger"])
    assert events["accountChanged"] == {"account": account.pk}


def test_field_edit_invalid_shows_error_next_to_field(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "employees"),
        {"employees": "lots of people", "version": version_of(account)},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "“lots of people” is not a head count" in html
    assert 'aria-describedby="edit_employees_employees-error"' in html
    assert 'id="edit_employees_employees-error"' in html
    assert "is-invalid" in html


def test_field_edit_invalid_saves_nothing(client_sdr, account):
    before = version_of(account)
    client_sdr.post(
        edit_url(account, "employees"), {"employees": "lots of people", "version": before}, **HTMX
    )
    account.refresh_from_db()
    assert account.employee_raw == "500"
    assert workspace.account_version(account) == before
    assert not Observation.objects.filter(account=account).exists()


def test_field_edit_empty_value_rejected(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "revenue"), {"revenue": "  ", "version": version_of(account)}, **HTMX
    )
    assert response.status_code == 422
    assert "Revenue is empty" in response.content.decode()


@pytest.mark.parametrize(
    "revenue",
    [
        "10000000000000000000000000",
        "100000000000000000000000000",
        "$9999999999999999999T",
        "9" * 40,
    ],
)
def test_revenue_edit_too_large_rejected(client_sdr, account, revenue):
    response = client_sdr.post(
        edit_url(account, "revenue"), {"revenue": revenue, "version": version_of(account)}, **HTMX
    )
    assert response.status_code == 422
    assert escape(f"“{revenue}” is too large: check the unit.") in response.content.decode()


def test_revenue_edit_converts_to_usd(client_sdr, account):
    client_sdr.post(
        edit_url(account, "revenue"), {"revenue": "$12.5M", "version": version_of(account)}, **HTMX
    )
    account.refresh_from_db()
    assert account.annual_revenue_usd == 12_500_000
    assert account.revenue_raw == "$12.5M"


def test_location_edit_normalizes_country(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "location"),
        {"city": "Berlin", "region": "", "country": "Germany", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.country == "DE"
    assert account.city == "Berlin"
    assert account.region == ""


def test_location_warning_reads_as_sentence(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "location"),
        {"city": "", "region": "Bavaria", "country": "US", "version": version_of(account)},
        **HTMX,
    )
    warnings = response.context["warnings"]
    assert response.status_code == 200
    assert warnings == ['Region "Bavaria" is not a known state, province or territory of US.']


def test_location_edit_unknown_country_rejected(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "location"),
        {"city": "", "region": "", "country": "Atlantis", "version": version_of(account)},
        **HTMX,
    )
    html = response.content.decode()
    account.refresh_from_db()
    assert response.status_code == 422
    assert "“Atlantis” is not a country" in html
    assert 'id="edit_location_country-error"' in html
    assert account.country == "US"


def test_website_edit_sets_domain(client_sdr, account):
    client_sdr.post(
        edit_url(account, "website"),
        {"website": "WWW.Globex.example/about?utm_source=x", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert account.website == "https://www.globex.example/about"
    assert account.domain == "globex.example"


def test_website_edit_rejects_taken_domain(client_sdr, account):
    AccountFactory(name="Initech", domain="initech.example")
    response = client_sdr.post(
        edit_url(account, "website"),
        {"website": "https://initech.example", "version": version_of(account)},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Account “Initech”" in response.content.decode()
    assert "already has the domain initech.example" in response.content.decode()


def test_website_edit_rejects_third_party_page(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "website"),
        {"website": "https://www.linkedin.com/company/globex", "version": version_of(account)},
        **HTMX,
    )
    assert response.status_code == 422
    assert "third-party page" in response.content.decode()


def test_website_edit_accepts_platform_own_site(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(name="Facebook", domain="facebook.com")
    account.refresh_from_db()

    response = client_sdr.post(
        edit_url(account, "website"),
        {"website": "https://www.facebook.com/", "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert response.status_code == 200
    assert account.website == "https://www.facebook.com"
    assert account.domain == "facebook.com"


def test_technologies_edit_normalizes_list(client_sdr, account):
    client_sdr.post(
        edit_url(account, "technologies"),
        {"technologies": "salesforce, Snowflake, salesforce", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert account.technologies == ["Salesforce", "Snowflake"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Snowflake, 🚀", "“🚀” is not a technology name"),
        ("<b>Snowflake</b>", "which look like pasted markup"),
    ],
)
def test_technologies_edit_rejects_non_names(client_sdr, account, text, message):
    response = client_sdr.post(
        edit_url(account, "technologies"),
        {"technologies": text, "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert response.status_code == 422
    assert message in response.content.decode()
    assert "Snowflake" not in account.technologies


@pytest.mark.parametrize("length", [65, 101])
def test_technologies_edit_rejects_long_name(client_sdr, account, length):
    name = ("Enterprise Data Platform " * 5)[: length - 1] + "X"
    response = client_sdr.post(
        edit_url(account, "technologies"),
        {"technologies": f"Snowflake, {name}", "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 422
    assert f"is {length} characters long, over the limit of 64" in html
    assert escape(f"“{name[:60]}") in html
    assert "Snowflake" not in account.technologies


def test_technologies_edit_keeps_symbol_names(client_sdr, account):
    client_sdr.post(
        edit_url(account, "technologies"),
        {"technologies": "C#, .NET, C++", "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert account.technologies == ["C#", ".NET", "C++"]


def test_technologies_edit_keeps_ampersands(client_sdr, account):
    client_sdr.post(
        edit_url(account, "technologies"),
        {"technologies": "AT&T; Q&A Tool; AT&amp;T Cloud", "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert account.technologies == ["AT&T", "Q&A Tool", "AT&T Cloud"]


def test_technologies_edit_replaces_sources_list(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(technologies=["Marketo", "Slack"])
    account.refresh_from_db()
    Observation.objects.create(
        account=account,
        field="technologies",
        value=["Marketo", "Slack"],
        raw_value="Marketo, Slack",
        source="apollo",
        observed_at=timezone.now(),
    )

    response = client_sdr.post(
        edit_url(account, "technologies"),
        {"technologies": "Snowflake", "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert account.technologies == ["Snowflake"]
    assert "union" not in response.content.decode()


def test_industry_edit_maps_taxonomy(client_sdr, account, saas):
    client_sdr.post(
        edit_url(account, "industry"),
        {"industry_raw": "SaaS", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert account.industry_id == saas.pk
    assert account.industry_raw == "SaaS"


UNKNOWN_INDUSTRY_LABEL = "Quantum Basket Weaving"


@pytest.fixture
def saas_account(account, saas):
    Account.objects.filter(pk=account.pk).update(industry=saas, industry_raw="SaaS")
    account.refresh_from_db()
    return account


def test_industry_edit_rejects_unknown_label(client_sdr, saas_account, saas, sdr):
    response = client_sdr.post(
        edit_url(saas_account, "industry"),
        {"industry_raw": UNKNOWN_INDUSTRY_LABEL, "version": version_of(saas_account)},
        **HTMX,
    )

    html = response.content.decode()
    saas_account.refresh_from_db()
    assert response.status_code == 422
    assert escape(unknown_industry_message(UNKNOWN_INDUSTRY_LABEL, sdr)) in html
    assert "ask Sales Ops to add it as a synonym of an industry." in html
    assert saas_account.industry_id == saas.pk
    assert saas_account.industry_raw == "SaaS"
    assert not Observation.objects.filter(account=saas_account, source="manual").exists()


def test_industry_edit_rejection_lists_industries(client_sdr, saas_account):
    html = client_sdr.post(
        edit_url(saas_account, "industry"),
        {"industry_raw": UNKNOWN_INDUSTRY_LABEL, "version": version_of(saas_account)},
        **HTMX,
    ).content.decode()

    listed = re.search(r'data-testid="industry-names">Industries: ([^<]*)\.</div>', html)
    assert listed is not None
    assert escape("SaaS, Telecommunications") in listed.group(1)
    assert 'name="allow_unmapped"' in html
    assert "Save as unmapped anyway" in html


def test_industry_error_names_admin_for_staff(client, saas_account, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="unused-password")
    client.force_login(admin)

    html = client.post(
        edit_url(saas_account, "industry"),
        {"industry_raw": UNKNOWN_INDUSTRY_LABEL, "version": version_of(saas_account)},
        **HTMX,
    ).content.decode()

    assert "add it as a synonym in the admin under Segmentation &gt; Industries." in html


def test_industry_edit_rejects_unknown_without_htmx(client_sdr, saas_account, saas):
    response = client_sdr.post(
        edit_url(saas_account, "industry"),
        {"industry_raw": UNKNOWN_INDUSTRY_LABEL, "version": version_of(saas_account)},
    )

    saas_account.refresh_from_db()
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "matches no industry or synonym" in response.content.decode()
    assert saas_account.industry_id == saas.pk


@pytest.mark.parametrize(
    "label", ["saas", "SAAS", "Computer Software", "computer software", "COMPUTER SOFTWARE"]
)
def test_industry_edit_ignores_letter_case(client_sdr, account, saas, label):
    response = client_sdr.post(
        edit_url(account, "industry"),
        {"industry_raw": label, "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert response.status_code == 200
    assert account.industry_id == saas.pk
    assert account.industry_raw == label


def test_industry_edit_saves_unmapped_when_confirmed(client_sdr, saas_account):
    response = client_sdr.post(
        edit_url(saas_account, "industry"),
        {
            "industry_raw": UNKNOWN_INDUSTRY_LABEL,
            "allow_unmapped": "on",
            "version": version_of(saas_account),
        },
        **HTMX,
    )

    saas_account.refresh_from_db()
    assert response.status_code == 200
    assert "so the account stays unmapped" in response.content.decode()
    assert saas_account.industry_id is None
    assert saas_account.industry_raw == UNKNOWN_INDUSTRY_LABEL
    assert saas_account.needs_enrichment is True


def test_industry_edit_keeps_current_unmapped_label(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(industry=None, industry_raw="Widgets")

    response = client_sdr.post(
        edit_url(account, "industry"),
        {"industry_raw": "Widgets", "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert response.status_code == 200
    assert 'data-testid="field-unchanged"' in response.content.decode()
    assert account.industry_raw == "Widgets"


def test_industry_edit_rejects_respelled_unmapped_label(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(industry=None, industry_raw="Widgets")

    response = client_sdr.post(
        edit_url(account, "industry"),
        {"industry_raw": "WIDGETS", "version": version_of(account)},
        **HTMX,
    )

    account.refresh_from_db()
    assert response.status_code == 422
    assert "matches no industry or synonym" in response.content.decode()
    assert account.industry_raw == "Widgets"


def test_industry_form_hides_unmapped_box(client_sdr, saas_account):
    html = client_sdr.get(edit_url(saas_account, "industry"), **HTMX).content.decode()

    assert 'name="allow_unmapped"' not in html
    assert 'data-testid="industry-names"' not in html
    assert 'list="industry-options"' in html
    assert '<datalist id="industry-options">' in html
    assert '<option value="SaaS">' in html


def test_unmapped_box_stays_ticked(client_sdr, saas_account):
    response = client_sdr.post(
        edit_url(saas_account, "industry"),
        {"industry_raw": UNKNOWN_INDUSTRY_LABEL, "allow_unmapped": "on"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "reload the page and try again" in html
    assert re.search(r'<input type="checkbox" name="allow_unmapped"[^>]* checked', html)


def test_field_edit_without_htmx_redirects(client_sdr, account):
    response = client_sdr.post(
        edit_url(account, "description"),
        {"description": "Makes anvils.", "version": version_of(account)},
    )
    account.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == account.get_absolute_url()
    assert account.description == "Makes anvils."


def test_field_edit_form_renders_full_page_without_htmx(client_sdr, account):
    html = client_sdr.get(edit_url(account, "description")).content.decode()
    assert "<html" in html
    assert 'name="description"' in html


def test_description_form_has_counter_without_maxlength(client_sdr, account):
    html = client_sdr.get(edit_url(account, "description"), **HTMX).content.decode()
    textarea = re.search(r"<textarea[^>]*>", html)
    assert textarea is not None
    assert "maxlength" not in textarea[0]
    assert 'data-max-length="5000"' in textarea[0]
    assert 'data-counter="edit_description_description-counter"' in textarea[0]
    assert 'id="edit_description_description-counter"' in html


def test_description_emoji_counted_as_one(client_sdr, account):
    text = "🚀" * 3000
    response = client_sdr.post(
        edit_url(account, "description"),
        {"description": text, "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.description == text


def test_long_description_rejected_with_text_kept(client_sdr, account):
    text = "Makes anvils. " * 2000
    response = client_sdr.post(
        edit_url(account, "description"),
        {"description": text, "version": version_of(account)},
        **HTMX,
    )
    html = response.content.decode()
    account.refresh_from_db()
    assert response.status_code == 422
    assert "Description is 28000 characters long, more than the 5000 allowed: shorten it." in html
    assert text.strip() in html
    assert account.description != text


def test_unknown_field_is_404(client_sdr, account):
    assert client_sdr.get(edit_url(account, "owner"), **HTMX).status_code == 404


# Concurrency ---------------------------------------------------------------------------


def other_person_edits(account: Account, user) -> None:
    workspace.account_field_update(
        account=account,
        field_name="industry",
        data={"industry_raw": "Defense"},
        user=user,
        version=workspace.parse_version(version_of(account)),
    )


def test_stale_edit_refused(client_sdr, account, manager, team):
    stale = version_of(account)
    other_person_edits(account, manager)
    response = client_sdr.post(
        edit_url(account, "employees"), {"employees": "51-200", "version": stale}, **HTMX
    )
    account.refresh_from_db()
    assert response.status_code == 409
    assert account.employee_raw == "500"


def test_stale_edit_shows_other_change(client_sdr, account, manager, team):
    stale = version_of(account)
    other_person_edits(account, manager)
    html = client_sdr.post(
        edit_url(account, "employees"), {"employees": "51-200", "version": stale}, **HTMX
    ).content.decode()
    assert 'data-testid="stale-warning"' in html
    assert "your change was not saved" in html
    assert "manager" in html
    assert "Industry label: — → <strong>Defense</strong>" in html


def test_stale_edit_keeps_typed_value_with_new_version(client_sdr, account, manager, team):
    stale = version_of(account)
    other_person_edits(account, manager)
    html = client_sdr.post(
        edit_url(account, "employees"), {"employees": "51-200", "version": stale}, **HTMX
    ).content.decode()
    assert 'value="51-200"' in html
    assert f'value="{version_of(account)}"' in html


def test_stale_edit_saved_when_sent_again(client_sdr, account, manager, team):
    stale = version_of(account)
    other_person_edits(account, manager)
    client_sdr.post(
        edit_url(account, "employees"), {"employees": "51-200", "version": stale}, **HTMX
    )
    response = client_sdr.post(
        edit_url(account, "employees"),
        {"employees": "51-200", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.employee_raw == "51-200"
    assert account.industry_raw == "Defense"


def test_missing_version_refused(client_sdr, account):
    response = client_sdr.post(edit_url(account, "employees"), {"employees": "51-200"}, **HTMX)
    account.refresh_from_db()
    assert response.status_code == 422
    assert "reload the page and try again" in response.content.decode()
    assert account.employee_raw == "500"


# Tag and tier --------------------------------------------------------------------------


def segment_url(account: Account) -> str:
    return reverse("accounts:account-segment-edit", args=[account.pk])


@pytest.mark.parametrize(
    ("status", "warned"), [("single_source", True), ("conflicting", True), ("verified", False)]
)
def test_tag_form_warns_of_unconfirmed_field(client_sdr, account, status, warned):
    Account.objects.filter(pk=account.pk).update(
        field_status={"industry": {"status": status}, "country": {"status": "verified"}}
    )

    html = client_sdr.get(segment_url(account), **HTMX).content.decode()

    assert ('data-testid="unconfirmed-warning"' in html) is warned
    assert (f"industry ({status.replace('_', ' ')})" in html) is warned


def test_tag_edit_requires_reason(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {"tag": "FinTech – SMB – US", "tier": "", "reason": "", "version": version_of(account)},
        **HTMX,
    )
    account.refresh_from_db()
    assert response.status_code == 422
    assert "Reason is empty" in response.content.decode()
    assert account.tag == "SaaS – SMB – US"
    assert not SegmentOverride.objects.exists()


def test_tag_edit_saves_manual_override(client_sdr, account, sdr):
    response = client_sdr.post(
        segment_url(account),
        {
            "tag": "FinTech – SMB – US",
            "tier": "high",
            "reason": "Payments product",
            "version": version_of(account),
        },
        **HTMX,
    )
    account.refresh_from_db()
    override = SegmentOverride.objects.get(account=account)
    assert response.status_code == 200
    assert account.tag == "FinTech – SMB – US"
    assert account.tier == "high"
    assert override.kind == SegmentOverride.Kind.MANUAL_TAG
    assert override.reason == "Payments product"
    assert override.user == sdr


def test_tag_edit_returns_segment_with_event(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {
            "tag": "FinTech – SMB – US",
            "tier": "",
            "reason": "Payments",
            "version": version_of(account),
        },
        **HTMX,
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="account-segment"')
    assert 'data-testid="account-tag">FinTech – SMB – US<' in html
    assert "accountChanged" in response["HX-Trigger"]


def test_tag_edit_page_sends_plain_requests(client_sdr, account):
    html = client_sdr.get(segment_url(account)).content.decode()

    page_start = html.index('<div class="fragment-page card" hx-disable>')
    assert page_start < html.index('<form id="account-segment"')


def test_tag_edit_without_htmx_redirects_to_account(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {
            "tag": "FinTech – SMB – US",
            "tier": "",
            "reason": "Payments",
            "version": version_of(account),
        },
        follow=True,
    )

    html = response.content.decode()
    assert response.redirect_chain == [(account.get_absolute_url(), 302)]
    assert "Tag and tier saved." in html
    assert 'id="firmographics-heading"' in html


def test_tag_edit_off_template_rejected(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {
            "tag": "Fintech - Small - US",
            "tier": "",
            "reason": "Payments",
            "version": version_of(account),
        },
        **HTMX,
    )
    account.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 422
    assert "does not follow the tag template" in html
    assert "SMB, Mid-Market, Enterprise" in html
    assert account.tag == "SaaS – SMB – US"
    assert not SegmentOverride.objects.exists()


def test_tag_edit_stores_template_spelling(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {
            "tag": "fintech - smb - us",
            "tier": "",
            "reason": "Payments",
            "version": version_of(account),
        },
        **HTMX,
    )
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.tag == "FinTech – SMB – US"


def test_tag_edit_respelled_tag_unchanged(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {"tag": "saas-smb-us", "tier": "", "reason": "Same", "version": version_of(account)},
        **HTMX,
    )
    assert response.status_code == 422
    assert "unchanged" in response.content.decode()
    assert not SegmentOverride.objects.exists()


def test_tag_edit_unchanged_rejected(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {"tag": account.tag, "tier": "", "reason": "No change", "version": version_of(account)},
        **HTMX,
    )
    assert response.status_code == 422
    assert "unchanged" in response.content.decode()


def test_tag_edit_stale_refused(client_sdr, account, manager, team):
    stale = version_of(account)
    other_person_edits(account, manager)
    response = client_sdr.post(
        segment_url(account),
        {"tag": "FinTech – SMB – US", "tier": "", "reason": "Payments", "version": stale},
        **HTMX,
    )
    account.refresh_from_db()
    assert response.status_code == 409
    assert account.tag != "FinTech – SMB – US"
    assert not SegmentOverride.objects.filter(account=account).exists()
    assert "Aerospace" in response.content.decode()


def test_explanation_names_overrides_in_force(client_sdr, account):
    changes = [
        {"tag": "FinTech – SMB – US", "tier": "", "reason": "test 🚀"},
        {"tag": "FinTech – SMB – US", "tier": "high", "reason": "Discovery call showed fit"},
        {"tag": "FinTech – SMB – US", "tier": "medium", "reason": "ok"},
    ]
    for data in changes:
        response = client_sdr.post(
            segment_url(account), {**data, "version": version_of(account)}, **HTMX
        )
        assert response.status_code == 200

    latest = ScoreRecord.objects.filter(account=account).latest("created_at", "id")
    manual = [item for item in latest.explanation if item["dimension"] == "manual"]
    assert latest.tier == "medium"
    assert [item["label"] for item in manual] == ["Tag override", "Tier override"]
    assert manual[0]["reason"].endswith(": test 🚀")
    assert "'FinTech – SMB – US'" in manual[0]["reason"]
    assert manual[1]["reason"].endswith(": ok")
    assert "'medium'" in manual[1]["reason"]
    assert not any("Discovery call showed fit" in item["reason"] for item in latest.explanation)


# Notes ---------------------------------------------------------------------------------


def note_url(account: Account) -> str:
    return reverse("accounts:research-note-create", args=[account.pk])


def test_note_add_publishes(client_sdr, account, sdr):
    response = client_sdr.post(
        note_url(account),
        {
            "kind": "funding",
            "text": "Raised a $40M Series B.",
            "source_url": "https://news.example/globex",
            "happened_on": "2026-03-02",
        },
        **HTMX,
    )
    note = ResearchNote.objects.get(account=account)
    html = response.content.decode()
    assert response.status_code == 200
    assert note.status == ResearchNote.Status.PUBLISHED
    assert note.author == sdr
    assert note.kind == "funding"
    assert "Raised a $40M Series B." in html
    assert 'rel="noopener noreferrer"' in html


def test_note_future_date_rejected(client_sdr, account):
    later = (timezone.localdate() + timedelta(days=400)).isoformat()
    data = {"kind": "expansion", "text": "Opens a Tokyo office.", "happened_on": later}
    response = client_sdr.post(note_url(account), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert f"{later} is in the future" in html
    assert not ResearchNote.objects.filter(account=account).exists()


def test_note_mistyped_year_rejected(client_sdr, account):
    # Typing "26" into a date input's year gives 0026, which is no real event date.
    data = {"kind": "funding", "text": "Raised a Series A.", "happened_on": "0026-03-01"}
    response = client_sdr.post(note_url(account), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert "0026-03-01 is before 1900: check the year" in html
    assert not ResearchNote.objects.filter(account=account).exists()


@pytest.mark.parametrize("value", ["31/12/2026", "yesterday"])
def test_note_invalid_date_named(client_sdr, account, value):
    data = {"kind": "funding", "text": "Raised a Series A.", "happened_on": value}
    response = client_sdr.post(note_url(account), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert escape(f"“{value}” is not a date: enter one as YYYY-MM-DD") in html
    assert not ResearchNote.objects.filter(account=account).exists()


def test_note_too_long_rejected(client_sdr, account):
    response = client_sdr.post(note_url(account), {"kind": "other", "text": "x" * 501}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Note is 501 characters long, more than the 500 allowed" in html
    assert 'id="note_text-error"' in html
    assert not ResearchNote.objects.exists()


def test_note_of_500_characters_accepted(client_sdr, account):
    response = client_sdr.post(note_url(account), {"kind": "other", "text": "x" * 500}, **HTMX)
    assert response.status_code == 200
    assert ResearchNote.objects.filter(account=account).count() == 1


def test_note_rejects_script_url(client_sdr, account):
    response = client_sdr.post(
        note_url(account),
        {"kind": "other", "text": "Look", "source_url": "javascript:alert(1)"},
        **HTMX,
    )
    assert response.status_code == 422
    assert response.content.decode().count("Enter an http or https link") == 1
    assert not ResearchNote.objects.exists()


def test_note_rejects_ftp_url(client_sdr, account):
    response = client_sdr.post(
        note_url(account),
        {"kind": "other", "text": "Look", "source_url": "ftp://files.example/report"},
        **HTMX,
    )
    assert response.status_code == 422
    assert not ResearchNote.objects.exists()


def test_note_text_is_escaped(client_sdr, account):
    html = client_sdr.post(
        note_url(account), {"kind": "other", "text": "<script>alert(1)</script>"}, **HTMX
    ).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_note_form_has_live_counter(client_sdr, account):
    html = client_sdr.get(account.get_absolute_url()).content.decode()
    assert 'data-counter="note-text-counter"' in html
    assert 'id="note-text-counter"' in html
    assert 'data-max-length="500"' in html
    textarea = html[html.index('<textarea name="text"') :]
    assert "maxlength" not in textarea[: textarea.index(">")]


def test_note_line_break_counts_once(client_sdr, account):
    text = "a" * 250 + "\r\n" + "b" * 249
    response = client_sdr.post(note_url(account), {"kind": "other", "text": text}, **HTMX)
    assert response.status_code == 200
    assert ResearchNote.objects.get(account=account).text == "a" * 250 + "\n" + "b" * 249


def review_url(note: ResearchNote) -> str:
    return reverse("accounts:research-note-review", args=[note.account_id, note.pk])


def test_proposed_note_published(client_sdr, account, sdr):
    note = ResearchNote.objects.create(
        account=account, kind="hire", text="Hired a CRO", status=ResearchNote.Status.PROPOSED
    )
    client_sdr.post(review_url(note), {"status": "published"}, **HTMX)
    note.refresh_from_db()
    assert note.status == ResearchNote.Status.PUBLISHED
    assert note.author == sdr


def test_proposed_note_dismissed_and_hidden(client_sdr, account):
    note = ResearchNote.objects.create(
        account=account, kind="hire", text="Hired a CRO", status=ResearchNote.Status.PROPOSED
    )
    html = client_sdr.post(review_url(note), {"status": "dismissed"}, **HTMX).content.decode()
    note.refresh_from_db()
    assert note.status == ResearchNote.Status.DISMISSED
    assert "Hired a CRO" not in html


def test_published_note_cannot_be_reviewed_again(client_sdr, account):
    note = ResearchNote.objects.create(account=account, kind="hire", text="Hired a CRO")
    response = client_sdr.post(review_url(note), {"status": "dismissed"}, **HTMX)
    note.refresh_from_db()
    assert response.status_code == 422
    assert note.status == ResearchNote.Status.PUBLISHED


# Reason lengths: counted in user-perceived characters, each line break once -----------

EMOJI_REASON = "🚀" * 500
CRLF_REASON = "line\r\n" * 100


def segment_post(client, account: Account, reason: str):
    data = {"tag": "FinTech – SMB – US", "tier": "", "reason": reason}
    return client.post(segment_url(account), {**data, "version": version_of(account)}, **HTMX)


def test_tag_reason_form_has_counter(client_sdr, account):
    html = client_sdr.get(segment_url(account), **HTMX).content.decode()
    textarea = html[html.index('<textarea name="reason"') :]
    assert "maxlength" not in textarea[: textarea.index(">")]
    assert 'data-max-length="500"' in textarea[: textarea.index(">")]
    assert 'data-counter="segment_reason-counter"' in html
    assert '<span id="segment_reason-counter"' in html


def test_tag_reason_of_500_emoji_accepted(client_sdr, account):
    response = segment_post(client_sdr, account, EMOJI_REASON)
    assert response.status_code == 200
    assert SegmentOverride.objects.get(account=account).reason == EMOJI_REASON


def test_tag_reason_of_501_emoji_rejected(client_sdr, account):
    response = segment_post(client_sdr, account, EMOJI_REASON + "🚀")
    assert response.status_code == 422
    assert "Reason is 501 characters long, more than the 500 allowed" in (response.content.decode())
    assert not SegmentOverride.objects.exists()


# Each counts as one character, although it has two to eleven code points.
CLUSTERS = {
    "flag": "🇩🇪",
    "skin tone": "👍🏽",
    "family": "👨‍👩‍👧‍👦",
    "family with skin tones": "👨🏽‍👩🏽‍👧🏽‍👦🏽",
    "combining accents": "e\u0301\u0302",
}


@pytest.mark.parametrize("cluster", CLUSTERS.values(), ids=CLUSTERS.keys())
def test_tag_reason_of_500_clusters_accepted(client_sdr, account, cluster):
    response = segment_post(client_sdr, account, cluster * 500)

    assert response.status_code == 200, response.content
    assert SegmentOverride.objects.get(account=account).reason == cluster * 500


@pytest.mark.parametrize("cluster", CLUSTERS.values(), ids=CLUSTERS.keys())
def test_tag_reason_of_501_clusters_rejected(client_sdr, account, cluster):
    response = segment_post(client_sdr, account, cluster * 501)

    html = response.content.decode()
    assert response.status_code == 422
    assert "Reason is 501 characters long, more than the 500 allowed" in html
    assert 'data-testid="segment_reason-counter">501</span> / 500 characters' in html
    assert not SegmentOverride.objects.exists()


def test_tag_reason_of_stacked_marks_rejected(client_sdr, account):
    # One character whose combining marks do not fit the column.
    response = segment_post(client_sdr, account, "e" + "\u0301" * 6000)

    assert response.status_code == 422
    assert "6001 code points, more than the 6000 that can be stored" in (response.content.decode())
    assert not SegmentOverride.objects.exists()


def test_tag_reason_crlf_stored_as_lf(client_sdr, account):
    response = segment_post(client_sdr, account, CRLF_REASON)
    assert response.status_code == 200
    assert SegmentOverride.objects.get(account=account).reason == "line\n" * 99 + "line"


def test_tag_edit_reports_every_error(client_sdr, account):
    response = client_sdr.post(
        segment_url(account),
        {"tag": "foo bar", "tier": "", "reason": "", "version": version_of(account)},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Reason is empty" in html
    assert "Tag &#x27;foo bar&#x27; does not follow the tag template" in html


def test_unconfirmed_warning_names_outcome(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(
        field_status={"industry": {"status": "single_source"}}
    )
    html = client_sdr.get(segment_url(account), **HTMX).content.decode()
    assert "save anyway" not in html
    assert "Save still works now, but the monthly audit then records a skipped step" in html
