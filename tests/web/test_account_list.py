import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from accounts.models import Tier
from accounts.roles import ALL_ROLES
from segmentation.models import Framework, GeographyMapping, SizeBand
from tests.factories import AccountFactory, UserFactory

LIST_URL = reverse("accounts:account-list")


def row_names(response) -> list[str]:
    return [account.name for account in response.context["accounts"]]


@pytest.mark.django_db
def test_list_redirects_anonymous_to_login(client):
    response = client.get(LIST_URL + "?tier=high")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=/accounts/%3Ftier%3Dhigh" in response["Location"]


def test_list_forbidden_without_role(client, make_user):
    client.force_login(make_user(None, username="no-role"))
    assert client.get(LIST_URL).status_code == 403


def test_list_open_to_every_role(client, make_user):
    AccountFactory(name="Shared Co")
    for role in ALL_ROLES:
        client.force_login(make_user(role, username=f"role-{role}"))
        response = client.get(LIST_URL)
        assert response.status_code == 200, role
        assert row_names(response) == ["Shared Co"], role


def test_list_renders_columns(signed_in, industry, sdr):
    AccountFactory(
        name="Acme Analytics",
        domain="acme.example",
        industry=industry,
        size_band="Mid-Market",
        geography="APAC",
        tag="SaaS – Mid-Market – APAC",
        tier=Tier.HIGH,
        score=87,
        owner=sdr,
    )
    response = signed_in.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Analytics" in html
    assert "acme.example" in html
    assert "Web Test SaaS" in html
    assert "Mid-Market" in html
    assert "SaaS – Mid-Market – APAC" in html
    assert '<span class="badge tier-badge tier-high">High</span>' in html
    assert ">87<" in html
    assert 'data-testid="account-count">1<' in html


def test_list_links_to_detail(signed_in):
    account = AccountFactory(name="Linked Co")
    html = signed_in.get(LIST_URL).content.decode()
    assert f'href="/accounts/{account.pk}/"' in html


def test_list_unmapped_industry_in_italics(signed_in):
    AccountFactory(industry=None, industry_raw="Widgets & Gadgets")
    html = signed_in.get(LIST_URL).content.decode()
    assert "<em>Widgets &amp; Gadgets</em>" in html
    assert ">unmapped</span>" in html


def test_list_needs_enrichment_badge(signed_in):
    AccountFactory(needs_enrichment=True, missing_fields=["employee_count", "country"])
    html = signed_in.get(LIST_URL).content.decode()
    assert "Needs enrichment" in html
    assert "Employee count, Country" in html


def test_list_names_conflicting_missing_field(signed_in):
    AccountFactory(
        needs_enrichment=True,
        missing_fields=["industry", "geography"],
        field_status={"industry": {"status": "conflicting"}, "country": {"status": "missing"}},
    )

    html = signed_in.get(LIST_URL).content.decode()

    assert "Industry (sources conflict), Geography</span>" in html


def test_list_tier_filter_shows_only_high(signed_in):
    AccountFactory(name="High One", tier=Tier.HIGH, score=90)
    AccountFactory(name="High Two", tier=Tier.HIGH, score=75)
    AccountFactory(name="Medium One", tier=Tier.MEDIUM, score=55)
    AccountFactory(name="Low One", tier=Tier.LOW, score=10)
    response = signed_in.get(LIST_URL, {"tier": "high"})
    html = response.content.decode()
    assert row_names(response) == ["High One", "High Two"]
    assert "Medium One" not in html
    assert "Low One" not in html
    assert 'data-testid="account-count">2<' in html


def test_list_filter_form_shows_url_values(signed_in):
    html = signed_in.get(LIST_URL, {"tier": "medium", "q": "acme"}).content.decode()
    assert '<option value="medium" selected>Medium</option>' in html
    assert 'value="acme"' in html


def test_list_filter_form_keeps_unknown_choice(signed_in):
    html = signed_in.get(LIST_URL, {"size_band": "Startup"}).content.decode()
    assert '<option value="Startup" selected>Startup</option>' in html


