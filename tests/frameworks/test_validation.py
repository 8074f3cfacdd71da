from decimal import Decimal

import pytest

from segmentation.engine import CompiledFramework
from segmentation.models import Criterion, SizeBand
from segmentation.validation import (
    criterion_errors,
    cutoff_errors,
    max_reachable_score,
    reachability_errors,
    size_band_gaps,
    size_band_name_errors,
    size_band_overlaps,
    size_band_range_errors,
    tag_template_errors,
)


def band(name, low=None, high=None, low_revenue=None, high_revenue=None) -> SizeBand:
    return SizeBand(
        name=name,
        min_employees=low,
        max_employees=high,
        min_revenue_usd=None if low_revenue is None else Decimal(low_revenue),
        max_revenue_usd=None if high_revenue is None else Decimal(high_revenue),
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{industry} – {size_band} – {geography}", None),
        ("{industry}, {country} | {tier}", None),
        ("{industry} – – {geography}", "empty part between separators"),
        ("{industry} – ", "empty part between separators"),
        ("{industry} – {segment}", "unknown placeholder {segment}"),
        ("{}", "unknown placeholder {}"),
        ("{tier!r}", "format or conversion"),
        ("ICP", "has no placeholder"),
        ("   ", "is empty"),
        ("{industry", "is invalid"),
        ("{industry} - - {tier}", "empty part between separators"),
        ("{industry} - {tier} -", "empty part between separators"),
        ("{industry} - Mid-Market - {tier}", None),
        ("{industry}{size_band}", "puts {industry} and {size_band} next to each other"),
        ("{industry} {size_band}", "puts {industry} and {size_band} next to each other"),
        ("{tier}: {industry} in {country}", None),
        ("{industry}-{size_band}-{geography}", "{industry} and {size_band} with a hyphen"),
        ("{industry}-{size_band}-{geography}", "{size_band} and {geography} with a hyphen"),
        ("{industry} -{size_band}", "put a space on each side of the hyphen"),
        ("{industry}- {size_band}", "'SaaS-Mid-Market-US' could not be split"),
        ("{industry} – {industry}", "uses {industry} 2 times"),
        ("{industry} | {tier} | {industry} | {tier}", "uses {tier} 2 times"),
        ("{industry}-Mid - {tier}", None),
    ],
)
def test_tag_template_cases(template, expected):
    errors = tag_template_errors(template)
    if expected is None:
        assert errors == []
    else:
        assert any(expected in error for error in errors), errors


def test_cutoffs_in_order_pass():
    assert cutoff_errors(70, 40) == {}


def test_cutoffs_equal_rejected():
    errors = cutoff_errors(50, 50)
    assert "must rise from Medium to High" in errors["medium_tier_min_score"][0]


def test_cutoff_zero_rejected():
    errors = cutoff_errors(70, 0)
    assert "enter a value of 1 or more" in errors["medium_tier_min_score"][0]


def test_adjacent_bands_pass():
    bands = [
        band("SMB", 1, 200, None, "50000000"),
        band("Mid-Market", 201, 1000, "50000000", "1000000000"),
        band("Enterprise", 1001, None, "1000000000", None),
    ]
    assert size_band_overlaps(bands) == []


def test_shared_employee_bound_overlaps():
    errors = size_band_overlaps([band("A", 1, 200), band("B", 200, 500)])
    assert len(errors) == 1
    assert "overlapping employee ranges" in errors[0]


def test_open_band_overlaps_later():
    errors = size_band_overlaps([band("Big", 1000), band("Huge", 5000, 9000)])
    assert "'Big' (1,000+ employees) and 'Huge' (5,000–9,000 employees)" in errors[0]


def test_revenue_overlap_names_ranges():
    errors = size_band_overlaps(
        [band("A", None, None, 0, 20_000_000), band("B", None, None, 10_000_000, None)]
    )
    assert len(errors) == 1
    assert "'A' ($0 to under $20,000,000 revenue)" in errors[0]
    assert "'B' ($10,000,000+ revenue)" in errors[0]
    assert "overlapping revenue ranges" in errors[0]


def test_shared_revenue_bound_passes():
    assert size_band_overlaps([band("A", None, None, 0, 10), band("B", None, None, 10, 20)]) == []


def test_band_without_bounds_rejected():
    errors = size_band_range_errors(band("Empty"))
    assert "has no bounds" in errors["__all__"][0]


@pytest.mark.parametrize(("low", "high"), [(0, 0), (None, 0)])
def test_band_of_zero_employees_rejected(low, high):
    errors = size_band_range_errors(band("SMB", low, high))
    assert "matches no account: a head count of 0 means unknown" in errors["max_employees"][0]


def test_band_of_zero_revenue_rejected():
    errors = size_band_range_errors(band("Tiny", None, None, None, "0"))
    assert "maximum revenue of 0" in errors["max_revenue_usd"][0]


