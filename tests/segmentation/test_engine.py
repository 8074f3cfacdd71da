import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.engine import AccountRow, CompiledFramework, FrameworkError, term_key

INDUSTRY_IN = {
    "dimension": "industry",
    "label": "Target industry",
    "operator": "in",
    "values": ["SaaS", "FinTech"],
    "weight": 30,
}
SIZE_IN = {
    "dimension": "company_size",
    "label": "Target size",
    "operator": "in",
    "values": ["Mid-Market", "Enterprise"],
    "weight": 25,
}
GEOGRAPHY_IN = {
    "dimension": "geography",
    "label": "Target geography",
    "operator": "in",
    "values": ["North America", "EMEA"],
    "weight": 20,
}


def row(**fields) -> AccountRow:
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


@pytest.fixture
def compile_criteria(make_framework):
    def compile_(*criteria: dict, **framework_fields) -> CompiledFramework:
        return CompiledFramework.compile(make_framework(list(criteria), **framework_fields))

    return compile_


def test_match_earns_weight(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, GEOGRAPHY_IN)
    evaluation = compiled.evaluate(row(industry_id=industry_id("SaaS"), country="US"))
    assert evaluation.score == 100
    assert evaluation.explanation[0]["outcome"] == "match"
    assert evaluation.explanation[0]["points"] == 30
    assert evaluation.explanation[0]["max_points"] == 30
    assert evaluation.explanation[0]["reason"] == "Industry SaaS is a target industry (+30 of 30)"


def test_mismatch_counts_towards_maximum(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, GEOGRAPHY_IN)
    evaluation = compiled.evaluate(row(industry_id=industry_id("Insurance"), country="US"))
    assert evaluation.score == 40  # 20 of 50
    assert evaluation.explanation[0]["outcome"] == "mismatch"
    assert evaluation.explanation[0]["reason"] == (
        "Industry Insurance is not a target industry (+0 of 30)"
    )


def test_unknown_neutral_left_out(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, {**GEOGRAPHY_IN, "unknown_policy": "neutral"})
    evaluation = compiled.evaluate(row(industry_id=industry_id("SaaS")))
    assert evaluation.score == 100
    assert evaluation.explanation[1]["outcome"] == "unknown"
    assert evaluation.explanation[1]["max_points"] == 0
    assert evaluation.explanation[1]["reason"] == "Country unknown: left out of the score"


def test_unknown_half_points(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, {**GEOGRAPHY_IN, "unknown_policy": "half"})
    evaluation = compiled.evaluate(row(industry_id=industry_id("SaaS")))
    assert evaluation.score == 80  # 40 of 50
    assert evaluation.explanation[1]["points"] == 10
    assert evaluation.explanation[1]["reason"] == "Country unknown: half the points (+10 of 20)"


def test_unknown_no_points(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, {**GEOGRAPHY_IN, "unknown_policy": "no_points"})
    evaluation = compiled.evaluate(row(industry_id=industry_id("SaaS")))
    assert evaluation.score == 60  # 30 of 50
    assert evaluation.explanation[1]["points"] == 0
    assert evaluation.explanation[1]["max_points"] == 20
    assert evaluation.explanation[1]["reason"] == "Country unknown: no points (+0 of 20)"


def test_half_of_odd_weight_keeps_fraction(compile_criteria):
    compiled = compile_criteria({**GEOGRAPHY_IN, "weight": 5, "unknown_policy": "half"})
    evaluation = compiled.evaluate(row())
    assert evaluation.explanation[0]["points"] == 2.5
    assert evaluation.score == 50


def test_score_rounds_half_up(compile_criteria, industry_id):
    # 1 of 8 points is 12.5, which rounds to 13 (Python's round() would give 12).
    compiled = compile_criteria(
        {**INDUSTRY_IN, "weight": 1},
        {**GEOGRAPHY_IN, "weight": 7},
    )
    evaluation = compiled.evaluate(row(industry_id=industry_id("SaaS"), country="BR"))
    assert evaluation.score == 13