def test_list_filter_choices_come_from_frameworks(signed_in, framework):
    Framework.objects.filter(pk=framework.pk).update(status="retired")
    SizeBand.objects.create(framework=framework, name="Web Test Band", position=1)
    GeographyMapping.objects.create(framework=framework, country="NZ", region="APAC", label="ANZ")
    html = signed_in.get(LIST_URL).content.decode()
    assert '<option value="Web Test Band">Web Test Band</option>' in html
    assert '<option value="ANZ">ANZ</option>' in html
    assert '<option value="Rest of World">Rest of World</option>' in html
    assert '<option value="Outbound">Outbound</option>' in html


def test_list_filter_choices_skip_unapproved_versions(signed_in, framework):
    SizeBand.objects.create(framework=framework, name="Draft Band", position=1)
    Framework.objects.filter(pk=framework.pk).update(high_tier_route="Draft Route")
    html = signed_in.get(LIST_URL).content.decode()
    assert "Draft Band" not in html
    assert "Draft Route" not in html


def test_list_industry_filter_by_slug_and_id(signed_in, industry):
    AccountFactory(name="Mapped", industry=industry)
    AccountFactory(name="Unmapped", industry=None, industry_raw="Widgets")
    by_slug = signed_in.get(LIST_URL, {"industry": industry.slug})
    by_id = signed_in.get(LIST_URL, {"industry": str(industry.pk)})
    unmapped = signed_in.get(LIST_URL, {"industry": "unmapped"})
    assert row_names(by_slug) == ["Mapped"]
    assert row_names(by_id) == ["Mapped"]
    assert row_names(unmapped) == ["Unmapped"]


def test_list_no_industry_choice(signed_in, industry):
    AccountFactory(name="Mapped", industry=industry)
    AccountFactory(name="Raw only", industry=None, industry_raw="Widgets")
    AccountFactory(name="Blank", industry=None, industry_raw="")
    page = signed_in.get(LIST_URL)
    no_industry = signed_in.get(LIST_URL, {"industry": "unmapped"})
    assert '<option value="unmapped">No industry</option>' in page.content.decode()
    assert sorted(row_names(no_industry)) == ["Blank", "Raw only"]


def test_list_owner_filter_me_and_none(signed_in, sdr):
    other = UserFactory(username="other-owner")
    AccountFactory(name="Mine", owner=sdr)
    AccountFactory(name="Theirs", owner=other)
    AccountFactory(name="Nobody's", owner=None)
    assert row_names(signed_in.get(LIST_URL, {"owner": "me"})) == ["Mine"]
    assert row_names(signed_in.get(LIST_URL, {"owner": "none"})) == ["Nobody's"]
    assert row_names(signed_in.get(LIST_URL, {"owner": str(other.pk)})) == ["Theirs"]


def test_list_search_matches_name_or_domain(signed_in):
    AccountFactory(name="Northwind Traders", domain="northwind.example")
    AccountFactory(name="Contoso", domain="contoso-north.example")
    AccountFactory(name="Fabrikam", domain="fabrikam.example")
    response = signed_in.get(LIST_URL, {"q": "north"})
    assert row_names(response) == ["Contoso", "Northwind Traders"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lowe's", ["Lowe’s"]),
        ("LOWE’S", ["Lowe’s"]),
        ("mcdonald", ["McDonald’s"]),
        ("mcdonalds", ["McDonald’s"]),
        ("https://www.walmart.com/", ["Walmart"]),
        ("www.walmart.com", ["Walmart"]),
        ("nestle", ["Nestlé"]),
    ],
)
def test_list_search_normalizes_query(signed_in, query, expected):
    AccountFactory(name="Lowe’s", name_key="lowes", domain="lowes.example")
    AccountFactory(name="McDonald’s", name_key="mcdonalds", domain="mcdonalds.example")
    AccountFactory(name="Walmart", name_key="walmart", domain="walmart.com")
    AccountFactory(name="Nestlé", name_key="nestle", domain="nestle.example")
    assert row_names(signed_in.get(LIST_URL, {"q": query})) == expected


