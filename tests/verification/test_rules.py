"""The current-value and verification rules on plain values, without the database."""

from datetime import datetime, timedelta

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from enrichment import verification as rules

BASE = datetime(2026, 1, 5, tzinfo=timezone.get_fixed_timezone(0))
RULES = rules.SourceRules.build(rules.DEFAULT_SOURCE_PRIORITY, rules.DEFAULT_SOURCE_GROUPS)
CONTEXT = rules.VerificationContext(rules=RULES, industry_names={1: "SaaS", 2: "FinTech"})


def evidence(field, value, source, minutes=0, *, entered_by=None, observation_id=None):
    return rules.Evidence(
        observation_id=observation_id or minutes + 1,
        field=field,
        value=value,
        raw_value=str(value),
        source=source,
        observed_at=BASE + timedelta(minutes=minutes),
        entered_by_id=entered_by,
    )


def size(count, minimum=None, maximum="same"):
    low = count if minimum is None else minimum
    high = count if maximum == "same" else maximum
    return {"count": count, "min": low, "max": high, "approximate": False}


def status_of(name, items):
    observation_field = rules.VERIFIED_FIELDS[name]
    if name == "technologies":
        current = rules.choose_technologies(items, RULES)
    else:
        current = rules.choose_current(observation_field, items, RULES)
    latest = rules.latest_by_source(items, observation_field)
    return rules.field_status(name, current, latest, CONTEXT)


def test_rank_beats_recency():
    items = [
        evidence("employees", size(100), "zoominfo", 0),
        evidence("employees", size(900), "apollo", 60),
    ]

    choice = rules.choose_current("employees", items, RULES)

    assert choice.source == "zoominfo"
    assert choice.value["count"] == 100


def test_recency_breaks_rank_tie():
    items = [
        evidence("employees", size(100), "sp500", 60),
        evidence("employees", size(900), "fortune500", 0),
    ]

    choice = rules.choose_current("employees", items, RULES)

    assert choice.source == "sp500"


def test_unknown_source_ranks_last():
    items = [
        evidence("employees", size(100), "csv", 60),
        evidence("employees", size(900), "remoteintech", 0),
    ]

    assert rules.choose_current("employees", items, RULES).source == "remoteintech"


def test_person_beats_every_source():
    items = [
        evidence("employees", size(100), "manual", 0, entered_by=7),
        evidence("employees", size(900), "zoominfo", 60),
    ]

    choice = rules.choose_current("employees", items, RULES)

    assert choice.kind == rules.PERSON
    assert choice.value["count"] == 100


def test_resolution_beats_person():
    items = [evidence("employees", size(100), "manual", 0, entered_by=7)]

    choice = rules.choose_current("employees", items, RULES, resolution_value=size(5))

    assert choice.kind == rules.RESOLUTION
    assert choice.value["count"] == 5


def test_later_person_entry_beats_resolution():
    items = [evidence("employees", size(100), "manual", 30, entered_by=7)]

    choice = rules.choose_current(
        "employees", items, RULES, resolution_value=size(5), resolution_at=BASE
    )

    assert choice.kind == rules.PERSON
    assert choice.value["count"] == 100


def test_unrecorded_account_value_kept():
    items = [evidence("employees", size(1200), "zoominfo")]

    choice = rules.choose_current("employees", items, RULES, account_value=size(500))

    assert choice.kind == rules.UNRECORDED
    assert choice.source == rules.UNRECORDED_SOURCE


def test_recorded_account_value_replaced():
    items = [
        evidence("employees", size(500), "apollo", 0),
        evidence("employees", size(1200), "zoominfo", 10),
    ]

    choice = rules.choose_current("employees", items, RULES, account_value=size(500))

    assert choice.source == "zoominfo"


def test_source_latest_value_counts():
    items = [
        evidence("employees", size(500), "apollo", 0),
        evidence("employees", size(700), "apollo", 10),
    ]

    assert rules.choose_current("employees", items, RULES).value["count"] == 700


def test_unusable_value_ignored():
    items = [
        evidence("employees", None, "zoominfo", 10),
        evidence("employees", size(700), "apollo", 0),
    ]

    assert rules.choose_current("employees", items, RULES).source == "apollo"


def test_mapped_industry_beats_unmapped_rank():
    items = [
        evidence("industry", {"industry_id": None, "label": "Widgets"}, "hubspot", 0),
        evidence("industry", {"industry_id": 1, "label": "Software"}, "ycombinator", 0),
    ]

    choice = rules.choose_current("industry", items, RULES)

    assert choice.source == "ycombinator"