def test_all_left_out_gives_no_score(compile_criteria):
    compiled = compile_criteria(INDUSTRY_IN, GEOGRAPHY_IN)
    evaluation = compiled.evaluate(row())
    assert evaluation.score is None
    assert evaluation.tier == ""
    assert evaluation.route == ""


def test_disqualifier_match_zeroes_score(compile_criteria, industry_id):
    excluded = {
        "dimension": "geography",
        "label": "Sanctioned",
        "operator": "in",
        "values": ["LATAM"],
        "weight": 50,
        "is_disqualifier": True,
    }
    compiled = compile_criteria(INDUSTRY_IN, excluded)
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("SaaS"), country="BR", employee_count=300)
    )
    assert evaluation.score == 0
    assert evaluation.tier == "low"
    assert evaluation.route == "Nurture"
    assert evaluation.explanation[1]["outcome"] == "disqualified"
    assert evaluation.explanation[1]["max_points"] == 0
    assert "disqualified" in evaluation.explanation[1]["reason"]


def test_disqualifier_miss_has_no_effect(compile_criteria, industry_id):
    excluded = {
        "dimension": "geography",
        "operator": "in",
        "values": ["LATAM"],
        "weight": 50,
        "is_disqualifier": True,
    }
    compiled = compile_criteria(INDUSTRY_IN, excluded)
    evaluation = compiled.evaluate(row(industry_id=industry_id("SaaS"), country="US"))
    assert evaluation.score == 100
    assert evaluation.explanation[1]["outcome"] == "not_excluded"
    assert evaluation.explanation[1]["points"] == 0
    assert evaluation.explanation[1]["max_points"] == 0


EXCLUDE_ENERGY = {
    "dimension": "industry",
    "label": "Exclude energy",
    "operator": "in",
    "values": ["Energy & Utilities"],
    "weight": 10,
    "is_disqualifier": True,
}


def test_disqualifier_miss_says_not_excluded(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, EXCLUDE_ENERGY)
    evaluation = compiled.evaluate(row(industry_id=industry_id("FinTech"), country="US"))
    item = evaluation.explanation[1]
    assert evaluation.score == 100
    assert item["outcome"] == "not_excluded"
    assert item["reason"] == "Industry FinTech is not excluded"


def test_disqualifier_match_says_excluded(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, EXCLUDE_ENERGY)
    evaluation = compiled.evaluate(row(industry_id=industry_id("Energy & Utilities")))
    item = evaluation.explanation[1]
    assert evaluation.score == 0
    assert evaluation.tier == "low"
    assert item["outcome"] == "disqualified"
    assert item["reason"] == (
        "Industry Energy & Utilities is excluded: disqualified, so the score is 0 and the tier Low"
    )


def test_range_disqualifier_miss_text(compile_criteria):
    small_revenue = {
        "dimension": "revenue",
        "label": "Too small",
        "operator": "range",
        "min_value": Decimal("100000"),
        "max_value": Decimal("1000000"),
        "is_disqualifier": True,
    }
    compiled = compile_criteria(INDUSTRY_IN, small_revenue)
    evaluation = compiled.evaluate(row(annual_revenue_usd=Decimal("5000000")))
    item = evaluation.explanation[1]
    assert item["outcome"] == "not_excluded"
    assert item["reason"] == ("Revenue $5M is outside $100K to $1M, so the account is not excluded")


def test_unknown_never_disqualifies(compile_criteria, industry_id):
    excluded = {
        "dimension": "geography",
        "operator": "in",
        "values": ["LATAM"],
        "is_disqualifier": True,
        "unknown_policy": "no_points",
    }
    compiled = compile_criteria(INDUSTRY_IN, excluded)
    evaluation = compiled.evaluate(row(industry_id=industry_id("SaaS")))
    assert evaluation.score == 100
    assert evaluation.explanation[1]["outcome"] == "unknown"
    assert "cannot be checked" in evaluation.explanation[1]["reason"]