def test_list_combined_filters(signed_in):
    AccountFactory(name="Match", country="DE", size_band="SMB", needs_enrichment=True)
    AccountFactory(name="Wrong country", country="FR", size_band="SMB", needs_enrichment=True)
    AccountFactory(name="Enriched", country="DE", size_band="SMB", needs_enrichment=False)
    response = signed_in.get(
        LIST_URL, {"country": "de", "size_band": "SMB", "needs_enrichment": "true"}
    )
    assert row_names(response) == ["Match"]


def test_list_flagged_filter(signed_in):
    flag = {"field": "revenue", "value": "n/a", "message": "revenue 'n/a' is not a number"}
    AccountFactory(name="Flagged", review_flags=[flag])
    AccountFactory(name="Clean", review_flags=[])
    flagged = signed_in.get(LIST_URL, {"flagged": "true"})
    clean = signed_in.get(LIST_URL, {"flagged": "false"})
    assert row_names(flagged) == ["Flagged"]
    assert row_names(clean) == ["Clean"]


def test_list_invalid_filter_shows_error(signed_in):
    AccountFactory(name="Any Co")
    response = signed_in.get(LIST_URL, {"country": "Germany"})
    html = response.content.decode()
    assert response.status_code == 200
    assert row_names(response) == []
    assert "“Germany” is not an ISO 3166-1 alpha-2 country code: did you mean DE?" in html
    assert "Some filter values are invalid" in html


def test_list_unknown_owner_shows_error(signed_in):
    AccountFactory(name="Any Co")
    response = signed_in.get(LIST_URL, {"owner": "99999"})
    html = response.content.decode()
    assert response.status_code == 200
    assert row_names(response) == []
    assert "“99999” is not the id of a user" in html


def test_list_unknown_size_band_shows_error(signed_in):
    AccountFactory(name="Any Co", size_band="Enterprise")
    response = signed_in.get(LIST_URL, {"size_band": "enterprise"})
    html = response.content.decode()
    assert response.status_code == 200
    assert row_names(response) == []
    assert "“enterprise” is not a size band of any scored framework version" in html
    assert "did you mean Enterprise?" in html
    assert "Some filter values are invalid" in html


def test_list_known_filter_adds_no_queries(signed_in):
    AccountFactory(name="Any Co", size_band="SMB", route="Outbound", geography="US")
    signed_in.get(LIST_URL)
    with CaptureQueriesContext(connection) as plain:
        signed_in.get(LIST_URL, {"tier": "high"})
    with CaptureQueriesContext(connection) as filtered:
        response = signed_in.get(
            LIST_URL, {"tier": "high", "size_band": "SMB", "route": "Outbound", "region": "APAC"}
        )
    # The rendered selects reuse the options that validated the values.
    assert response.status_code == 200
    assert len(filtered) == len(plain)


def test_list_unknown_boolean_shows_error(signed_in):
    AccountFactory(name="Any Co")

    response = signed_in.get(LIST_URL, {"complete": "2"})

    assert row_names(response) == []
    assert "“2” is not true or false" in response.content.decode()


def test_list_invalid_filter_offers_no_export(signed_in):
    response = signed_in.get(LIST_URL, {"country": "Germany"})
    html = response.content.decode()
    assert 'data-testid="export-disabled"' in html
    assert 'data-testid="export-all"' not in html


@pytest.mark.parametrize("part", ["SaaS", "mid-market", "Mid–Market – apac"])
def test_list_tag_filter_matches_part(signed_in, part):
    AccountFactory(name="Mid APAC", tag="SaaS – Mid-Market – APAC")
    AccountFactory(name="Small US", tag="FinTech – SMB – US")
    response = signed_in.get(LIST_URL, {"tag_contains": part})
    assert row_names(response) == ["Mid APAC"]


