import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import (
    MAX_EMPLOYEES,
    EmployeeRange,
    UnparsedValue,
    employee_range_from_bounds,
    from_size_bucket,
    parse_employee_count,
)


@pytest.mark.parametrize(
    ("raw", "minimum", "maximum"),
    [
        ("51-200", 51, 200),
        ("1,001-5,000", 1001, 5000),
        ("51-200 employees", 51, 200),
        ("51 to 200", 51, 200),
        ("51 – 200", 51, 200),
        ("51—200", 51, 200),
        ("51 - 200", 51, 200),
        ("2-10 employees", 2, 10),
        ("0-1", 0, 1),
        ("0-1 employees", 0, 1),
        ("10,001-50,000", 10001, 50000),
        ("Employees: 1,000 - 5,000", 1000, 5000),
        ("201-500 (LinkedIn)", 201, 500),
    ],
)
def test_employees_closed_range(raw: str, minimum: int, maximum: int) -> None:
    result = parse_employee_count(raw)
    assert result == EmployeeRange(minimum, maximum)


@pytest.mark.parametrize(
    ("raw", "minimum", "approximate"),
    [
        ("10,001+", 10001, False),
        ("10001+ employees", 10001, False),
        ("10K+", 10000, True),
        ("10k +", 10000, True),
        ("200+ (as of October 2022)", 200, False),
        ("10000 or more", 10000, False),
        ("at least 500", 500, False),
        (">= 500", 500, False),
        ("≥500", 500, False),
        ("over 500", 501, False),
        ("more than 500", 501, False),
        ("> 500", 501, False),
        ("~1k+", 1000, True),
    ],
)
def test_employees_open_range(raw: str, minimum: int, approximate: bool) -> None:
    result = parse_employee_count(raw)
    assert result is not None
    assert result.minimum == minimum
    assert result.maximum is None
    assert result.approximate is approximate


@pytest.mark.parametrize(
    ("raw", "count", "approximate"),
    [
        ("240", 240, False),
        (240, 240, False),
        (240.0, 240, False),
        ("1,200", 1200, False),
        ("5k", 5000, True),
        ("5K", 5000, True),
        ("1.5k", 1500, True),
        ("2.1M", 2_100_000, True),
        ("~20", 20, True),
        ("≈20", 20, True),
        ("about 20", 20, True),
        ("approx. 20", 20, True),
        ("Approximately 20", 20, True),
        ("around 20", 20, True),
        ("circa 20", 20, True),
        ("ca. 20", 20, True),
        ("c. 10,000", 10000, True),
        ("est. 20", 20, True),
        ("240 staff", 240, False),
        ("240 people", 240, False),
        ("2,100,000 (2023)[1]", 2_100_000, False),
        ("Decrease 164,000 (2023)", 164_000, False),
        ("Increase 8,000", 8000, False),
        ("Self-employed", 1, False),
        ("１２", 12, False),
    ],
)
def test_employees_exact_count(raw: str | int | float, count: int, approximate: bool) -> None:
    result = parse_employee_count(raw)
    assert result == EmployeeRange(count, count, approximate=approximate)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("up to 50", EmployeeRange(1, 50)),
        ("<= 50", EmployeeRange(1, 50)),
        ("under 50", EmployeeRange(1, 49)),
        ("less than 50", EmployeeRange(1, 49)),
        ("fewer than 10", EmployeeRange(1, 9)),
        ("<50", EmployeeRange(1, 49)),
        ("1K-5K", EmployeeRange(1000, 5000, approximate=True)),
        ("~51-200", EmployeeRange(51, 200, approximate=True)),
    ],
)
def test_employees_other_forms(raw: str, expected: EmployeeRange) -> None:
    assert parse_employee_count(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "-", "n/a", "N/A", "unknown", "0", 0, 0.0, "0-0", "0+"]
)
def test_employees_unknown_returns_none(raw: str | int | float | None) -> None:
    assert parse_employee_count(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "25 employees + 50 contractors",
        "small team",
        "lots",
        "200-51",
        "1.5",
        "1,5k",
        "-5",
        -5,
        240.5,
        "51-200-500",
        "twelve",
        "under 1",
        "99999999",
        "11M",
        "1" * 101,
        "12 (a) employees",
    ],
)
def test_employees_unparseable_raises(raw: str | int | float) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_employee_count(raw)
    assert caught.value.field == "employee count"
    assert caught.value.value == str(raw)