def test_must_have_mismatch_caps_at_low(compile_criteria, industry_id):
    compiled = compile_criteria(
        {**INDUSTRY_IN, "weight": 10, "is_must_have": True},
        {**GEOGRAPHY_IN, "weight": 90},
    )
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("Insurance"), country="US", employee_count=300)
    )
    assert evaluation.tier == "low"
    assert evaluation.score == 39  # 90 before the cap, Medium starts at 40
    assert evaluation.route == "Nurture"
    assert "the tier is capped at Low and the score at 39" in evaluation.explanation[0]["reason"]


def test_must_have_unknown_not_capped(compile_criteria):
    compiled = compile_criteria(
        {**INDUSTRY_IN, "is_must_have": True, "unknown_policy": "neutral"},
        GEOGRAPHY_IN,
    )
    evaluation = compiled.evaluate(row(country="US"))
    assert evaluation.tier == "high"
    assert evaluation.score == 100
    assert "must-have rule cannot be checked" in evaluation.explanation[0]["reason"]


@pytest.mark.parametrize(
    ("industry_weight", "expected_tier", "expected_route"),
    [
        (70, "high", "Outbound"),
        (69, "medium", "Qualify"),
        (40, "medium", "Qualify"),
        (39, "low", "Nurture"),
    ],
)
def test_tier_cutoffs_and_routes(
    compile_criteria, industry_id, industry_weight, expected_tier, expected_route
):
    compiled = compile_criteria(
        {**INDUSTRY_IN, "weight": industry_weight},
        {**GEOGRAPHY_IN, "weight": 100 - industry_weight},
        medium_tier_route="Qualify",
    )
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("SaaS"), country="BR", employee_count=300)
    )
    assert evaluation.score == industry_weight
    assert evaluation.tier == expected_tier
    assert evaluation.route == expected_route


def test_complete_account_gets_tag(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN)
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("FinTech"), employee_count=300, country="SG")
    )
    assert evaluation.tag == "FinTech – Mid-Market – APAC"
    assert evaluation.needs_enrichment is False
    assert evaluation.missing_fields == []
    assert evaluation.size_band == "Mid-Market"
    assert evaluation.geography == "APAC"


def test_tag_template_placeholders(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, tag_template="{tier}: {industry} in {country}")
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("SaaS"), employee_count=50, country="de")
    )
    assert evaluation.tag == "High: SaaS in DE"


def test_invalid_tag_template_rejected(make_framework):
    framework = make_framework([INDUSTRY_IN], tag_template="{industry} – {segment}")
    with pytest.raises(FrameworkError, match="segment"):
        CompiledFramework.compile(framework)


@pytest.mark.parametrize(
    ("fields", "expected_missing"),
    [
        ({"employee_count": 300, "country": "US"}, ["industry"]),
        ({"industry": "SaaS", "country": "US"}, ["company_size"]),
        ({"industry": "SaaS", "employee_count": 300}, ["geography"]),
        ({}, ["industry", "company_size", "geography"]),
    ],
)
def test_missing_mandatory_fields(compile_criteria, industry_id, fields, expected_missing):
    compiled = compile_criteria(INDUSTRY_IN, SIZE_IN, GEOGRAPHY_IN)
    fields = dict(fields)
    if "industry" in fields:
        fields["industry_id"] = industry_id(fields.pop("industry"))
    evaluation = compiled.evaluate(row(**fields))
    assert evaluation.tag == ""
    assert evaluation.needs_enrichment is True
    assert evaluation.missing_fields == expected_missing


def test_size_outside_bands_is_missing(compile_criteria, industry_id):
    compiled = compile_criteria(SIZE_IN)
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("SaaS"), employee_count=0, country="US")
    )
    assert evaluation.size_band == ""
    assert evaluation.missing_fields == ["company_size"]
    assert evaluation.explanation[0]["outcome"] == "unknown"
    assert "0 employees fit no size band" in evaluation.explanation[0]["reason"]


