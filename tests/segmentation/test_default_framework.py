import pycountry
import pytest

from segmentation.engine import AccountRow, CompiledFramework
from segmentation.models import Dimension, FrameworkStatus

# Antarctic territories without a sales region; they get the unmapped label.
UNMAPPED_ON_PURPOSE = {"AQ", "BV", "GS", "HM", "TF"}


@pytest.fixture
def compiled(default_framework) -> CompiledFramework:
    return CompiledFramework.compile(default_framework)


def account(**fields) -> AccountRow:
    values = {
        "id": 1,
        "industry_id": None,
        "employee_count": None,
        "employee_min": None,
        "employee_max": None,
        "annual_revenue_usd": None,
        "country": "",
        "technologies": [],
        "buying_signals": [],
    }
    values.update(fields)
    return AccountRow(**values)


def test_default_framework_is_active(default_framework):
    assert default_framework.status == FrameworkStatus.APPROVED
    assert default_framework.name == "B2B software default"
    assert default_framework.high_tier_min_score == 70
    assert default_framework.medium_tier_min_score == 40
    assert default_framework.high_tier_route == "Outbound"
    assert default_framework.low_tier_route == "Nurture"
    assert default_framework.tag_template == "{industry} – {size_band} – {geography}"


def test_default_weights_sum_to_100(default_framework):
    criteria = list(default_framework.criteria.all())
    assert sum(criterion.weight for criterion in criteria) == 100
    assert {criterion.dimension for criterion in criteria} == set(Dimension.values)


def test_saas_midmarket_singapore_tag(compiled, industry_id):
    evaluation = compiled.evaluate(
        account(industry_id=industry_id("SaaS"), employee_count=300, country="SG")
    )
    assert evaluation.tag == "SaaS – Mid-Market – APAC"
    assert evaluation.tier == "high"
    assert evaluation.route == "Outbound"


def test_healthtech_enterprise_us_tag(compiled, industry_id):
    evaluation = compiled.evaluate(
        account(industry_id=industry_id("HealthTech"), employee_count=5000, country="US")
    )
    assert evaluation.tag == "HealthTech – Enterprise – US"
    assert evaluation.tier == "high"


def test_non_target_industry_is_low(compiled, industry_id):
    evaluation = compiled.evaluate(
        account(
            industry_id=industry_id("Materials & Chemicals"),
            employee_count=50_000,
            country="DE",
            annual_revenue_usd=5_000_000_000,
            technologies=["AWS"],
            buying_signals=["hiring"],
        )
    )
    assert evaluation.tier == "low"
    assert evaluation.route == "Nurture"
    assert evaluation.tag == "Materials & Chemicals – Enterprise – EMEA"


def test_missing_fields_need_enrichment(compiled, industry_id):
    evaluation = compiled.evaluate(account(industry_id=industry_id("SaaS")))
    assert evaluation.needs_enrichment is True
    assert evaluation.missing_fields == ["company_size", "geography"]
    assert evaluation.tag == ""


@pytest.mark.parametrize(
    ("employee_min", "employee_max", "expected"),
    [
        (51, 200, "SMB"),
        (201, 500, "Mid-Market"),
        (501, 1000, "Mid-Market"),
        (1001, 5000, "Enterprise"),
        (10001, None, "Enterprise"),
    ],
)
def test_linkedin_ranges_fit_bands(compiled, employee_min, employee_max, expected):
    evaluation = compiled.evaluate(account(employee_min=employee_min, employee_max=employee_max))
    assert evaluation.size_band == expected


@pytest.mark.parametrize(
    ("revenue", "expected"),
    [(10_000_000, "SMB"), (75_000_000, "Mid-Market"), (2_000_000_000, "Enterprise")],
)
def test_revenue_fallback_bands(compiled, revenue, expected):
    assert compiled.evaluate(account(annual_revenue_usd=revenue)).size_band == expected


@pytest.mark.parametrize(
    ("country", "label"),
    [("US", "US"), ("PR", "US"), ("CA", "Canada"), ("GB", "EMEA"), ("AE", "EMEA"),
     ("ZA", "EMEA"), ("JP", "APAC"), ("AU", "APAC"), ("IN", "APAC"), ("MX", "LATAM"),
     ("BR", "LATAM"), ("AQ", "Rest of World")],
)  # fmt: skip
def test_geography_labels(compiled, country, label):
    assert compiled.evaluate(account(country=country)).geography == label


def test_every_country_mapped(default_framework):
    mapped = set(default_framework.geography_mappings.values_list("country", flat=True))
    iso_codes = {country.alpha_2 for country in pycountry.countries}
    assert iso_codes - mapped == UNMAPPED_ON_PURPOSE
    assert mapped - iso_codes == {"XK"}


def test_latam_not_targeted(compiled, industry_id):
    evaluation = compiled.evaluate(
        account(industry_id=industry_id("SaaS"), employee_count=300, country="BR")
    )
    geography = next(item for item in evaluation.explanation if item["dimension"] == "geography")
    assert geography["outcome"] == "mismatch"
    assert evaluation.tag == "SaaS – Mid-Market – LATAM"