def test_list_tag_filter_reads_tags_once(signed_in):
    AccountFactory(tag="SaaS – Mid-Market – APAC")
    with CaptureQueriesContext(connection) as plain:
        signed_in.get(LIST_URL)
    with CaptureQueriesContext(connection) as filtered:
        signed_in.get(LIST_URL, {"tag_contains": "saas"})
    tag_reads = [query for query in filtered if "WITH RECURSIVE" in query["sql"]]
    assert len(tag_reads) == 1
    assert len(filtered) == len(plain)


def test_list_tag_suggestions_reused_between_loads(signed_in):
    AccountFactory(tag="SaaS – Mid-Market – APAC")
    signed_in.get(LIST_URL)

    with CaptureQueriesContext(connection) as second:
        html = signed_in.get(LIST_URL).content.decode()

    assert not [query for query in second if "WITH RECURSIVE" in query["sql"]]
    assert '<option value="SaaS – Mid-Market – APAC">' in html


def test_list_tag_field_suggests_tags(signed_in):
    AccountFactory(tag="SaaS – Mid-Market – APAC")
    AccountFactory(tag="FinTech – SMB – US")
    AccountFactory(tag="")
    html = signed_in.get(LIST_URL).content.decode()
    field = re.search(r'<input[^>]*name="tag_contains"[^>]*>', html).group(0)
    datalist = re.search(r'<datalist id="id_tag_contains-suggestions">.*?</datalist>', html)
    assert 'list="id_tag_contains-suggestions"' in field
    assert datalist is not None
    options = re.findall(r'<option value="([^"]*)">', datalist.group(0))
    assert sorted(options) == ["FinTech – SMB – US", "SaaS – Mid-Market – APAC"]


def test_list_exact_tag_hidden_unless_used(signed_in):
    AccountFactory(tag="SaaS – Mid-Market – APAC")
    html = signed_in.get(LIST_URL).content.decode()
    assert 'id="id_tag"' not in html
    assert 'id="id_tag_contains"' in html


def test_list_exact_tag_from_link_shown(signed_in):
    AccountFactory(name="Exact", tag="SaaS – Mid-Market – US")
    AccountFactory(name="Longer", tag="SaaS – Mid-Market – US & Canada")
    response = signed_in.get(LIST_URL, {"tag": "SaaS – Mid-Market – US"})
    html = response.content.decode()
    assert row_names(response) == ["Exact"]
    assert re.search(r'<input[^>]*name="tag"[^>]*value="SaaS – Mid-Market – US"', html)
    assert "Exact tag" in html


def test_list_tag_filter_title(signed_in):
    response = signed_in.get(LIST_URL, {"tag_contains": "mid-market"})
    assert response.context["list_title"] == "Accounts: Tag contains “mid-market”"


def test_list_default_order_is_name(signed_in):
    AccountFactory(name="Charlie")
    AccountFactory(name="Alpha")
    AccountFactory(name="Bravo")
    assert row_names(signed_in.get(LIST_URL)) == ["Alpha", "Bravo", "Charlie"]


def test_list_unknown_ordering_uses_default(signed_in):
    AccountFactory(name="Charlie")
    AccountFactory(name="Alpha")
    response = signed_in.get(LIST_URL, {"ordering": "nonsense"})
    html = response.content.decode()
    assert response.status_code == 200
    assert row_names(response) == ["Alpha", "Charlie"]
    assert "“nonsense” is not a field to order by: use one of name, domain," in html
    assert "The list is sorted by name, its default order." in html
    assert "Some filter values are invalid" not in html


def test_list_unknown_ordering_keeps_filters(signed_in):
    AccountFactory(name="Alpha kept", tier=Tier.HIGH)
    AccountFactory(name="Filtered out", tier=Tier.LOW)
    AccountFactory.create_batch(30, tier=Tier.HIGH)
    response = signed_in.get(
        LIST_URL, {"tier": "high", "ordering": "-score,colour", "page_size": "25"}
    )
    html = response.content.decode()
    assert row_names(response)[0] == "Alpha kept"
    assert "Filtered out" not in row_names(response)
    assert "“colour” is not a field to order by" in html
    # The page's links and the filter form no longer carry the invalid ordering.
    assert [href for href in re.findall(r'href="([^"]*)"', html) if "colour" in href] == []
    assert 'href="?tier=high&amp;page_size=25&amp;page=2"' in html
    assert '<input type="hidden" name="ordering" value="" form="account-filters">' in html