@pytest.mark.parametrize(
    ("fields", "expected_band"),
    [
        ({"employee_count": 200}, "SMB"),
        ({"employee_count": 201}, "Mid-Market"),
        ({"employee_count": 1000}, "Mid-Market"),
        ({"employee_count": 1001}, "Enterprise"),
        ({"employee_min": 51, "employee_max": 200}, "SMB"),
        ({"employee_min": 201, "employee_max": 500}, "Mid-Market"),
        ({"employee_min": 1001, "employee_max": 5000}, "Enterprise"),
        ({"employee_min": 10001}, "Enterprise"),
        ({"annual_revenue_usd": Decimal("49999999.99")}, "SMB"),
        ({"annual_revenue_usd": Decimal("50000000")}, "Mid-Market"),
        ({"annual_revenue_usd": Decimal("1000000000")}, "Enterprise"),
        ({"employee_count": 150, "annual_revenue_usd": Decimal("5000000000")}, "SMB"),
    ],
)
def test_size_band_rules(compile_criteria, fields, expected_band):
    compiled = compile_criteria(SIZE_IN)
    assert compiled.evaluate(row(**fields)).size_band == expected_band


def test_revenue_fallback_explained(compile_criteria):
    compiled = compile_criteria(SIZE_IN)
    evaluation = compiled.evaluate(row(annual_revenue_usd=Decimal("75000000")))
    assert evaluation.explanation[0]["reason"] == (
        "Company size Mid-Market (revenue $75M) is a target size band (+25 of 25)"
    )


@pytest.mark.parametrize(
    ("revenue", "expected_outcome"),
    [
        (Decimal("49999999"), "mismatch"),
        (Decimal("50000000"), "match"),
        (Decimal("999999999"), "match"),
        (Decimal("1000000000"), "mismatch"),
    ],
)
def test_revenue_range_bounds(compile_criteria, revenue, expected_outcome):
    compiled = compile_criteria(
        {
            "dimension": "revenue",
            "operator": "range",
            "min_value": Decimal("50000000"),
            "max_value": Decimal("1000000000"),
            "weight": 10,
        }
    )
    evaluation = compiled.evaluate(row(annual_revenue_usd=revenue))
    assert evaluation.explanation[0]["outcome"] == expected_outcome


def test_unmapped_country_gets_unmapped_label(compile_criteria, industry_id):
    compiled = compile_criteria(GEOGRAPHY_IN)
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("SaaS"), employee_count=300, country="JP")
    )
    assert evaluation.geography == "Rest of World"
    assert evaluation.tag == "SaaS – Mid-Market – Rest of World"
    assert evaluation.explanation[0]["outcome"] == "mismatch"


def test_geography_can_target_unmapped_label(compile_criteria):
    compiled = compile_criteria({**GEOGRAPHY_IN, "values": ["Rest of World"]})
    assert compiled.evaluate(row(country="JP")).explanation[0]["outcome"] == "match"
    assert compiled.evaluate(row(country="US")).explanation[0]["outcome"] == "mismatch"


def test_geography_values_accept_codes_and_labels(compile_criteria):
    compiled = compile_criteria({**GEOGRAPHY_IN, "values": ["Canada", "sg"]})
    assert compiled.evaluate(row(country="CA")).explanation[0]["outcome"] == "match"
    assert compiled.evaluate(row(country="SG")).explanation[0]["outcome"] == "match"
    assert compiled.evaluate(row(country="US")).explanation[0]["outcome"] == "mismatch"


def test_not_in_operator(compile_criteria, industry_id):
    compiled = compile_criteria({**INDUSTRY_IN, "operator": "not_in", "values": ["Insurance"]})
    target = compiled.evaluate(row(industry_id=industry_id("SaaS")))
    excluded = compiled.evaluate(row(industry_id=industry_id("Insurance")))
    assert target.explanation[0]["outcome"] == "match"
    assert excluded.explanation[0]["outcome"] == "mismatch"
    assert excluded.explanation[0]["reason"] == (
        "Industry Insurance is an excluded industry (+0 of 30)"
    )