@pytest.mark.parametrize("raw", ["-5", "−5", "-1,200", "~-5k", "-5 employees", "-5-10", -5])
def test_employees_negative_hint(raw: str | int) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_employee_count(raw)
    assert caught.value.hint.startswith("the number of employees cannot be negative.")
    assert "or leave the cell empty" in caught.value.hint


@pytest.mark.parametrize(
    ("raw", "text"),
    [(True, "true"), (False, "false"), (["a", 5], '["a", 5]'), ({"n": 1}, '{"n": 1}')],
)
def test_employees_json_value_spelled_json(raw: object, text: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_employee_count(raw)  # type: ignore[arg-type]
    assert caught.value.value == text


def test_employees_reversed_range_hint() -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_employee_count("200-51")
    assert "reversed" in caught.value.hint
    assert "51-200" in caught.value.hint


def test_employees_decimal_comma_suffix() -> None:
    expected = EmployeeRange(1500, 1500, approximate=True)
    assert parse_employee_count("1,5k", decimal_comma=True) == expected


def test_employees_decimal_comma_reads_thousands() -> None:
    assert parse_employee_count("1.001-5.000", decimal_comma=True) == EmployeeRange(1001, 5000)


@pytest.mark.parametrize(
    ("raw", "thousands", "decimals"),
    [
        ("2.000", "2000", "2"),
        ("10.000", "10000", "10"),
        ("1.500", "1500", "1.5"),
        ("10.000+", "10000", "10"),
        ("1.000-5.000", "1000", "1"),
        ("ca. 2.000 employees", "2000", "2"),
    ],
)
def test_employees_dot_thousands_ambiguous(raw: str, thousands: str, decimals: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_employee_count(raw)
    assert caught.value.field == "employee count"
    assert caught.value.value == raw
    assert f"may be {thousands}, written with a period as thousands separator" in str(caught.value)
    assert f"or {decimals}, because the file writes decimals with a point" in str(caught.value)
    assert f"Write {thousands} if it is {thousands}" in caught.value.hint
    assert '"decimal_comma": true' in caught.value.hint


def test_employees_many_dot_groups_hint() -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_employee_count("1.250.000")
    assert "periods separate groups of three digits" in caught.value.hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2.000", EmployeeRange(2000, 2000)),
        ("10.000", EmployeeRange(10000, 10000)),
        ("1.250.000", EmployeeRange(1250000, 1250000)),
    ],
)
def test_employees_dot_thousands_comma_mode(raw: str, expected: EmployeeRange) -> None:
    assert parse_employee_count(raw, decimal_comma=True) == expected


def test_employees_suffix_keeps_decimal_point() -> None:
    assert parse_employee_count("1.500k") == EmployeeRange(1500, 1500, approximate=True)


def test_employees_maximum_allowed() -> None:
    assert parse_employee_count(str(MAX_EMPLOYEES)) == EmployeeRange(MAX_EMPLOYEES, MAX_EMPLOYEES)


@pytest.mark.parametrize(
    ("value", "estimate", "label"),
    [
        (EmployeeRange(51, 200), 125, "51-200"),
        (EmployeeRange(1, 10), 5, "1-10"),
        (EmployeeRange(0, 1), 0, "0-1"),
        (EmployeeRange(10001, None), 10001, "10001+"),
        (EmployeeRange(240, 240), 240, "240"),
        (EmployeeRange(20, 20, approximate=True), 20, "20"),
    ],
)
def test_employee_range_estimate_and_label(value: EmployeeRange, estimate: int, label: str) -> None:
    assert value.estimate == estimate
    assert value.label == label