def test_list_unknown_ordering_and_filter(signed_in):
    AccountFactory(name="Any Co")
    response = signed_in.get(LIST_URL, {"ordering": "nonsense", "country": "Germany"})
    html = response.content.decode()
    assert row_names(response) == []
    assert "“nonsense” is not a field to order by" in html
    assert "Some filter values are invalid" in html


def test_list_names_misspelt_filter(signed_in):
    AccountFactory(name="High Co", tier=Tier.HIGH)
    AccountFactory(name="Low Co", tier=Tier.LOW)

    response = signed_in.get(LIST_URL, {"teir": "high", "page_size": "25"})
    html = response.content.decode()

    assert sorted(row_names(response)) == ["High Co", "Low Co"]
    assert "“teir” is not a filter, so the list is not filtered by it" in html
    assert "did you mean “tier”?" in html
    assert html.count('data-testid="misspelt-filter"') == 1


def test_list_unrelated_parameter_not_named(signed_in):
    AccountFactory()

    html = signed_in.get(LIST_URL, {"utm_source": "mail", "page": "1"}).content.decode()

    assert 'data-testid="misspelt-filter"' not in html


def test_list_valid_ordering_has_no_error(signed_in):
    AccountFactory()
    html = signed_in.get(LIST_URL, {"ordering": "-score"}).content.decode()
    assert 'data-testid="ordering-error"' not in html


def test_list_sort_by_score_descending(signed_in):
    AccountFactory(name="Low score", score=12)
    AccountFactory(name="Unscored", score=None)
    AccountFactory(name="High score", score=91)
    AccountFactory(name="Mid score", score=50)
    response = signed_in.get(LIST_URL, {"ordering": "-score"})
    assert row_names(response) == ["High score", "Mid score", "Low score", "Unscored"]


def test_list_sort_by_score_ascending_puts_unscored_last(signed_in):
    AccountFactory(name="Unscored", score=None)
    AccountFactory(name="High score", score=91)
    AccountFactory(name="Low score", score=12)
    response = signed_in.get(LIST_URL, {"ordering": "score"})
    assert row_names(response) == ["Low score", "High score", "Unscored"]


def test_list_sort_by_tier_uses_rank(signed_in):
    AccountFactory(name="Low", tier=Tier.LOW)
    AccountFactory(name="High", tier=Tier.HIGH)
    AccountFactory(name="Medium", tier=Tier.MEDIUM)
    AccountFactory(name="Unscored", tier="")
    response = signed_in.get(LIST_URL, {"ordering": "-tier"})
    assert row_names(response) == ["High", "Medium", "Low", "Unscored"]


def test_list_sort_ties_break_by_id(signed_in):
    created = [AccountFactory(name="Same", score=50) for _ in range(5)]
    response = signed_in.get(LIST_URL, {"ordering": "-score"})
    assert [account.pk for account in response.context["accounts"]] == [a.pk for a in created]


def test_list_sort_header_toggles_direction(signed_in):
    AccountFactory()
    html = signed_in.get(LIST_URL, {"ordering": "-score", "tier": "high"}).content.decode()
    score_header = re.search(r'<th scope="col" aria-sort="descending"[^>]*>\s*<a[^>]*>', html)
    assert score_header is not None
    assert 'href="?ordering=score&amp;tier=high"' in score_header.group(0)


def test_list_score_header_starts_descending(signed_in):
    AccountFactory()
    html = signed_in.get(LIST_URL).content.decode()
    assert 'href="?ordering=-score"' in html
    assert 'href="?ordering=-name"' in html