TECHNOLOGY_ANY = {
    "dimension": "technology",
    "operator": "any_of",
    "values": ["AWS", "Google Cloud"],
    "weight": 10,
}


@pytest.mark.parametrize(
    ("technologies", "expected_outcome"),
    [
        (["aws", "Python"], "match"),
        (["Google Cloud Platform"], "match"),
        (["google-cloud"], "match"),
        (["Awsome"], "mismatch"),
        (["Python"], "mismatch"),
        ([], "unknown"),
        (None, "unknown"),
        ("AWS", "match"),
    ],
)
def test_technology_any_of(compile_criteria, technologies, expected_outcome):
    compiled = compile_criteria(TECHNOLOGY_ANY)
    evaluation = compiled.evaluate(row(technologies=technologies))
    assert evaluation.explanation[0]["outcome"] == expected_outcome


def test_technology_criterion_matches_reference(compile_criteria):
    compiled = compile_criteria({**TECHNOLOGY_ANY, "values": ["AT&T"]})
    evaluation = compiled.evaluate(row(technologies=["AT&amp;T Cloud"]))
    assert evaluation.explanation[0]["outcome"] == "match"


def test_term_key_decodes_references():
    assert term_key("AT&amp;T") == term_key("at&t")


def test_same_text_shares_one_judgement(compile_criteria):
    compiled = compile_criteria(TECHNOLOGY_ANY)
    first = compiled.evaluate(row(technologies=["AWS", "Python"]))
    second = compiled.evaluate(row(technologies=["Python", "AWS"]))
    assert first.judgements[0] is second.judgements[0]
    assert list(compiled.take_new_items()) == [first.judgements[0].key]


def test_technology_all_of_names_missing(compile_criteria):
    compiled = compile_criteria({**TECHNOLOGY_ANY, "operator": "all_of"})
    evaluation = compiled.evaluate(row(technologies=["AWS"]))
    assert evaluation.explanation[0]["outcome"] == "mismatch"
    assert evaluation.explanation[0]["reason"] == "Technologies lack Google Cloud (+0 of 10)"


def test_signal_inside_a_longer_one_named_once(compile_criteria):
    compiled = compile_criteria(
        {
            "dimension": "buying_signals",
            "operator": "any_of",
            "values": ["funding", "recent funding"],
            "weight": 5,
        }
    )
    evaluation = compiled.evaluate(row(buying_signals=["recent funding"]))
    assert evaluation.explanation[0]["reason"] == (
        "Buying signals include recent funding (+5 of 5)"
    )


def test_none_of_disqualifier_names_kept_values(compile_criteria):
    compiled = compile_criteria(
        {**TECHNOLOGY_ANY, "operator": "not_in", "values": ["AWS"], "is_disqualifier": True}
    )
    evaluation = compiled.evaluate(row(technologies=["AWS"]))
    assert evaluation.explanation[0]["reason"] == (
        "Technologies include AWS, so the account is not excluded"
    )


def test_buying_signal_dicts_match_by_kind(compile_criteria):
    compiled = compile_criteria(
        {
            "dimension": "buying_signals",
            "operator": "any_of",
            "values": ["hiring", "recent funding"],
            "weight": 5,
        }
    )
    evaluation = compiled.evaluate(
        row(buying_signals=[{"kind": "recent_funding", "detail": "Series B"}, "Hiring SDRs"])
    )
    assert evaluation.explanation[0]["outcome"] == "match"
    assert evaluation.explanation[0]["reason"] == (
        "Buying signals include hiring, recent funding (+5 of 5)"
    )


def test_malformed_technologies_raise(compile_criteria):
    compiled = compile_criteria(TECHNOLOGY_ANY)
    with pytest.raises(ValueError, match="expected a list"):
        compiled.evaluate(row(technologies=5))