def test_technologies_union_in_rank_order():
    items = [
        evidence("technologies", ["React", "AWS"], "website", 0),
        evidence("technologies", ["Salesforce", "aws"], "apollo", 0),
    ]

    choice = rules.choose_technologies(items, RULES, account_value=["Snowflake"])

    assert choice.value == ["Salesforce", "aws", "React", "Snowflake"]


def test_technologies_union_decodes_references():
    items = [
        evidence("technologies", ["AT&T", "Jira"], "website", 0),
        evidence("technologies", ["AT&amp;T"], "apollo", 0),
    ]

    choice = rules.choose_technologies(items, RULES, account_value=["at&amp;t", "Slack"])

    assert choice.value == ["AT&amp;T", "Jira", "Slack"]


def test_technologies_verified_by_decoded_item():
    entry = status_of(
        "technologies",
        [
            evidence("technologies", ["AT&T"], "website"),
            evidence("technologies", ["AT&amp;T"], "apollo"),
        ],
    )

    assert entry["status"] == rules.VERIFIED
    assert entry["confirmed"] == ["at&t"]


def test_industry_verified_by_two_groups():
    entry = status_of(
        "industry",
        [
            evidence("industry", {"industry_id": 1, "label": "Systems Software"}, "sp500"),
            evidence("industry", {"industry_id": 1, "label": "Computer Software"}, "fortune500"),
        ],
    )

    assert entry["status"] == rules.VERIFIED
    assert entry["sources"] == ["fortune500", "sp500"]
    assert entry["values"]["sp500"] == "Systems Software (SaaS)"


def test_same_group_is_single_source():
    label = {"industry_id": 1, "label": "Systems Software"}
    entry = status_of(
        "industry",
        [evidence("industry", label, "sp500"), evidence("industry", label, "sp500_financials")],
    )

    assert entry["status"] == rules.SINGLE_SOURCE


def test_same_group_disagreement_not_conflict():
    entry = status_of(
        "industry",
        [
            evidence("industry", {"industry_id": 1, "label": "Systems Software"}, "sp500", 10),
            evidence("industry", {"industry_id": 2, "label": "Payments"}, "sp500_financials", 0),
        ],
    )

    assert entry["status"] == rules.SINGLE_SOURCE
    assert entry["values"]["sp500_financials"] == "Payments (FinTech)"


def test_industry_conflict_keeps_both_values():
    entry = status_of(
        "industry",
        [
            evidence("industry", {"industry_id": 1, "label": "Software"}, "apollo"),
            evidence("industry", {"industry_id": 2, "label": "Payments"}, "clearbit"),
        ],
    )

    assert entry["status"] == rules.CONFLICTING
    assert entry["values"] == {"apollo": "Software (SaaS)", "clearbit": "Payments (FinTech)"}
    assert entry["sources"] == ["apollo"]


def test_unmapped_industry_not_compared():
    entry = status_of(
        "industry",
        [
            evidence("industry", {"industry_id": 1, "label": "Software"}, "apollo"),
            evidence("industry", {"industry_id": None, "label": "Widgets"}, "clearbit"),
        ],
    )

    assert entry["status"] == rules.SINGLE_SOURCE
    assert entry["values"]["clearbit"] == "Widgets (not mapped)"


def test_sizes_within_twenty_percent_agree():
    assert rules.values_agree("company_size", size(100), size(120), CONTEXT)


def test_sizes_apart_in_other_bands_disagree():
    assert not rules.values_agree("company_size", size(150), size(300), CONTEXT)


def test_range_in_same_band_agrees():
    assert rules.values_agree("company_size", size(3_000, 1_001, 5_000), size(2_200_000), CONTEXT)


def test_open_bucket_agrees_with_large_count():
    bucket = size(1001, 1001, None)

    assert rules.values_agree("company_size", bucket, size(131_000), CONTEXT)


def test_revenue_tolerance_is_twenty_five_percent():
    base = {"amount": "100", "currency": "USD", "usd": "100"}

    assert rules.values_agree("revenue", base, {**base, "usd": "125", "amount": "125"}, CONTEXT)
    assert not rules.values_agree("revenue", base, {**base, "usd": "140", "amount": "140"}, CONTEXT)


def test_revenue_compared_in_usd():
    usd = {"amount": "117", "currency": "USD", "usd": "117"}
    euro = {"amount": "100", "currency": "EUR", "usd": "117"}

    assert rules.values_agree("revenue", usd, euro, CONTEXT)


def test_country_conflict():
    entry = status_of(
        "country",
        [
            evidence("location", {"country": "US", "region": "", "city": ""}, "zoominfo"),
            evidence("location", {"country": "IE", "region": "", "city": "Dublin"}, "apollo"),
        ],
    )

    assert entry["status"] == rules.CONFLICTING
    assert entry["values"] == {"apollo": "IE", "zoominfo": "US"}


