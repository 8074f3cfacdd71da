"""Accounts whose mandatory fields have conflicting sources get no tag until resolved."""

import json

import pytest

from accounts.models import Account
from accounts.services import accounts_import
from enrichment.verification import MANDATORY_FIELDS
from segmentation.engine import CONFLICT_FIELDS, AccountRow, CompiledFramework
from segmentation.models import ScoreRecord
from segmentation.services import accounts_segment
from tests.datasets import require_datasets_dir
from tests.factories import AccountFactory

INDUSTRY_REASON = (
    "Industry: sources disagree (Fortune 500: Internet Services and Retailing; "
    "S&P 500: Hotels, Resorts & Cruise Lines). Resolve the conflict."
)


def entry(status: str, **values: str) -> dict:
    return {"status": status, "sources": sorted(values)[:1], "values": values}


def statuses(**overrides: dict) -> dict:
    """Return a field_status with verified mandatory fields, changed by ``overrides``."""
    result = {
        "industry": entry("verified", fortune500="SaaS", sp500="SaaS"),
        "company_size": entry("verified", fortune500="300", apollo="320"),
        "country": entry("verified", fortune500="SG", sp500="SG"),
    }
    result.update(overrides)
    return result


CONFLICTING_INDUSTRY = entry(
    "conflicting",
    fortune500="Internet Services and Retailing",
    sp500="Hotels, Resorts & Cruise Lines",
)
CONFLICTING_SIZE = entry("conflicting", apollo="40", zoominfo="~5,000")
CONFLICTING_COUNTRY = entry("conflicting", apollo="US", zoominfo="DE")


@pytest.fixture
def compiled(default_framework) -> CompiledFramework:
    return CompiledFramework.compile(default_framework)


@pytest.fixture
def saas_row(industry_id):
    """Return a function building a taggable SaaS account row in Singapore."""

    def build(**fields) -> AccountRow:
        values = {
            "id": 1,
            "industry_id": industry_id("SaaS"),
            "employee_count": 300,
            "employee_min": None,
            "employee_max": None,
            "annual_revenue_usd": None,
            "country": "SG",
            "technologies": [],
            "buying_signals": [],
        }
        values.update(fields)
        return AccountRow(**values)

    return build


def verification_items(explanation: list[dict]) -> list[dict]:
    return [item for item in explanation if item["dimension"] == "verification"]


def test_conflict_fields_cover_mandatory_fields():
    assert tuple(CONFLICT_FIELDS) == MANDATORY_FIELDS


def test_unconflicted_row_is_tagged(compiled, saas_row):
    evaluation = compiled.evaluate(
        saas_row(verification_status="verified", field_status=statuses())
    )
    assert evaluation.tag == "SaaS – Mid-Market – APAC"
    assert evaluation.needs_enrichment is False
    assert verification_items(evaluation.explanation) == []


def test_conflicting_industry_blocks_tag(compiled, saas_row):
    evaluation = compiled.evaluate(
        saas_row(
            verification_status="conflicting",
            field_status=statuses(industry=CONFLICTING_INDUSTRY),
        )
    )
    assert evaluation.tag == ""
    assert evaluation.needs_enrichment is True
    assert evaluation.missing_fields == ["industry"]
    assert evaluation.size_band == "Mid-Market"
    assert evaluation.geography == "APAC"
    industry_item = evaluation.explanation[0]
    assert industry_item["dimension"] == "industry"
    assert industry_item["outcome"] == "unknown"
    items = verification_items(evaluation.explanation)
    assert len(items) == 1
    assert items[0]["outcome"] == "conflicting"
    assert items[0]["reason"] == INDUSTRY_REASON
    assert json.loads(evaluation.explanation_json) == evaluation.explanation


@pytest.mark.parametrize(
    ("field_name", "conflict", "missing_name"),
    [
        ("company_size", CONFLICTING_SIZE, "company_size"),
        ("country", CONFLICTING_COUNTRY, "geography"),
    ],
)
def test_conflict_maps_to_dimension(compiled, saas_row, field_name, conflict, missing_name):
    evaluation = compiled.evaluate(
        saas_row(
            verification_status="conflicting",
            field_status=statuses(**{field_name: conflict}),
        )
    )
    assert evaluation.tag == ""
    assert evaluation.missing_fields == [missing_name]
    reasons = [item["reason"] for item in verification_items(evaluation.explanation)]
    label = "Company size" if field_name == "company_size" else "Country"
    assert len(reasons) == 1
    assert reasons[0].startswith(f"{label}: sources disagree (")