def test_list_sort_link_drops_page(signed_in):
    AccountFactory.create_batch(30)
    html = signed_in.get(LIST_URL, {"page": "2", "page_size": "25"}).content.decode()
    assert 'href="?page_size=25&amp;ordering=domain"' in html


def test_list_paginates_fifty_by_default(signed_in):
    AccountFactory.create_batch(55)
    first = signed_in.get(LIST_URL)
    second = signed_in.get(LIST_URL, {"page": "2"})
    assert len(first.context["accounts"]) == 50
    assert len(second.context["accounts"]) == 5
    assert 'data-testid="account-count">55<' in first.content.decode()


def test_list_page_size_choice(signed_in):
    AccountFactory.create_batch(30)
    response = signed_in.get(LIST_URL, {"page_size": "25"})
    assert len(response.context["accounts"]) == 25
    assert response.context["page_size"] == 25


def test_list_unknown_page_size_uses_default(signed_in):
    AccountFactory.create_batch(3)
    for raw in ("7", "1000", "abc"):
        response = signed_in.get(LIST_URL, {"page_size": raw})
        assert response.context["page_size"] == 50


def test_list_pagination_keeps_filters(signed_in):
    for index in range(30):
        AccountFactory(name=f"High {index:02d}", tier=Tier.HIGH)
    AccountFactory.create_batch(5, tier=Tier.LOW)
    response = signed_in.get(LIST_URL, {"tier": "high", "ordering": "-score", "page_size": "25"})
    html = response.content.decode()
    assert 'href="?tier=high&amp;ordering=-score&amp;page_size=25&amp;page=2"' in html
    second = signed_in.get(
        LIST_URL, {"tier": "high", "ordering": "-score", "page_size": "25", "page": "2"}
    )
    assert len(second.context["accounts"]) == 5
    assert all(account.tier == Tier.HIGH for account in second.context["accounts"])


def test_list_page_size_links_keep_filters(signed_in):
    AccountFactory()
    html = signed_in.get(LIST_URL, {"tier": "high", "page": "3"}).content.decode()
    assert 'href="?tier=high&amp;page_size=100"' in html


