from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, AccountIdentifier, Tier
from segmentation.models import Framework
from tests.factories import AccountFactory, UserFactory

LIST_URL = "/api/v1/accounts/"

LIST_FIELDS = {
    "id",
    "url",
    "name",
    "domain",
    "website",
    "country",
    "region",
    "city",
    "industry",
    "industry_raw",
    "employee_count",
    "employee_range",
    "annual_revenue_usd",
    "size_band",
    "geography",
    "tag",
    "tier",
    "score",
    "route",
    "needs_enrichment",
    "missing_fields",
    "owner",
    "updated_at",
}


def result_names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_api_anonymous_denied(api_client):
    response = api_client.get(LIST_URL)
    error = response.json()["error"]
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error["code"] == "not_authenticated"
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.django_db
def test_api_anonymous_detail_denied(api_client):
    account = AccountFactory()
    response = api_client.get(f"{LIST_URL}{account.pk}/")
    assert response.status_code == 401


def test_api_forbidden_without_role(api_client, make_user):
    AccountFactory()
    api_client.force_login(make_user(None, username="no-role"))
    response = api_client.get(LIST_URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "has no sales role" in response.json()["error"]["message"]


def test_api_wrong_token_denied(api_client, sdr):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer icp_not-a-real-token")
    response = api_client.get(LIST_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "token is invalid" in response.json()["error"]["message"]


def test_api_token_auth(token_client, sdr):
    AccountFactory(name="Token Co")
    response = token_client(sdr).get(LIST_URL)
    assert response.status_code == 200
    assert result_names(response) == ["Token Co"]


def test_api_session_auth(signed_in_api):
    AccountFactory(name="Session Co")
    response = signed_in_api.get(LIST_URL)
    assert response.status_code == 200
    assert result_names(response) == ["Session Co"]


def test_api_list_fields(signed_in_api, industry, sdr):
    AccountFactory(
        name="Initech",
        domain="initech.example",
        industry=industry,
        industry_raw="Banking",
        employee_count=350,
        employee_min=201,
        employee_max=500,
        annual_revenue_usd=Decimal("12500000.00"),
        size_band="Mid-Market",
        geography="North America",
        tag="FinTech – Mid-Market – US",
        tier=Tier.HIGH,
        score=82,
        route="Outbound",
        needs_enrichment=True,
        missing_fields=["technologies"],
        owner=sdr,
    )
    response = signed_in_api.get(LIST_URL)
    body = response.json()
    row = body["results"][0]
    assert response.status_code == 200
    assert len(body["results"]) == 1
    assert body["next"] is None
    assert LIST_FIELDS - set(row) == set()
    assert row["name"] == "Initech"
    assert row["industry"] == "API Test FinTech"
    assert row["industry_raw"] == "Banking"
    assert row["employee_range"] == "201–500"
    assert row["annual_revenue_usd"] == "12500000.00"
    assert row["tier"] == "high"
    assert row["score"] == 82
    assert row["route"] == "Outbound"
    assert row["needs_enrichment"] is True
    assert row["missing_fields"] == ["technologies"]
    assert row["owner"] == "sdr"
    assert row["url"] == f"http://testserver/api/v1/accounts/{row['id']}/"


def test_api_nulls_for_unmapped_and_unowned(signed_in_api):
    AccountFactory(industry=None, industry_raw="Widgets", owner=None, score=None)
    row = signed_in_api.get(LIST_URL).json()["results"][0]
    assert row["industry"] is None
    assert row["industry_raw"] == "Widgets"
    assert row["owner"] is None
    assert row["score"] is None
    assert row["framework_version"] is None


def test_api_employee_range_open_ended(signed_in_api):
    AccountFactory(employee_count=12000, employee_min=10001, employee_max=None)
    row = signed_in_api.get(LIST_URL).json()["results"][0]
    assert row["employee_range"] == "10,001+"


def test_api_detail_fields(signed_in_api):
    framework = Framework(version=99, name="API test framework", status="draft")
    framework.save()
    account = AccountFactory(
        name="Hooli",
        technologies=["Kubernetes"],
        buying_signals=["Hiring"],
        description="Search and more.",
        review_flags=["employees: lots"],
        framework=framework,
    )
    AccountIdentifier.objects.create(account=account, kind="cik", value="0000123456")
    response = signed_in_api.get(f"{LIST_URL}{account.pk}/")
    body = response.json()
    assert response.status_code == 200
    assert LIST_FIELDS - set(body) == set()
    assert body["name"] == "Hooli"
    assert body["technologies"] == ["Kubernetes"]
    assert body["buying_signals"] == ["Hiring"]
    assert body["description"] == "Search and more."
    assert body["review_flags"] == ["employees: lots"]
    assert body["identifiers"] == [{"kind": "cik", "value": "0000123456"}]
    assert body["framework_version"] == 99


def test_api_detail_counts_verified_fields(signed_in_api):
    account = AccountFactory(
        verification_status="unverified",
        field_status={
            "industry": {"status": "verified"},
            "company_size": {"status": "single_source"},
            "country": {"status": "accepted"},
        },
    )
    body = signed_in_api.get(f"{LIST_URL}{account.pk}/").json()
    assert body["verification_status"] == "unverified"
    assert body["verified_fields"] == ["industry", "country"]
    assert body["verification_summary"] == "Partly verified (2 of 3 fields)"


def test_api_detail_missing_is_404(signed_in_api):
    response = signed_in_api.get(f"{LIST_URL}999999/")
    assert response.status_code == 404


def test_api_filter_tier(signed_in_api):
    AccountFactory(name="High", tier=Tier.HIGH)
    AccountFactory(name="Low", tier=Tier.LOW)
    assert result_names(signed_in_api.get(LIST_URL, {"tier": "high"})) == ["High"]


def test_api_filter_industry(signed_in_api, industry):
    AccountFactory(name="Mapped", industry=industry)
    AccountFactory(name="Unmapped", industry=None)
    assert result_names(signed_in_api.get(LIST_URL, {"industry": industry.slug})) == ["Mapped"]
    assert result_names(signed_in_api.get(LIST_URL, {"industry": industry.pk})) == ["Mapped"]
    assert result_names(signed_in_api.get(LIST_URL, {"industry": "unmapped"})) == ["Unmapped"]
    unknown = signed_in_api.get(LIST_URL, {"industry": "no-such-industry"})
    assert unknown.status_code == 400
    assert "industry" in unknown.json()["error"]["fields"]


def test_api_filter_owner(signed_in_api, sdr):
    other = UserFactory(username="api-other")
    AccountFactory(name="Mine", owner=sdr)
    AccountFactory(name="Other", owner=other)
    AccountFactory(name="Nobody", owner=None)
    assert result_names(signed_in_api.get(LIST_URL, {"owner": "me"})) == ["Mine"]
    assert result_names(signed_in_api.get(LIST_URL, {"owner": "none"})) == ["Nobody"]
    assert result_names(signed_in_api.get(LIST_URL, {"owner": other.pk})) == ["Other"]


def test_api_filter_text_fields(signed_in_api):
    AccountFactory(
        name="Target",
        domain="target.example",
        size_band="Enterprise",
        geography="APAC",
        tag="SaaS – Enterprise – APAC",
        country="SG",
        route="Outbound",
        needs_enrichment=False,
    )
    AccountFactory(name="Other", needs_enrichment=True)
    cases = {
        "q": "TARGET",
        "size_band": "Enterprise",
        "geography": "APAC",
        "region": "APAC",
        "tag": "SaaS – Enterprise – APAC",
        "country": "sg",
        "route": "Outbound",
        "needs_enrichment": "false",
    }
    for name, value in cases.items():
        response = signed_in_api.get(LIST_URL, {name: value})
        assert result_names(response) == ["Target"], name


def test_api_invalid_filter_is_400(signed_in_api):
    response = signed_in_api.get(LIST_URL, {"owner": "someone", "tier": "top"})
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid"
    assert error["fields"]["owner"] == ["Enter a user id, me or none."]
    assert "tier" in error["fields"]
    assert "owner" in error["message"]


@pytest.mark.parametrize("name", ["needs_enrichment", "complete", "flagged"])
def test_api_unknown_boolean_is_400(signed_in_api, name):
    response = signed_in_api.get(LIST_URL, {name: "maybe"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"][name] == [
        "“maybe” is not true or false: use true or false, or leave the filter out."
    ]


@pytest.mark.parametrize(("value", "expected"), [("yes", ["Needs"]), ("0", ["Done"]), ("", None)])
def test_api_boolean_spellings(signed_in_api, value, expected):
    AccountFactory(name="Needs", needs_enrichment=True)
    AccountFactory(name="Done", needs_enrichment=False)

    response = signed_in_api.get(LIST_URL, {"needs_enrichment": value})

    assert response.status_code == 200
    names = sorted(row["name"] for row in response.json()["results"])
    assert names == (expected or ["Done", "Needs"])


def test_api_country_alias_filter(signed_in_api):
    AccountFactory(name="London Co", country="GB")

    response = signed_in_api.get(LIST_URL, {"country": "uk"})

    assert result_names(response) == ["London Co"]


def test_api_invalid_ordering_is_400(signed_in_api):
    response = signed_in_api.get(LIST_URL, {"ordering": "password"})
    assert response.status_code == 400
    assert "ordering" in response.json()["error"]["fields"]


def test_api_ordering(signed_in_api):
    AccountFactory(name="B", score=10)
    AccountFactory(name="A", score=90)
    AccountFactory(name="C", score=None)
    assert result_names(signed_in_api.get(LIST_URL, {"ordering": "-score"})) == ["A", "B", "C"]
    assert result_names(signed_in_api.get(LIST_URL, {"ordering": "-name"})) == ["C", "B", "A"]


def test_api_ordering_by_several_fields(signed_in_api):
    AccountFactory(name="B", tier=Tier.HIGH, score=80)
    AccountFactory(name="A", tier=Tier.HIGH, score=80)
    AccountFactory(name="C", tier=Tier.MEDIUM, score=90)
    response = signed_in_api.get(LIST_URL, {"ordering": "-tier,name"})
    assert result_names(response) == ["A", "B", "C"]


def test_api_default_page_size_is_100(signed_in_api):
    Account.objects.bulk_create(AccountFactory.build_batch(105))
    body = signed_in_api.get(LIST_URL).json()
    assert len(body["results"]) == 100
    assert body["next"] is not None
    assert len(signed_in_api.get(body["next"]).json()["results"]) == 5


def test_api_page_size_clamped_to_500(signed_in_api):
    Account.objects.bulk_create(AccountFactory.build_batch(510))
    body = signed_in_api.get(LIST_URL, {"page_size": 600}).json()
    assert len(body["results"]) == 500
    assert body["next"] is not None


def test_api_page_size_honoured(signed_in_api):
    Account.objects.bulk_create(AccountFactory.build_batch(30))
    body = signed_in_api.get(LIST_URL, {"page_size": 7}).json()
    assert len(body["results"]) == 7
    assert "page_size=7" in body["next"]


def test_api_equal_scores_page_without_repeats(signed_in_api):
    accounts = AccountFactory.build_batch(95, score=50, tier=Tier.MEDIUM)
    for index, account in enumerate(accounts):
        # Names repeat too, so neither the sort key nor the name breaks the tie.
        account.name = f"Same {index % 3}"
    Account.objects.bulk_create(accounts)
    expected = set(Account.objects.values_list("id", flat=True))
    for ordering in ("-score", "score", "tier", "name", "-name"):
        seen: list[int] = []
        url = f"{LIST_URL}?ordering={ordering}&page_size=10"
        while url:
            body = signed_in_api.get(url).json()
            seen.extend(row["id"] for row in body["results"])
            url = body["next"]
        assert len(seen) == len(set(seen)), ordering
        assert set(seen) == expected, ordering


def test_api_query_count_does_not_grow(signed_in_api, industry, sdr):
    def create_accounts(count: int) -> None:
        Account.objects.bulk_create(AccountFactory.build_batch(count, industry=industry, owner=sdr))

    create_accounts(10)
    with CaptureQueriesContext(connection) as small:
        signed_in_api.get(LIST_URL)
    create_accounts(50)
    with CaptureQueriesContext(connection) as large:
        response = signed_in_api.get(LIST_URL)
    assert len(response.json()["results"]) == 60
    assert len(large.captured_queries) == len(small.captured_queries)


def test_api_list_query_count_is_pinned(signed_in_api, django_assert_max_num_queries):
    Account.objects.bulk_create(AccountFactory.build_batch(20))
    # Session, user, roles, rows: cursor pages run no count query.
    with django_assert_max_num_queries(4):
        signed_in_api.get(LIST_URL, {"ordering": "owner"})