def test_conflicting_size_ignores_revenue_band(compiled, saas_row):
    row = saas_row(
        employee_count=None,
        annual_revenue_usd=75_000_000,
        verification_status="conflicting",
        field_status=statuses(company_size=CONFLICTING_SIZE),
    )
    evaluation = compiled.evaluate(row)
    assert evaluation.size_band == ""
    assert evaluation.missing_fields == ["company_size"]


def test_conflicts_listed_with_missing_fields(compiled, saas_row):
    evaluation = compiled.evaluate(
        saas_row(
            employee_count=None,
            verification_status="conflicting",
            field_status=statuses(industry=CONFLICTING_INDUSTRY, country=CONFLICTING_COUNTRY),
        )
    )
    assert evaluation.missing_fields == ["industry", "company_size", "geography"]
    assert evaluation.geography == ""
    reasons = [item["reason"] for item in verification_items(evaluation.explanation)]
    assert reasons[0] == INDUSTRY_REASON
    assert reasons[1].startswith("Country: sources disagree (Apollo: US; ZoomInfo: DE)")


def test_field_status_read_as_json_text(compiled, saas_row):
    text = json.dumps(statuses(industry=CONFLICTING_INDUSTRY))
    evaluation = compiled.evaluate(saas_row(verification_status="conflicting", field_status=text))
    assert evaluation.missing_fields == ["industry"]


def test_invalid_field_status_raises(compiled, saas_row):
    row = saas_row(verification_status="conflicting", field_status='["industry"]')
    with pytest.raises(ValueError, match="field_status"):
        compiled.evaluate(row)


def test_revenue_conflict_keeps_tag(compiled, saas_row):
    field_status = statuses(revenue=entry("conflicting", apollo="$1M", zoominfo="$9M"))
    evaluation = compiled.evaluate(
        saas_row(verification_status="conflicting", field_status=field_status)
    )
    assert evaluation.tag == "SaaS – Mid-Market – APAC"
    assert verification_items(evaluation.explanation) == []


def test_accepted_value_keeps_tag(compiled, saas_row):
    accepted = entry("accepted", manual="SaaS", fortune500="Internet Services")
    evaluation = compiled.evaluate(
        saas_row(verification_status="unverified", field_status=statuses(industry=accepted))
    )
    assert evaluation.tag == "SaaS – Mid-Market – APAC"
    assert evaluation.missing_fields == []


def test_field_status_skipped_unless_conflicting(compiled, saas_row):
    # The engine trusts verification_status, which enrichment writes with field_status.
    field_status = statuses(industry=CONFLICTING_INDUSTRY)
    evaluation = compiled.evaluate(
        saas_row(verification_status="verified", field_status=field_status)
    )
    assert evaluation.tag == "SaaS – Mid-Market – APAC"


MUST_HAVE_SAAS = {
    "dimension": "industry",
    "label": "Target industry",
    "operator": "in",
    "values": ["SaaS"],
    "weight": 10,
    "is_must_have": True,
    "unknown_policy": "neutral",
}
IN_APAC = {
    "dimension": "geography",
    "label": "Target geography",
    "operator": "in",
    "values": ["APAC"],
    "weight": 90,
}


def test_conflict_keeps_must_have_cap(make_framework, saas_row, industry_id):
    # Judged as unknown, the industry would leave the must-have unchecked and the
    # account High. The current value fails the must-have, which is the lower result.
    compiled = CompiledFramework.compile(make_framework([MUST_HAVE_SAAS, IN_APAC]))
    row = saas_row(
        industry_id=industry_id("Insurance"),
        verification_status="conflicting",
        field_status=statuses(industry=CONFLICTING_INDUSTRY),
    )
    evaluation = compiled.evaluate(row)
    assert (evaluation.tier, evaluation.score) == ("low", 39)
    assert evaluation.explanation[0]["outcome"] == "mismatch"
    assert "must-have not met" in evaluation.explanation[0]["reason"]
    assert evaluation.tag == ""
    assert evaluation.missing_fields == ["industry"]
    assert [item["reason"] for item in verification_items(evaluation.explanation)] == [
        INDUSTRY_REASON
    ]


def test_conflict_scored_as_unknown_when_lower(make_framework, saas_row, industry_id):
    # The current value matches, so counting it as unknown (no points) is the lower result.
    no_points = {**MUST_HAVE_SAAS, "is_must_have": False, "unknown_policy": "no_points"}
    compiled = CompiledFramework.compile(make_framework([no_points, IN_APAC]))
    row = saas_row(
        industry_id=industry_id("SaaS"),
        verification_status="conflicting",
        field_status=statuses(industry=CONFLICTING_INDUSTRY),
    )
    evaluation = compiled.evaluate(row)
    assert evaluation.score == 90
    assert evaluation.explanation[0]["outcome"] == "unknown"