def test_band_from_zero_employees_accepted():
    assert size_band_range_errors(band("SMB", 0, 200)) == {}


def test_check_rejects_zero_employee_band(draft):
    from segmentation.lifecycle import framework_check

    draft.size_bands.filter(name="SMB").update(min_employees=0, max_employees=0)
    problems = framework_check(draft)
    assert any("'SMB' has a maximum of 0 employees" in problem for problem in problems)


def test_band_min_above_max_rejected():
    errors = size_band_range_errors(band("Odd", 500, 100))
    assert "below the minimum" in errors["max_employees"][0]


def test_disqualifiers_reach_nothing():
    criteria = [Criterion(weight=30, is_disqualifier=True), Criterion(weight=0)]
    assert max_reachable_score(criteria) == 0
    assert len(reachability_errors(criteria, 70, 40)) == 2


def test_scoring_criterion_reaches_100():
    criteria = [Criterion(weight=5), Criterion(weight=30, is_disqualifier=True)]
    assert max_reachable_score(criteria) == 100
    assert reachability_errors(criteria, 70, 40) == []


def test_band_gap_warned(draft):
    draft.size_bands.filter(name="SMB").update(max_employees=150)
    bands = list(draft.size_bands.all())

    warnings = size_band_gaps(bands)

    assert len(warnings) == 1
    assert "No size band covers 151 to 200 employees" in warnings[0]


def test_adjacent_bands_have_no_gap(draft):
    assert size_band_gaps(list(draft.size_bands.all())) == []


def test_band_gaps_at_both_ends_warned(draft):
    draft.size_bands.filter(name="SMB").update(min_employees=10)
    draft.size_bands.filter(name="Enterprise").update(max_employees=50000)

    warnings = size_band_gaps(list(draft.size_bands.all()))

    assert any("No size band covers 1 to 9 employees, below 'SMB'" in text for text in warnings)
    assert any("more than 50,000 employees, above 'Enterprise'" in text for text in warnings)


def test_approved_version_with_old_code_still_compiles(active_framework):
    active_framework.criteria.filter(dimension="geography").update(values=["APAC", "UK"])

    compiled = CompiledFramework.compile(active_framework)

    assert compiled.version == active_framework.version


def test_band_names_differing_in_case_rejected():
    errors = size_band_name_errors([band("SMB", 1, 200), band("smb", 5000)])
    assert len(errors) == 1
    assert "'SMB' and 'smb' have the same name ignoring case" in errors[0]
    assert "rename one" in errors[0]


def test_distinct_band_names_accepted():
    bands = [band("SMB", 1, 200), band("Mid-Market", 201, 1000), band("", 1001)]
    assert size_band_name_errors(bands) == []


def test_criterion_negative_minimum_rejected(draft):
    criterion = Criterion(
        framework=draft, dimension="revenue", label="Revenue", min_value=Decimal("-5")
    )
    errors = criterion_errors(criterion, framework=draft)
    assert errors["min_value"] == [
        "The minimum -5 is negative: head counts and revenue start at 0, so enter 0 or more."
    ]


def test_criterion_zero_minimum_accepted(draft):
    criterion = Criterion(
        framework=draft, dimension="revenue", label="Revenue", min_value=Decimal("0")
    )
    assert "min_value" not in criterion_errors(criterion, framework=draft)


def test_criterion_repeated_signal_rejected(draft):
    criterion = Criterion(
        framework=draft,
        dimension="buying_signals",
        label="Signals",
        values=["hiring", "recent funding", "HIRING", "Recent-Funding"],
    )
    errors = criterion_errors(criterion, framework=draft)
    assert errors["values"] == [
        "The value 'HIRING' is the same as 'hiring' for matching: keep one.",
        "The value 'Recent-Funding' is the same as 'recent funding' for matching: keep one.",
    ]


def test_criterion_industries_compared_by_case_only(draft):
    criterion = Criterion(
        framework=draft,
        dimension="industry",
        label="Industries",
        values=["SaaS", "E-commerce", "E commerce"],
    )
    errors = criterion_errors(criterion, framework=draft, check_names=False)
    assert not any("for matching" in message for message in errors.get("values", []))


def test_criterion_industry_synonym_names_industry(draft):
    criterion = Criterion(
        framework=draft,
        dimension="industry",
        label="Target industry",
        operator="in",
        values=["SaaS", "Fintech", "Digital Health"],
        weight=30,
    )
    errors = criterion_errors(criterion, framework=draft)
    messages = [message for field_errors in errors.values() for message in field_errors]
    assert any("'Digital Health', which is a synonym of HealthTech" in text for text in messages)
    assert any("use HealthTech." in text for text in messages)
    assert not any("Fintech" in text for text in messages)