def test_explanation_json_matches_items(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN, GEOGRAPHY_IN, TECHNOLOGY_ANY)
    evaluation = compiled.evaluate(
        row(industry_id=industry_id("SaaS"), country="DE", technologies=["AWS"])
    )
    assert json.loads(evaluation.explanation_json) == evaluation.explanation


def test_evaluate_runs_no_queries(compile_criteria, industry_id, django_assert_num_queries):
    compiled = compile_criteria(INDUSTRY_IN, SIZE_IN, GEOGRAPHY_IN, TECHNOLOGY_ANY)
    with django_assert_num_queries(0):
        for count in range(1, 500, 7):
            compiled.evaluate(
                row(industry_id=industry_id("SaaS"), employee_count=count, country="US")
            )


def test_compile_takes_few_queries(make_framework, django_assert_max_num_queries):
    framework = make_framework([INDUSTRY_IN, SIZE_IN, GEOGRAPHY_IN, TECHNOLOGY_ANY])
    with django_assert_max_num_queries(4):
        CompiledFramework.compile(framework)


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        ({**INDUSTRY_IN, "values": ["Saas Tools"]}, "unknown industry 'Saas Tools'"),
        (
            {**INDUSTRY_IN, "values": ["SaaS", "Fintech", "Digital Health"]},
            "names 'Digital Health', which is a synonym of HealthTech, not an industry: "
            "use HealthTech.",
        ),
        (
            {**INDUSTRY_IN, "values": ["digital  health"]},
            "'digital  health', which is a synonym of HealthTech",
        ),
        ({**SIZE_IN, "values": ["Giant"]}, "unknown size band 'Giant'"),
        ({**GEOGRAPHY_IN, "values": ["Atlantis"]}, "unknown geography 'Atlantis'"),
        ({**INDUSTRY_IN, "operator": "range"}, "does not support"),
        ({"dimension": "revenue", "operator": "range", "weight": 5}, "without bounds"),
        ({**TECHNOLOGY_ANY, "values": []}, "lists no values"),
    ],
)
def test_invalid_criteria_rejected(make_framework, criterion, message):
    framework = make_framework([criterion])
    with pytest.raises(FrameworkError, match=message):
        CompiledFramework.compile(framework)


def test_unknown_geographies_named_together(make_framework):
    values = ["Mordor", "EMEA", "uk", "Atlantis", "ZZ", "narnia", "DE", "XQ"]
    framework = make_framework([{**GEOGRAPHY_IN, "values": values}])
    with pytest.raises(FrameworkError) as raised:
        CompiledFramework.compile(framework)
    message = str(raised.value)
    assert "names 3 unknown geographies, 'Atlantis', 'Mordor' and 'narnia': use " in message
    assert "names 3 values that are not ISO 3166-1 country codes, " in message
    assert "'uk' (use GB), 'XQ' and 'ZZ'. " in message
    assert message.endswith(
        "Use the suggested codes, and check the others, such as DE for Germany."
    )
    assert "'EMEA'" not in message
    assert "'DE'" not in message


def test_unknown_geographies_listed_up_to_cap(make_framework):
    names = [f"Place {number:02d}" for number in range(25, 0, -1)]
    framework = make_framework([{**GEOGRAPHY_IN, "values": names}])
    with pytest.raises(FrameworkError) as raised:
        CompiledFramework.compile(framework)
    message = str(raised.value)
    listed = ", ".join(repr(f"Place {number:02d}") for number in range(1, 11))
    assert f"names 25 unknown geographies, {listed} and 15 more: use " in message
    assert "'Place 11'" not in message


def test_invalid_country_codes_named_together(make_framework):
    framework = make_framework([{**GEOGRAPHY_IN, "values": ["ZZ", "XQ"]}])
    with pytest.raises(FrameworkError) as raised:
        CompiledFramework.compile(framework)
    message = str(raised.value)
    assert "names 2 values that are not ISO 3166-1 country codes, 'XQ' and 'ZZ'. " in message
    assert message.endswith("Check each code, such as DE for Germany.")