def test_employee_range_rejects_negative_minimum() -> None:
    with pytest.raises(ValueError, match="minimum"):
        EmployeeRange(-1, 5)


def test_employee_range_rejects_reversed_bounds() -> None:
    with pytest.raises(ValueError, match="below minimum"):
        EmployeeRange(200, 51)


@pytest.mark.parametrize(
    ("word", "minimum", "maximum"),
    [
        ("tiny", 1, 10),
        ("startup", 1, 10),
        ("small", 11, 50),
        ("medium", 51, 200),
        ("large", 201, 1000),
        ("enterprise", 1001, None),
        ("  Enterprise ", 1001, None),
        ("SMALL", 11, 50),
    ],
)
def test_size_bucket_maps_words(word: str, minimum: int, maximum: int | None) -> None:
    result = from_size_bucket(word)
    assert result is not None
    assert result.minimum == minimum
    assert result.maximum == maximum
    assert result.approximate is True


@pytest.mark.parametrize("word", [None, "", "n/a"])
def test_size_bucket_empty_returns_none(word: str | None) -> None:
    assert from_size_bucket(word) is None


@pytest.mark.parametrize("word", ["huge", "mid-size", "51-200"])
def test_size_bucket_unknown_word_raises(word: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        from_size_bucket(word)
    assert caught.value.field == "company size"
    assert "enterprise" in caught.value.hint


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[~≈]?\d{1,7}([.,]\d{1,3})?[kKmM]?\s*(-|–|to|\+)?\s*\d{0,7}[kK]?"),
        st.integers(),
        st.floats(),
    ),
    st.booleans(),
)
def test_parse_employee_count_never_crashes(raw: str | int | float, decimal_comma: bool) -> None:
    try:
        result = parse_employee_count(raw, decimal_comma=decimal_comma)
    except UnparsedValue:
        return
    if result is not None:
        assert 0 <= result.minimum <= MAX_EMPLOYEES
        assert result.maximum is None or result.minimum <= result.maximum <= MAX_EMPLOYEES
        assert result.estimate >= result.minimum


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_from_size_bucket_never_crashes(word: str) -> None:
    try:
        from_size_bucket(word)
    except UnparsedValue:
        return


@pytest.mark.parametrize(
    ("minimum", "maximum", "text"),
    [
        (51, 200, "51-200"),
        ("1,001", "5,000", "1,001-5,000"),
        (0, 1, "0-1"),
        ("0", "10", "0-10"),
        (240, 240, "240-240"),
        (51.0, 200.0, "51-200"),
        ("5k", "10k", "5k-10k"),
        (10001, None, "10,001+"),
        (None, 50, "up to 50"),
        (0, 0, "0-0"),
        (None, None, ""),
        ("", "n/a", ""),
    ],
)
def test_bounds_follow_text_range_rules(minimum, maximum, text: str) -> None:
    assert employee_range_from_bounds(minimum, maximum) == parse_employee_count(text)


@pytest.mark.parametrize(
    ("minimum", "maximum", "hint"),
    [
        (300, 200, "the minimum 300 is above the maximum 200"),
        ("lots", 200, 'the bound "lots" is invalid'),
        (True, 200, "the bound true is invalid"),
        ("51-200", 500, 'the bound "51-200" is a range'),
        (51.5, 200, "the bound 51.5 is invalid"),
        (1, MAX_EMPLOYEES + 1, f"is more than {MAX_EMPLOYEES:,} employees"),
        (None, 0, "the upper bound leaves no possible headcount"),
    ],
)
def test_bounds_invalid_raise(minimum, maximum, hint: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        employee_range_from_bounds(minimum, maximum)
    assert caught.value.field == "employee count"
    assert hint in caught.value.hint