def test_conflicting_size_shows_current_head_count(make_framework, saas_row):
    # The current head count misses the range, so it is judged and shown.
    size_range = {
        "dimension": "company_size",
        "label": "Head count",
        "operator": "range",
        "min_value": 1000,
        "weight": 50,
        "unknown_policy": "neutral",
    }
    compiled = CompiledFramework.compile(make_framework([size_range, IN_APAC]))
    row = saas_row(
        employee_count=300,
        verification_status="conflicting",
        field_status=statuses(company_size=CONFLICTING_SIZE),
    )
    evaluation = compiled.evaluate(row)
    assert evaluation.score == 64  # 90 of 140
    assert "300" in evaluation.explanation[0]["reason"]
    assert evaluation.size_band == ""


# The services read the row from the database, on the per-account and the full path.


@pytest.fixture
def conflicting_account(default_framework, industry_id):
    return AccountFactory(
        industry_id=industry_id("SaaS"),
        employee_count=300,
        country="SG",
        verification_status="conflicting",
        field_status=statuses(industry=CONFLICTING_INDUSTRY),
    )


def latest_explanation(account) -> list[dict]:
    return ScoreRecord.objects.filter(account=account).order_by("-id").first().explanation


@pytest.mark.django_db
@pytest.mark.parametrize("per_account", [True, False], ids=["per_account", "full_run"])
def test_segment_stores_conflict_reason(conflicting_account, per_account):
    if per_account:
        accounts_segment(account_ids=[conflicting_account.pk])
    else:
        accounts_segment()
    conflicting_account.refresh_from_db()
    assert conflicting_account.tag == ""
    assert conflicting_account.needs_enrichment is True
    assert conflicting_account.missing_fields == ["industry"]
    reasons = [
        item["reason"] for item in verification_items(latest_explanation(conflicting_account))
    ]
    assert reasons == [INDUSTRY_REASON]


@pytest.mark.django_db
def test_resolved_conflict_tags_account(conflicting_account):
    accounts_segment(account_ids=[conflicting_account.pk])
    conflicting_account.verification_status = "verified"
    conflicting_account.field_status = statuses(
        industry=entry("accepted", manual="SaaS", sp500="Hotels, Resorts & Cruise Lines")
    )
    conflicting_account.save(update_fields=["verification_status", "field_status"])

    summary = accounts_segment(account_ids=[conflicting_account.pk])

    conflicting_account.refresh_from_db()
    assert summary.moved == 1
    assert conflicting_account.tag == "SaaS – Mid-Market – APAC"
    assert conflicting_account.needs_enrichment is False
    assert verification_items(latest_explanation(conflicting_account)) == []


# The public S&P 500 and Fortune 500 files disagree on some shared companies' industries.


@pytest.mark.shared_data
@pytest.mark.django_db
def test_public_dataset_conflicts_untagged(default_framework):
    datasets = require_datasets_dir()
    accounts_import(datasets / "sp500-companies" / "constituents.csv")
    accounts_import(datasets / "fortune500-2019" / "fortune500.csv")

    summary = accounts_segment()

    assert summary.failed == 0
    conflicting = []
    for account in Account.objects.all():
        names = [
            name
            for name in MANDATORY_FIELDS
            if (account.field_status.get(name) or {}).get("status") == "conflicting"
        ]
        if names:
            conflicting.append((account, names))
    assert len(conflicting) >= 10
    for account, names in conflicting:
        assert account.verification_status == "conflicting", account.name
        assert account.tag == "", account.name
        assert account.needs_enrichment is True, account.name
        for name in names:
            assert CONFLICT_FIELDS[name] in account.missing_fields, account.name
        reasons = [item["reason"] for item in verification_items(latest_explanation(account))]
        labels = [reason.split(":", 1)[0].casefold() for reason in reasons]
        assert labels == [name.replace("_", " ") for name in names], account.name
        assert all("sources disagree (" in reason for reason in reasons), account.name
    assert Account.objects.exclude(tag="").exists()


def test_account_page_names_conflicting_sources(client, sdr, default_framework, industry_id):
    account = AccountFactory(
        industry_id=industry_id("SaaS"),
        employee_count=300,
        country="SG",
        verification_status="conflicting",
        field_status=statuses(industry=CONFLICTING_INDUSTRY),
    )
    accounts_segment()
    client.force_login(sdr)

    html = client.get(account.get_absolute_url()).content.decode()

    assert "Fortune 500: Internet Services and Retailing" in html
    assert "S&amp;P 500: Hotels, Resorts &amp; Cruise Lines" in html
    assert "fortune500:" not in html
    assert "sp500:" not in html