# Property tests check results, not speed, so a busy machine must not fail them.
UNTIMED_CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture
def default_compiled(default_framework) -> CompiledFramework:
    return CompiledFramework.compile(default_framework)


account_rows = st.builds(
    AccountRow,
    id=st.integers(min_value=1, max_value=10**9),
    industry_id=st.one_of(st.none(), st.integers(min_value=1, max_value=40)),
    employee_count=st.one_of(st.none(), st.integers(min_value=0, max_value=3_000_000)),
    employee_min=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
    employee_max=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
    annual_revenue_usd=st.one_of(
        st.none(),
        st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False),
    ),
    country=st.sampled_from(["", "US", "SG", "DE", "BR", "AQ", "ZZ", "gb"]),
    technologies=st.lists(st.sampled_from(["AWS", "Python", "Kubernetes", "cloud"]), max_size=3),
    buying_signals=st.lists(st.sampled_from(["hiring", "funding", "layoffs"]), max_size=2),
    verification_status=st.sampled_from(["verified", "unverified", "conflicting"]),
    field_status=st.dictionaries(
        st.sampled_from(["industry", "company_size", "country", "revenue"]),
        st.fixed_dictionaries(
            {
                "status": st.sampled_from(["verified", "conflicting", "accepted"]),
                "values": st.just({"apollo": "a", "zoominfo": "b"}),
            }
        ),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=UNTIMED_CHECKS)
@given(account=account_rows)
def test_default_framework_invariants(default_compiled, account):
    evaluation = default_compiled.evaluate(account)
    assert evaluation.score is None or 0 <= evaluation.score <= 100
    assert evaluation.tier in {"high", "medium", "low", ""}
    assert (evaluation.tag == "") == evaluation.needs_enrichment
    assert evaluation.needs_enrichment == bool(evaluation.missing_fields)
    conflicts = [item for item in evaluation.explanation if item["dimension"] == "verification"]
    assert len(evaluation.explanation) == 6 + len(conflicts)
    if account.verification_status != "conflicting":
        assert conflicts == []
    if evaluation.score is not None and evaluation.score >= 70:
        assert evaluation.tier == "high"
    if evaluation.needs_enrichment:
        assert evaluation.route == ""
    elif evaluation.tier == "high":
        assert evaluation.route == "Outbound"
    elif evaluation.tier == "low":
        assert evaluation.route == "Nurture"


def test_incomplete_account_not_routed(compile_criteria, industry_id):
    compiled = compile_criteria(INDUSTRY_IN)
    complete = compiled.evaluate(
        row(industry_id=industry_id("SaaS"), country="US", employee_count=300)
    )
    incomplete = compiled.evaluate(row(industry_id=industry_id("SaaS"), country="US"))

    assert complete.tier == incomplete.tier == "high"
    assert complete.route == "Outbound"
    assert incomplete.route == ""
    assert incomplete.missing_fields == ["company_size"]


def test_size_band_lookup_matches_scan(make_framework):
    """Bands with gaps, an open end and revenue-only bands give the first band that fits."""
    framework = make_framework([])
    framework.size_bands.all().delete()
    for position, (name, low, high, low_revenue, high_revenue) in enumerate(
        [
            ("Micro", 1, 9, None, Decimal("1000000")),
            ("Small", 20, 99, Decimal("1000000"), Decimal("10000000")),
            ("Overlap", 50, 60, None, None),
            ("Revenue only", None, None, Decimal("25000000"), Decimal("90000000")),
            ("Large", 500, None, Decimal("500000000"), None),
        ]
    ):
        framework.size_bands.create(
            name=name,
            min_employees=low,
            max_employees=high,
            min_revenue_usd=low_revenue,
            max_revenue_usd=high_revenue,
            position=position,
        )
    compiled = CompiledFramework.compile(framework)
    bands = compiled.size_bands

    for count in range(-1, 1200):
        expected = next((b.name for b in bands if b.contains_employees(count)), None)
        assert compiled.size_band_of(row(employee_count=count)) == expected, count

    bounds = [0, 999_999, 1_000_000, 9_999_999.5, 10_000_000, 25_000_000, 89_999_999]
    bounds += [90_000_000, 499_999_999, 500_000_000, 7e12]
    for revenue in bounds:
        expected = next((b.name for b in bands if b.contains_revenue(revenue)), None)
        assert compiled.size_band_of(row(annual_revenue_usd=Decimal(revenue))) == expected