def test_list_out_of_range_page_shows_last_page(signed_in):
    AccountFactory.create_batch(30)
    response = signed_in.get(LIST_URL, {"page": "99", "page_size": "25"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 2


def test_list_unsupported_page_size_explained(signed_in):
    AccountFactory.create_batch(3)
    response = signed_in.get(LIST_URL, {"page_size": "1000"})
    html = response.content.decode()
    assert response.context["paginator"].per_page == 50
    assert "1000 rows per page is not offered, so the list shows 50: choose 25, 50, 100." in html


def test_list_offered_page_size_has_no_notice(signed_in):
    AccountFactory()
    html = signed_in.get(LIST_URL, {"page_size": "100"}).content.decode()
    assert 'data-testid="page-size-notice"' not in html


@pytest.mark.parametrize("number", ["0", "-1"])
def test_list_page_below_one_shows_first(signed_in, number):
    AccountFactory.create_batch(30)
    response = signed_in.get(LIST_URL, {"page": number, "page_size": "25"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 1


def test_list_keeps_sort_when_filters_change(signed_in):
    AccountFactory()
    html = signed_in.get(LIST_URL, {"ordering": "-score", "page_size": "100"}).content.decode()
    assert '<input type="hidden" name="ordering" value="-score" form="account-filters">' in html
    assert '<input type="hidden" name="page_size" value="100" form="account-filters">' in html


def test_list_htmx_request_returns_results_only(signed_in):
    AccountFactory(name="Partial Co")
    response = signed_in.get(
        LIST_URL, {"tier": ""}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-results"
    )
    html = response.content.decode()
    assert "Partial Co" in html
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="account-results"')
    assert "HX-Request" in response["Vary"]


def test_list_htmx_history_restore_returns_full_page(signed_in):
    AccountFactory()
    response = signed_in.get(
        LIST_URL,
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="account-results",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()


def test_list_query_count_does_not_grow(signed_in, industry, sdr, framework):
    def create_accounts(count: int) -> None:
        for _ in range(count):
            AccountFactory(industry=industry, owner=sdr, framework=framework, tier=Tier.HIGH)

    create_accounts(10)
    with CaptureQueriesContext(connection) as small:
        signed_in.get(LIST_URL, {"ordering": "-score"})
    create_accounts(50)
    # The first load cached the tag suggestions, so the second must read them again too.
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        response = signed_in.get(LIST_URL, {"ordering": "-score"})
    assert len(response.context["accounts"]) == 50
    assert len(large.captured_queries) == len(small.captured_queries)


def test_list_query_count_is_pinned(signed_in, industry, sdr, django_assert_max_num_queries):
    AccountFactory.create_batch(60, industry=industry, owner=sdr, tier=Tier.HIGH)
    # Session, user, roles, count, page ids, rows, then the filter choices: industries,
    # size bands, geography labels (two queries), routes, owners and the tags in use.
    with django_assert_max_num_queries(13):
        response = signed_in.get(LIST_URL, {"tier": "high", "ordering": "owner"})
    assert len(response.context["accounts"]) == 50


def test_owner_filter_lists_owners_only(signed_in, sdr, marketing, make_user):
    departed = make_user(roles.SDR, username="departed", first_name="Dee", last_name="Parted")
    departed.is_active = False
    departed.save()
    AccountFactory(name="Left Behind", owner=departed)

    page = signed_in.get(LIST_URL).content.decode()
    select = re.search(r'<select name="owner".*?</select>', page, re.DOTALL).group(0)

    assert f'<option value="{sdr.pk}"' in select
    assert f'<option value="{marketing.pk}"' not in select
    assert "Dee Parted (inactive)" in select


def test_region_filter_matches_its_geographies(signed_in):
    AccountFactory(name="Austin Co", country="US", geography="US")
    AccountFactory(name="Toronto Co", country="CA", geography="Canada")
    AccountFactory(name="Hamilton Co", country="BM", geography="North America")
    AccountFactory(name="Berlin Co", country="DE", geography="EMEA")

    region = signed_in.get(LIST_URL, {"region": "North America"})
    label = signed_in.get(LIST_URL, {"geography": "North America"})
    page = signed_in.get(LIST_URL).content.decode()
    select = re.search(r'<select name="region".*?</select>', page, re.DOTALL).group(0)

    assert sorted(row_names(region)) == ["Austin Co", "Hamilton Co", "Toronto Co"]
    assert row_names(label) == ["Hamilton Co"]
    assert '<option value="North America">North America</option>' in select
    assert '<option value="EMEA">EMEA</option>' in select


def test_region_of_a_draft_matches_nothing(signed_in):
    draft = Framework.objects.create(version=950, name="Draft", status="draft")
    GeographyMapping.objects.create(framework=draft, country="DE", region="DACH", label="EMEA")
    AccountFactory(name="Berlin Co", country="DE", geography="EMEA")

    response = signed_in.get(LIST_URL, {"region": "DACH"})

    assert row_names(response) == []


def test_owner_filter_sorted_by_name(signed_in, make_user):
    make_user(roles.SDR, username="aaa", first_name="Zoe", last_name="Young")
    make_user(roles.SDR, username="zzz", first_name="Adam", last_name="Abel")
    page = signed_in.get(LIST_URL).content.decode()
    select = re.search(r'<select name="owner".*?</select>', page, re.DOTALL).group(0)
    assert select.index("Adam Abel") < select.index("Zoe Young")


def test_owner_column_sorts_by_name(signed_in, make_user):
    abel = make_user(roles.SDR, username="zzz", first_name="Amy", last_name="Abel")
    young = make_user(roles.SDR, username="aaa", first_name="Zed", last_name="Young")
    nameless = make_user(roles.SDR, username="mmm")
    AccountFactory(name="Young's", owner=young)
    AccountFactory(name="Nobody's", owner=None)
    AccountFactory(name="Nameless's", owner=nameless)
    AccountFactory(name="Abel's", owner=abel)

    ascending = signed_in.get(LIST_URL, {"ordering": "owner"})
    descending = signed_in.get(LIST_URL, {"ordering": "-owner"})

    assert row_names(ascending) == ["Abel's", "Nameless's", "Young's", "Nobody's"]
    assert row_names(descending) == ["Young's", "Nameless's", "Abel's", "Nobody's"]


def test_owner_header_names_its_sort_order(signed_in):
    page = signed_in.get(LIST_URL).content.decode()
    link = re.search(r'<a id="sort-owner"[^>]*>', page).group(0)

    assert 'title="Sorts by last name, then first name' in link


def hand_set_accounts(count: int, industry, sdr) -> None:
    """Create accounts whose tag, tier or both a person set, and accounts the framework scored."""
    for index in range(count):
        fields = {"tag": f"SaaS – Mid-Market – US {index:02d}", "tier": Tier.HIGH}
        if index % 3 == 0:
            fields["tag_override"] = fields["tag"]
        if index % 3 == 1:
            fields["tier_override"] = Tier.HIGH
        AccountFactory(name=f"Hand {index:02d}", industry=industry, owner=sdr, **fields)


def test_list_marks_values_set_by_hand(signed_in, industry, sdr):
    AccountFactory(
        name="By Hand",
        tag="Fintech – SMB – EU",
        tag_override="Fintech – SMB – EU",
        tier=Tier.LOW,
        tier_override=Tier.LOW,
    )
    AccountFactory(
        name="Tier By Hand", tag="SaaS – SMB – US", tier=Tier.LOW, tier_override=Tier.LOW
    )
    AccountFactory(name="Computed", tag="SaaS – SMB – US", tier=Tier.MEDIUM)

    html = signed_in.get(LIST_URL, {"ordering": "name"}).content.decode()

    rows = {
        name: row
        for row in re.findall(r"<tr>.*?</tr>", html, re.DOTALL)
        for name in ("By Hand", "Tier By Hand", "Computed")
        if f'title="{name}"' in row
    }
    by_hand_cells = re.findall(r"<td[^>]*>.*?</td>", rows["By Hand"], re.DOTALL)
    tag_cell = next(cell for cell in by_hand_cells if 'class="cell-tag"' in cell)
    assert 'title="Fintech – SMB – EU (set by hand)"' in tag_cell
    assert '<span class="visually-hidden">Tag set by hand</span>' in tag_cell
    assert "Fintech – SMB – EU" in tag_cell
    assert '<span class="visually-hidden">Tier set by hand</span>' in rows["By Hand"]
    assert '<span class="visually-hidden">Tag set by hand</span>' not in rows["Tier By Hand"]
    assert '<span class="visually-hidden">Tier set by hand</span>' in rows["Tier By Hand"]
    assert 'data-testid="hand-set"' not in rows["Computed"]
    assert 'data-testid="hand-set-legend"' in html


def test_list_legend_only_with_marks(signed_in):
    AccountFactory(name="Computed", tag="SaaS – SMB – US", tier=Tier.MEDIUM)

    html = signed_in.get(LIST_URL).content.decode()

    assert 'data-testid="hand-set"' not in html
    assert 'data-testid="hand-set-legend"' not in html


def test_list_marks_cost_no_queries(signed_in, industry, sdr):
    hand_set_accounts(5, industry, sdr)
    with CaptureQueriesContext(connection) as small:
        signed_in.get(LIST_URL)
    hand_set_accounts(45, industry, sdr)
    # The first load cached the tag suggestions, so the second must read them again too.
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        response = signed_in.get(LIST_URL)
    html = response.content.decode()
    # hand_set_accounts sets the tag of every third account from the first, and the tier
    # of every third from the second.
    by_hand = len(range(0, 5, 3)) + len(range(0, 45, 3))
    assert html.count('<span class="visually-hidden">Tag set by hand</span>') == by_hand
    assert html.count('<span class="visually-hidden">Tier set by hand</span>') == by_hand
    assert len(large.captured_queries) == len(small.captured_queries)
