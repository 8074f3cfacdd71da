"""Account filters reject values that match no known value, instead of listing none."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segmentation.models import Framework, FrameworkStatus, SizeBand
from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"


def result_names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("size_band", "huge", "use one of SMB, Mid-Market, Enterprise."),
        ("size_band", "50%", "use one of SMB, Mid-Market, Enterprise."),
        ("size_band", "enterprise", "did you mean Enterprise? Use one of SMB"),
        ("geography", "mars", "use one of APAC, Canada, EMEA"),
        ("geography", "mars", ", or none for accounts without a geography."),
        ("geography", "None", "or none for accounts without a geography."),
        ("region", "Atlantis", "use one of APAC, EMEA, LATAM, North America."),
        ("route", "nope", "use one of Nurture, Outbound."),
        ("industry", "abc", "is not the id or slug of an industry: use one of"),
        ("industry", "999999", "is not the id or slug of an industry"),
        ("country", "zz", "is not an ISO 3166-1 alpha-2 country code"),
    ],
)
def test_unknown_filter_value_is_400(signed_in_api, parameter, value, expected):
    response = signed_in_api.get(LIST_URL, {parameter: value})
    error = response.json()["error"]
    assert response.status_code == 400
    assert list(error["fields"]) == [parameter]
    assert error["fields"][parameter][0].startswith(f"“{value}”")
    assert expected in error["fields"][parameter][0]


@pytest.mark.parametrize(
    ("value", "slug"), [("SaaS", "saas"), ("Fintech", "fintech"), ("Unmapped", "unmapped")]
)
def test_industry_other_case_hinted(signed_in_api, value, slug):
    response = signed_in_api.get(LIST_URL, {"industry": value})
    message = response.json()["error"]["fields"]["industry"][0]
    assert response.status_code == 400
    assert message.startswith(f"“{value}” is not the id or slug of an industry: did you mean ")
    assert f"did you mean {slug}? Use one of" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("usa", "“usa” is not an ISO 3166-1 alpha-2 country code: did you mean US? Use a"),
        ("Germany", "“Germany” is not an ISO 3166-1 alpha-2 country code: did you mean DE?"),
        ("deu", "“deu” is not an ISO 3166-1 alpha-2 country code: did you mean DE?"),
        ("Ü", "“Ü” is not an ISO 3166-1 alpha-2 country code: use one such as US, GB or DE."),
    ],
)
def test_country_filter_names_value(signed_in_api, value, expected):
    response = signed_in_api.get(LIST_URL, {"country": value})
    messages = response.json()["error"]["fields"]["country"]
    assert response.status_code == 400
    assert len(messages) == 1
    assert messages[0].startswith(expected)


def test_unknown_owner_id_is_400(signed_in_api):
    response = signed_in_api.get(LIST_URL, {"owner": "99999"})
    messages = response.json()["error"]["fields"]["owner"]
    assert response.status_code == 400
    assert messages == [
        "“99999” is not the id of a user: use an owner's user id, as owner_id in the account "
        "list shows it, me for your accounts or none for unassigned ones."
    ]


def test_deactivated_owner_id_accepted(signed_in_api, make_user):
    former = make_user(None, username="former-rep", is_active=False)
    AccountFactory(name="Left Behind", owner=former)
    response = signed_in_api.get(LIST_URL, {"owner": str(former.pk)})
    assert result_names(response) == ["Left Behind"]


def test_known_filter_values_accepted(signed_in_api):
    AccountFactory(
        name="Known", size_band="Enterprise", geography="EMEA", route="Outbound", country="GB"
    )
    response = signed_in_api.get(
        LIST_URL,
        {"size_band": "Enterprise", "geography": "EMEA", "route": "Outbound", "country": "uk"},
    )
    assert result_names(response) == ["Known"]


def test_geography_none_lists_accounts_without_one(signed_in_api):
    AccountFactory(name="Mapped", country="GB", geography="EMEA")
    AccountFactory(name="Unmapped", country="", geography="")
    response = signed_in_api.get(LIST_URL, {"geography": "none"})
    assert result_names(response) == ["Unmapped"]


def test_retired_version_values_accepted(signed_in_api):
    retired = Framework.objects.create(
        version=901, name="Retired", status=FrameworkStatus.RETIRED, high_tier_route="Legacy"
    )
    SizeBand.objects.create(framework=retired, name="Startup", position=0)
    AccountFactory(name="Old", size_band="Startup", route="Legacy")
    response = signed_in_api.get(LIST_URL, {"size_band": "Startup", "route": "Legacy"})
    assert result_names(response) == ["Old"]


def test_unused_filters_run_no_queries(signed_in_api):
    AccountFactory(name="Any")
    signed_in_api.get(LIST_URL)
    with CaptureQueriesContext(connection) as plain:
        signed_in_api.get(LIST_URL)
    with CaptureQueriesContext(connection) as filtered:
        signed_in_api.get(LIST_URL, {"tier": "high"})
    sql = " ".join(query["sql"] for query in filtered)
    assert len(filtered) == len(plain)
    assert "segmentation_sizeband" not in sql
    assert "segmentation_geographymapping" not in sql
    assert 'FROM "segmentation_industry"' not in sql


@pytest.mark.parametrize("spelling", ["SaaS - SMB - US", "saas – smb – us", " SaaS – SMB – US "])
def test_tag_filter_uses_framework_spelling(signed_in_api, spelling):
    AccountFactory(name="Tagged", tag="SaaS – SMB – US")
    AccountFactory(name="Other", tag="SaaS – Enterprise – US")
    assert result_names(signed_in_api.get(LIST_URL, {"tag": spelling})) == ["Tagged"]


def test_tag_filter_odd_letters_match_none(signed_in_api):
    # re.IGNORECASE matches a dotless ı to i, but its casefold is no known value.
    AccountFactory(name="Tagged", tag="SaaS – Mid-Market – US")
    assert result_names(signed_in_api.get(LIST_URL, {"tag": "SaaS – Mıd-Market – US"})) == []


def test_tag_filter_stays_exact(signed_in_api):
    AccountFactory(name="Tagged", tag="SaaS – Mid-Market – US")
    assert result_names(signed_in_api.get(LIST_URL, {"tag": "SaaS"})) == []
    assert result_names(signed_in_api.get(LIST_URL, {"tag": "Mid-Market"})) == []


@pytest.mark.parametrize(
    "part",
    ["SaaS", "saas", "mid-market", "MID–MARKET", "saas - mid", "US", "mid market", "saas mid"],
)
def test_tag_contains_matches_part(signed_in_api, part):
    AccountFactory(name="Mid", tag="SaaS – Mid-Market – US")
    AccountFactory(name="Small", tag="FinTech – SMB – EMEA")
    AccountFactory(name="Untagged", tag="")
    assert result_names(signed_in_api.get(LIST_URL, {"tag_contains": part})) == ["Mid"]


def test_tag_contains_without_match_lists_none(signed_in_api):
    AccountFactory(name="Mid", tag="SaaS – Mid-Market – US")
    assert result_names(signed_in_api.get(LIST_URL, {"tag_contains": "Retail"})) == []


def test_tag_contains_blank_lists_every_account(signed_in_api):
    AccountFactory(name="Mid", tag="SaaS – Mid-Market – US")
    AccountFactory(name="Untagged", tag="")
    assert result_names(signed_in_api.get(LIST_URL, {"tag_contains": "  "})) == ["Mid", "Untagged"]


def test_tag_contains_with_exact_tag(signed_in_api):
    AccountFactory(name="Mid US", tag="SaaS – Mid-Market – US")
    AccountFactory(name="Mid EMEA", tag="SaaS – Mid-Market – EMEA")
    response = signed_in_api.get(
        LIST_URL, {"tag_contains": "mid-market", "tag": "SaaS – Mid-Market – EMEA"}
    )
    assert result_names(response) == ["Mid EMEA"]


def test_route_members_match_any_case(signed_in_api):
    AccountFactory(name="Out", route="Outbound")
    response = signed_in_api.get("/api/v1/segments/routes/outbound/members/")
    assert result_names(response) == ["Out"]


def test_route_members_csv_match_any_case(signed_in_api):
    AccountFactory(name="Out", route="Outbound")
    response = signed_in_api.get("/api/v1/segments/routes/OUTBOUND/members/", {"format": "csv"})
    assert response.status_code == 200
    assert "Out" in b"".join(response.streaming_content).decode()


def test_unknown_route_members_404(signed_in_api):
    response = signed_in_api.get("/api/v1/segments/routes/nope/members/")
    error = response.json()["error"]
    assert response.status_code == 404
    assert "“nope”" in error["message"]
    assert "(Nurture, Outbound)" in error["message"]


def test_known_empty_route_lists_none(signed_in_api):
    response = signed_in_api.get("/api/v1/segments/routes/Nurture/members/")
    assert result_names(response) == []


@pytest.mark.parametrize("spelling", ["outbound", "OUTBOUND", "Outbound"])
def test_route_filter_any_case(signed_in_api, spelling):
    AccountFactory(name="Out", route="Outbound")
    AccountFactory(name="Later", route="Nurture")
    assert result_names(signed_in_api.get(LIST_URL, {"route": spelling})) == ["Out"]


@pytest.mark.parametrize("spelling", ["high", "HIGH", "High"])
def test_tier_filter_any_case(signed_in_api, spelling):
    AccountFactory(name="Top", tier="high")
    AccountFactory(name="Bottom", tier="low")
    assert result_names(signed_in_api.get(LIST_URL, {"tier": spelling})) == ["Top"]


def test_route_filter_any_case_on_page(client, sdr):
    AccountFactory(name="Out", route="Outbound")
    AccountFactory(name="Later", route="Nurture")
    client.force_login(sdr)
    response = client.get("/accounts/", {"route": "outbound"})
    names = [account.name for account in response.context["page_obj"].object_list]
    assert names == ["Out"]