SIZE_RANGE = {
    "dimension": "company_size",
    "label": "Head count",
    "operator": "range",
    "min_value": Decimal("50"),
    "max_value": Decimal("500"),
    "weight": 15,
}
REVENUE_RANGE = {
    "dimension": "revenue",
    "label": "Revenue",
    "operator": "range",
    "min_value": Decimal("10000000"),
    "max_value": Decimal("100000000"),
    "weight": 10,
}


def test_class_rows_keep_own_numbers(compile_criteria, industry_id):
    """Head counts and revenues judged alike share a cached judgement but not its numbers."""
    compiled = compile_criteria(SIZE_IN, SIZE_RANGE, REVENUE_RANGE)
    first = compiled.evaluate(
        row(employee_count=300, annual_revenue_usd=Decimal("20000000"), country="US")
    )
    second = compiled.evaluate(
        row(employee_count=450, annual_revenue_usd=Decimal("75300000"), country="US")
    )

    assert [item["reason"] for item in first.explanation] == [
        "Company size Mid-Market (300 employees) is a target size band (+25 of 25)",
        "Company size 300 employees is within 50 to 500 (+15 of 15)",
        "Revenue $20M is within $10M to $100M (+10 of 10)",
    ]
    assert [item["reason"] for item in second.explanation] == [
        "Company size Mid-Market (450 employees) is a target size band (+25 of 25)",
        "Company size 450 employees is within 50 to 500 (+15 of 15)",
        "Revenue $75.3M is within $10M to $100M (+10 of 10)",
    ]
    revenue_only = compiled.evaluate(row(annual_revenue_usd=Decimal("80000000")))
    assert revenue_only.explanation[0]["reason"] == (
        "Company size Mid-Market (revenue $80M) is a target size band (+25 of 25)"
    )


def test_mark_characters_in_band_name(make_framework):
    framework = make_framework([SIZE_IN])
    framework.size_bands.filter(name="Mid-Market").update(name="Mid\x01Market")
    framework.criteria.update(values=["Mid\x01Market"])
    compiled = CompiledFramework.compile(framework)

    for count in (300, 450):
        reason = compiled.evaluate(row(employee_count=count)).explanation[0]["reason"]
        assert reason == (
            f"Company size Mid\x01Market ({count} employees) is a target size band (+25 of 25)"
        )


# Each example compiles the framework once per row, with database queries, so on a loaded
# machine an example can take longer than Hypothesis's default deadline of 200 ms.
@settings(max_examples=150, deadline=None, suppress_health_check=UNTIMED_CHECKS)
@given(accounts=st.lists(account_rows, min_size=2, max_size=6))
def test_shared_caches_match_fresh_framework(make_framework, accounts):
    """Scoring rows one after another gives each the result it gets scored alone."""
    framework = make_framework(
        [INDUSTRY_IN, SIZE_IN, SIZE_RANGE, GEOGRAPHY_IN, REVENUE_RANGE],
        tag_template="{industry} – {size_band} – {geography} – {tier}",
    )
    shared = CompiledFramework.compile(framework)
    for account in accounts:
        alone = CompiledFramework.compile(framework).evaluate(account)
        assert shared.evaluate(account) == alone
        assert "\\u0001" not in alone.explanation_json
        assert "\\u0002" not in alone.explanation_json
