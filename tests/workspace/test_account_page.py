from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Account, ResearchNote, SegmentOverride
from accounts.research import account_segment_override
from enrichment.models import Observation
from segmentation.models import ScoreRecord
from tests.factories import AccountFactory

from .conftest import HTMX

FIELD_STATUS = {
    "industry": {
        "status": "conflicting",
        "sources": ["apollo"],
        "values": {"apollo": "SaaS", "zoominfo": "<b>FinTech</b>"},
    },
    "company_size": {
        "status": "verified",
        "sources": ["fortune500", "sp500"],
        "values": {"fortune500": "480", "sp500": "500"},
    },
    "revenue": {"status": "single_source", "sources": ["apollo"], "values": {"apollo": "12M USD"}},
    "country": {"status": "missing", "sources": [], "values": {}},
    "technologies": {
        "status": "accepted",
        "sources": ["manual"],
        "values": {"manual": ["Salesforce"]},
        "resolution": {"by": "manager", "at": "2026-03-01T10:00:00+00:00", "reason": "Checked"},
    },
}


@pytest.fixture
def account(sdr, approved_framework):
    account = AccountFactory(
        name="Globex",
        owner=sdr,
        framework=approved_framework,
        tag="SaaS – SMB – US",
        tier="medium",
        score=55,
        field_status=FIELD_STATUS,
        verification_status="conflicting",
    )
    for source, employees in (("apollo", 410), ("zoominfo", 520)):
        Observation.objects.create(
            account=account,
            field="industry",
            value={"industry_id": None, "label": f"{source} label"},
            raw_value=f"{source} label",
            source=source,
            observed_at=datetime(2026, 1, employees % 28 + 1, tzinfo=UTC),
        )
    return account