def test_missing_without_values():
    entry = status_of("country", [])

    assert entry == {"status": rules.MISSING, "sources": [], "values": {}}


def test_majority_with_current_is_verified():
    entry = status_of(
        "country",
        [
            evidence("location", {"country": "US"}, "zoominfo"),
            evidence("location", {"country": "US"}, "fortune500"),
            evidence("location", {"country": "CA"}, "apollo"),
        ],
    )

    assert entry["status"] == rules.VERIFIED
    assert entry["sources"] == ["fortune500", "zoominfo"]
    assert entry["values"]["apollo"] == "CA"


def test_technologies_never_conflict():
    entry = status_of(
        "technologies",
        [
            evidence("technologies", ["React"], "website"),
            evidence("technologies", ["Salesforce"], "apollo"),
        ],
    )

    assert entry["status"] == rules.SINGLE_SOURCE


def test_technologies_verified_by_common_item():
    entry = status_of(
        "technologies",
        [
            evidence("technologies", ["React", "Go"], "website"),
            evidence("technologies", ["react"], "apollo"),
        ],
    )

    assert entry["status"] == rules.VERIFIED
    assert entry["confirmed"] == ["react"]


def test_account_status_from_mandatory_fields():
    verified = {"status": rules.VERIFIED}
    accepted = {"status": rules.ACCEPTED}
    single = {"status": rules.SINGLE_SOURCE}
    conflict = {"status": rules.CONFLICTING}

    all_verified = {"industry": verified, "company_size": accepted, "country": verified}
    one_single = {"industry": verified, "company_size": single, "country": verified}
    one_conflict = {"industry": conflict, "company_size": verified, "country": verified}
    revenue_conflict = {**all_verified, "revenue": conflict}
    assert rules.account_verification_status(all_verified) == "verified"
    assert rules.account_verification_status(one_single) == "unverified"
    assert rules.account_verification_status(one_conflict) == "conflicting"
    assert rules.account_verification_status(revenue_conflict) == "verified"
    assert rules.account_verification_status({}) == "unverified"


def test_queue_reasons_name_fields():
    statuses = {
        "industry": {
            "status": rules.CONFLICTING,
            "sources": ["apollo"],
            "values": {"apollo": "SaaS", "clearbit": "FinTech"},
        },
        "company_size": {"status": rules.SINGLE_SOURCE, "sources": ["fortune500"], "values": {}},
        "country": {"status": rules.VERIFIED, "sources": ["a", "b"], "values": {}},
    }

    reasons = rules.queue_reasons(statuses)

    assert reasons[0] == (
        "Industry: sources disagree (Apollo: SaaS; Clearbit: FinTech). Resolve the conflict."
    )
    assert reasons[1] == (
        "Company size: only Fortune 500 reports it. Confirm it with a second source."
    )
    assert len(reasons) == 2


def test_conflict_without_recorded_values_has_no_empty_brackets():
    statuses = {"industry": {"status": rules.CONFLICTING, "sources": [], "values": {}}}

    reasons = rules.queue_reasons(statuses)

    assert reasons[0] == "Industry: sources disagree. Resolve the conflict."


@given(
    first=st.integers(min_value=1, max_value=5_000_000),
    second=st.integers(min_value=1, max_value=5_000_000),
)
def test_size_agreement_is_symmetric(first, second):
    assert rules.values_agree("company_size", size(first), size(second), CONTEXT) == (
        rules.values_agree("company_size", size(second), size(first), CONTEXT)
    )


@given(count=st.integers(min_value=1, max_value=5_000_000))
def test_size_agrees_with_itself(count):
    assert rules.values_agree("company_size", size(count), size(count), CONTEXT)


def test_counts_in_one_band_beyond_tolerance_disagree():
    assert not rules.values_agree("company_size", size(131_000), size(20_000), CONTEXT)
    assert not rules.values_agree("company_size", size(1_500), size(5_000), CONTEXT)


def test_counts_within_tolerance_agree():
    assert rules.values_agree("company_size", size(131_000), size(110_000), CONTEXT)


def test_range_agrees_with_count_in_its_band():
    enterprise = size(1001, 1001, None)
    large = size(600, 201, 1000)

    assert rules.values_agree("company_size", size(131_000), enterprise, CONTEXT)
    assert rules.values_agree("company_size", enterprise, size(131_000), CONTEXT)
    assert not rules.values_agree("company_size", size(413_000), large, CONTEXT)


def test_counts_beyond_tolerance_conflict():
    items = [
        evidence("employees", size(131_000), "fortune500", 0),
        evidence("employees", size(20_000), "csv", 10),
    ]

    entry = status_of("company_size", items)

    assert entry["status"] == "conflicting"
    assert entry["disagreeing"] == ["csv"]
