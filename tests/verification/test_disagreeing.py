"""field_status names the sources that disagree with the current value."""

from enrichment import verification as rules

from .test_rules import evidence, size, status_of


def test_verified_field_names_outvoted_source():
    entry = status_of(
        "company_size",
        [
            evidence("employees", size(150), "apollo"),
            evidence("employees", size(160), "clearbit"),
            evidence("employees", size(132000), "fortune500"),
        ],
    )

    assert entry["status"] == rules.VERIFIED
    assert entry["sources"] == ["apollo", "clearbit"]
    assert entry["disagreeing"] == ["fortune500"]
    assert entry["values"]["fortune500"] == "132,000"


def test_conflicting_field_names_disagreeing_source():
    entry = status_of(
        "industry",
        [
            evidence("industry", {"industry_id": 1, "label": "Software"}, "apollo"),
            evidence("industry", {"industry_id": 2, "label": "Payments"}, "clearbit"),
        ],
    )

    assert entry["status"] == rules.CONFLICTING
    assert entry["disagreeing"] == ["clearbit"]


def test_agreeing_sources_name_none():
    entry = status_of(
        "country",
        [
            evidence("location", {"country": "US"}, "zoominfo"),
            evidence("location", {"country": "US"}, "fortune500"),
        ],
    )

    assert entry["status"] == rules.VERIFIED
    assert "disagreeing" not in entry


def test_same_group_and_unmapped_not_disagreeing():
    entry = status_of(
        "industry",
        [
            evidence("industry", {"industry_id": 1, "label": "Systems Software"}, "sp500", 10),
            evidence("industry", {"industry_id": 2, "label": "Payments"}, "sp500_financials"),
            evidence("industry", {"industry_id": None, "label": "Widgets"}, "clearbit"),
        ],
    )

    assert entry["status"] == rules.SINGLE_SOURCE
    assert "disagreeing" not in entry