def page(client, user, account) -> str:
    client.force_login(user)
    response = client.get(account.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_verified_badge_names_sources(client, sdr, account):
    html = page(client, sdr, account)
    assert "Verified · Fortune 500 + S&amp;P 500" in html


def test_single_source_badge_names_source(client, sdr, account):
    assert "Single source · Apollo" in page(client, sdr, account)


def test_missing_badge(client, sdr, account):
    html = page(client, sdr, account)
    assert 'data-testid="provenance-location">Missing<' in html


def test_accepted_badge_shows_resolution(client, sdr, account):
    html = page(client, sdr, account)
    assert "Accepted · Manual entry" in html
    assert "manager on 2026-03-01: Checked" in html


def test_conflict_badge_lists_each_source_value(client, sdr, account):
    html = page(client, sdr, account)
    assert 'data-testid="provenance-industry">Conflict<' in html
    assert '<span class="text-body-secondary">Apollo:</span> SaaS' in html
    assert '<span class="text-body-secondary">ZoomInfo:</span> &lt;b&gt;FinTech&lt;/b&gt;' in html


def test_conflict_resolve_button_only_for_reviewers(client, sdr, manager, team, account):
    resolve_url = reverse("accounts:account-conflict-resolve", args=[account.pk, "industry"])
    assert resolve_url not in page(client, sdr, account)
    assert resolve_url in page(client, manager, account)


def test_edit_links_only_for_researchers(client, sdr, marketing, account):
    edit_url = reverse("accounts:account-field-edit", args=[account.pk, "employees"])
    assert edit_url in page(client, sdr, account)
    assert edit_url not in page(client, marketing, account)


def test_notes_timeline_shows_note_details(client, sdr, account):
    ResearchNote.objects.create(
        account=account,
        kind="funding",
        text="Series B of $40M",
        source_url="https://news.example/globex",
        happened_on=date(2026, 2, 14),
        author=sdr,
    )
    html = page(client, sdr, account)
    assert "Series B of $40M" in html
    assert "14 Feb 2026" in html
    assert 'href="https://news.example/globex" target="_blank" rel="noopener noreferrer"' in html
    assert "kind-funding" in html


def test_notes_beyond_limit_can_be_shown(client, sdr, account):
    ResearchNote.objects.bulk_create(
        ResearchNote(account=account, text=f"Note {number}", author=sdr) for number in range(101)
    )
    html = page(client, sdr, account)
    url = reverse("accounts:account-section", args=[account.pk, "notes"])
    every = client.get(url, {"notes": "all"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Latest 100 notes" in html
    assert html.count('class="timeline-item') == 100
    assert 'data-testid="notes-all"' in html
    assert every.count('class="timeline-item') == 101
    assert "101 notes" in every


def test_exactly_100_notes_all_shown(client, sdr, account):
    ResearchNote.objects.bulk_create(
        ResearchNote(account=account, text=f"Note {number}", author=sdr) for number in range(100)
    )
    html = page(client, sdr, account)
    assert "100 notes" in html
    assert "Latest 100 notes" not in html


def test_sections_reload_after_a_change(client, sdr, account):
    client.force_login(sdr)
    html = client.get(account.get_absolute_url()).content.decode()
    Account.objects.filter(pk=account.pk).update(
        size_band="Enterprise", needs_enrichment=True, missing_fields=["industry"]
    )
    Observation.objects.create(
        account=account,
        field="employees",
        value={"count": 5000},
        raw_value="5,000",
        source="apollo",
        observed_at=timezone.now(),
    )

    def section(name: str) -> str:
        url = reverse("accounts:account-section", args=[account.pk, name])
        return client.get(url, HTTP_HX_REQUEST="true").content.decode()

    for name in ("status", "derived", "observations"):
        assert reverse("accounts:account-section", args=[account.pk, name]) in html
    assert "Enterprise" in section("derived")
    assert "Missing fields:" in section("status")
    assert "5,000" in section("observations")


def test_identifiers_and_flags_reload(client, sdr, account):
    client.force_login(sdr)
    html = client.get(account.get_absolute_url()).content.decode()
    updated = timezone.now() + timedelta(days=3)
    Account.objects.filter(pk=account.pk).update(
        updated_at=updated, review_flags=["Revenue lots could not be read."]
    )

    def section(name: str) -> str:
        url = reverse("accounts:account-section", args=[account.pk, name])
        return client.get(url, HTTP_HX_REQUEST="true").content.decode()

    for name in ("identifiers", "review-flags"):
        assert reverse("accounts:account-section", args=[account.pk, name]) in html
    assert 'hx-trigger="accountChanged from:body"' in section("identifiers")
    assert date_format(timezone.localtime(updated), "DATETIME_FORMAT") in section("identifiers")
    assert "Revenue lots could not be read." in section("review-flags")


def test_banner_names_conflicting_missing_field(client, sdr, account):
    Account.objects.filter(pk=account.pk).update(
        needs_enrichment=True,
        missing_fields=["industry", "geography"],
        field_status={"industry": {"status": "conflicting"}, "country": {"status": "missing"}},
    )
    html = page(client, sdr, account)
    assert "Industry (sources conflict)" in html
    assert "Geography (sources conflict)" not in html


def test_notes_timeline_offers_review_of_proposed(client, sdr, account):
    note = ResearchNote.objects.create(
        account=account, kind="expansion", text="Opens Tokyo office", status="proposed"
    )
    html = page(client, sdr, account)
    assert "Proposed by enrichment" in html
    assert reverse("accounts:research-note-review", args=[account.pk, note.pk]) in html
    assert ">Publish</button>" in html
    assert ">Dismiss</button>" in html


def test_notes_timeline_hides_dismissed(client, sdr, account):
    ResearchNote.objects.create(account=account, text="Old rumour", status="dismissed")
    assert "Old rumour" not in page(client, sdr, account)


def test_notes_timeline_does_not_link_script_urls(client, sdr, account):
    ResearchNote.objects.bulk_create(
        [ResearchNote(account=account, text="Feed item", source_url="javascript:alert(1)")]
    )
    assert 'href="javascript:' not in page(client, sdr, account)


def history_section(html: str) -> str:
    start = html.index('id="account-history"')
    return html[start : html.index("</section>", start)]


def test_history_merges_overrides_scores_and_changes(client, sdr, manager, team, account):
    ScoreRecord.objects.create(
        account=account, framework=account.framework, score=55, tier="medium", tag="Old tag"
    )
    account_segment_override(
        account=account,
        user=manager,
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason="Wrong size band",
        tier="low",
    )
    account.refresh_from_db()
    account.city = "Boston"
    account.save()
    html = history_section(page(client, sdr, account))
    assert "Corrected in manager review" in html
    assert "Reason: Wrong size band" in html
    assert "City: San Francisco → Boston" in html or "City: — → Boston" in html
    assert "Old tag" in html
    assert html.index("Changed city") < html.index("Corrected in manager review")
    assert html.index("Corrected in manager review") < html.index("Old tag")


def test_history_names_changed_owner(client, sdr, sdr2, manager, team, account):
    account.owner = sdr2
    account.save()
    html = page(client, manager, account)
    assert "Owner: sdr → Dana Okafor" in html


def test_section_returns_fragment(client, sdr, account):
    client.force_login(sdr)
    response = client.get(reverse("accounts:account-section", args=[account.pk, "history"]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card mb-3" id="account-history"')


def test_unknown_section_is_404(client, sdr, account):
    client.force_login(sdr)
    url = reverse("accounts:account-section", args=[account.pk, "secrets"])
    assert client.get(url, **HTMX).status_code == 404


def test_page_query_count_is_pinned(client, sdr, account, django_assert_max_num_queries):
    client.force_login(sdr)
    client.get(account.get_absolute_url())
    # Session, user, roles, account, identifiers, score records, three for the newest
    # observation per source, notes, overrides, history records.
    with django_assert_max_num_queries(12):
        client.get(account.get_absolute_url())


TAGS = [
    f"{industry} – SMB – US"
    for industry in (
        "SaaS",
        "FinTech",
        "HealthTech",
        "Insurance",
        "Education",
        "Automotive",
        "Consumer Goods",
        "Telecommunications",
    )
]


def test_page_query_count_does_not_grow(client, sdr, manager, team, account):
    client.force_login(sdr)
    with CaptureQueriesContext(connection) as before:
        client.get(account.get_absolute_url())
    for number in range(8):
        ResearchNote.objects.create(account=account, text=f"Note {number}", author=sdr)
        account_segment_override(
            account=account,
            user=manager,
            kind=SegmentOverride.Kind.REVIEW_CORRECTION,
            reason=f"Fix {number}",
            tag=TAGS[number],
        )
        account.refresh_from_db()
        account.city = f"City {number}"
        account.save()
    with CaptureQueriesContext(connection) as after:
        client.get(account.get_absolute_url())
    assert len(after.captured_queries) == len(before.captured_queries)
