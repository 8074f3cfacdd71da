"""Observation values and buying signals as the account page writes them."""

import pytest

from accounts.observation_text import buying_signal_label, money_text, observation_text

INDUSTRIES = {4: "Retail & E-commerce"}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "employees",
            {"approximate": False, "count": 27, "max": 27, "min": 27},
            "27 employees",
        ),
        (
            "employees",
            {"approximate": True, "count": 27, "max": 27, "min": 27},
            "about 27 employees",
        ),
        ("employees", {"approximate": False, "count": 30, "max": 50, "min": 11}, "11–50 employees"),
        (
            "employees",
            {"approximate": False, "count": 1001, "max": None, "min": 1001},
            "1,001+ employees",
        ),
        ("employees", {"approximate": False, "count": 1, "max": 1, "min": 1}, "1 employee"),
        (
            "revenue",
            {"amount": "7000000.00", "currency": "EUR", "usd": "8190000.00"},
            "€7,000,000 (about $8,190,000)",
        ),
        (
            "revenue",
            {"amount": "514405000000.00", "currency": "USD", "usd": "514405000000.00"},
            "$514,405,000,000",
        ),
        ("revenue", {"amount": "12.50", "currency": "CHF", "usd": None}, "12.50 CHF"),
        ("market_cap", {"amount": "1500000000.00", "currency": "USD"}, "$1,500,000,000"),
        ("ebitda", {"amount": "-2000000.00", "currency": "USD"}, "-$2,000,000"),
        ("industry", {"industry_id": 4}, "Retail & E-commerce"),
        ("industry", {"industry_id": 4, "label": "General Merchandisers"}, "Retail & E-commerce"),
        ("industry", {"industry_id": None, "label": "Space Mining"}, "Space Mining (not mapped)"),
        ("industry", {"industry_id": 99}, "Industry 99"),
        (
            "location",
            {"city": "Bentonville", "country": "US", "region": "AR"},
            "Bentonville, AR, US",
        ),
        ("location", {"city": "", "country": "DE", "region": ""}, "DE"),
        (
            "funding",
            {
                "total": {"amount": "20000000", "currency": "USD"},
                "latest_stage": "Series B",
                "latest_round_date": "2024-03-01",
                "latest_amount": {"amount": "10000000", "currency": "EUR"},
            },
            "$20,000,000 in total; latest round Series B, €10,000,000, 2024-03-01",
        ),
        (
            "funding",
            {"total": None, "latest_stage": "", "latest_round_date": None, "latest_amount": None},
            "—",
        ),
        (
            "social_links",
            {"linkedin": "https://linkedin.com/company/acme", "github": "https://github.com/acme"},
            "LinkedIn: https://linkedin.com/company/acme, GitHub: https://github.com/acme",
        ),
        ("buying_signals", ["recent_funding", "hiring"], "Recent funding, Hiring"),
        ("technologies", ["Snowflake", "Kubernetes"], "Snowflake, Kubernetes"),
        ("founded", 1962, "1962"),
        ("rank", 1, "1"),
        ("domain", "walmart.com", "walmart.com"),
        ("employees", None, "—"),
        ("other", {"first_key": "a"}, "First key: a"),
    ],
)
def test_observation_text_by_kind(field, value, expected):
    assert observation_text(field, value, INDUSTRIES) == expected


@pytest.mark.parametrize(
    ("signal", "expected"),
    [
        ("recent_funding", "Recent funding"),
        ("recent funding", "Recent funding"),
        ("hiring", "Hiring"),
        ("series_b_closed", "Series b closed"),
        ("Hiring SDRs", "Hiring SDRs"),
        ("new-market entry", "New-market entry"),
    ],
)
def test_buying_signal_label_cases(signal, expected):
    assert buying_signal_label(signal) == expected


def test_money_text_blank_for_non_numbers():
    assert money_text("n/a", "USD") == ""
    assert money_text(None, "USD") == ""
