import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import (
    US_STATES,
    WELL_KNOWN_CITIES,
    Location,
    UnparsedValue,
    normalize_country,
    parse_location_text,
    region_code,
    resolve_location,
    us_state_code,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("USA", "US"),
        ("U.S.", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("the United States", "US"),
        ("US", "US"),
        ("us", "US"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("United Kingdom", "GB"),
        ("GB", "GB"),
        ("GBR", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
        ("Northern Ireland", "GB"),
        ("Russia", "RU"),
        ("Russian Federation", "RU"),
        ("South Korea", "KR"),
        ("Korea", "KR"),
        ("Republic of Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("North Korea", "KP"),
        ("Czech Republic", "CZ"),
        ("Czechia", "CZ"),
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("Netherlands", "NL"),
        ("UAE", "AE"),
        ("United Arab Emirates", "AE"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Türkiye", "TR"),
        ("Turkiye", "TR"),
        ("Turkey", "TR"),
        ("Taiwan", "TW"),
        ("Hong Kong", "HK"),
        ("Ivory Coast", "CI"),
        ("Côte d'Ivoire", "CI"),
        ("Côte d’Ivoire", "CI"),
        ("DEU", "DE"),
        ("deu", "DE"),
        ("USA[1]", "US"),
        ("Germany", "DE"),
        ("germany", "DE"),
        ("  France  ", "FR"),
        ("India", "IN"),
        ("IN", "IN"),
        ("Bermuda", "BM"),
        ("Georgia", "GE"),
        ("Iran", "IR"),
        ("Bolivia", "BO"),
        ("DR Congo", "CD"),
        ("Republic of the Congo", "CG"),
        ("Guinea", "GN"),
        ("Palestine", "PS"),
        ("Macau", "MO"),
        ("Åland Islands", "AX"),
        ("Curaçao", "CW"),
        ("Brasil", "BR"),
        ("Deutschland", "DE"),
        ("España", "ES"),
        ("Österreich", "AT"),
        ("Mexico", "MX"),
        ("México", "MX"),
    ],
)
def test_country_maps_names_and_codes(raw: str, expected: str) -> None:
    assert normalize_country(raw) == expected


@pytest.mark.parametrize("raw", ["UK", "U.K.", "United Kingdom", "England", "Great Britain"])
def test_country_uk_is_never_ukraine_or_uganda(raw: str) -> None:
    assert normalize_country(raw) not in {"UA", "UG"}


@pytest.mark.parametrize(
    "raw", [None, "", "  ", "-", "n/a", "None", "Remote", "Worldwide", "Global"]
)
def test_country_empty_returns_none(raw: str | None) -> None:
    assert normalize_country(raw) is None


@pytest.mark.parametrize(
    "raw",
    ["Atlantis", "Europe", "EU", "America", "!!!", "Untied States", "Germny", "XX", "California"],
)
def test_country_unknown_raises(raw: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        normalize_country(raw)
    assert caught.value.field == "country"
    assert caught.value.value == raw


def test_country_na_is_ambiguous() -> None:
    with pytest.raises(UnparsedValue) as caught:
        normalize_country("NA")
    assert "Namibia" in caught.value.hint


def test_country_namibia_by_name() -> None:
    assert normalize_country("Namibia") == "NA"
    assert normalize_country("NAM") == "NA"


def test_country_ambiguous_congo_raises() -> None:
    with pytest.raises(UnparsedValue) as caught:
        normalize_country("Congo")
    assert "CG" in caught.value.hint
    assert "CD" in caught.value.hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("California", "CA"),
        ("CA", "CA"),
        ("ca", "CA"),
        ("Calif.", "CA"),
        ("Ark.", "AR"),
        ("N.Y.", "NY"),
        ("N. Y.", "NY"),
        ("New York", "NY"),
        ("Mass.", "MA"),
        ("Texas", "TX"),
        ("Tex.", "TX"),
        ("D.C.", "DC"),
        ("DC", "DC"),
        ("District of Columbia", "DC"),
        ("Wash.", "WA"),
        ("Washington", "WA"),
        ("Minn.", "MN"),
        ("Ill.", "IL"),
        ("Pa.", "PA"),
        ("Penn.", "PA"),
        ("Fla.", "FL"),
        ("Ga.", "GA"),
        ("Georgia", "GA"),
        ("Mich.", "MI"),
        ("Va.", "VA"),
        ("W.Va.", "WV"),
        ("W. Va.", "WV"),
        ("N.J.", "NJ"),
        ("N.C.", "NC"),
        ("Conn.", "CT"),
        ("Colo.", "CO"),
        ("Tenn.", "TN"),
        ("Ohio", "OH"),
        ("Wis.", "WI"),
        ("Wisc.", "WI"),
        ("Mo.", "MO"),
        ("Md.", "MD"),
        ("Ind.", "IN"),
        ("Ky.", "KY"),
        ("La.", "LA"),
        ("Okla.", "OK"),
        ("Ore.", "OR"),
        ("Ariz.", "AZ"),
        ("Nev.", "NV"),
        ("Neb.", "NE"),
        ("Del.", "DE"),
        ("R.I.", "RI"),
        ("Iowa", "IA"),
        ("Utah", "UT"),
        ("Idaho", "ID"),
        ("Alaska", "AK"),
        ("Hawaii", "HI"),
        ("Hawaiʻi", "HI"),
        ("Maine", "ME"),
        ("Puerto Rico", "PR"),
        ("P.R.", "PR"),
        ("Virginia[2]", "VA"),
    ],
)
def test_us_state_code_maps_forms(raw: str, expected: str) -> None:
    assert us_state_code(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "Ontario", "Bavaria", "XX", "Calif-ornia"])
def test_us_state_code_unknown_returns_none(raw: str | None) -> None:
    assert us_state_code(raw) is None


def test_us_states_cover_all_codes() -> None:
    codes = set(US_STATES.values())
    assert len(codes) == 52
    assert {"DC", "PR"} <= codes


def test_us_states_every_code_maps_to_itself() -> None:
    for code in set(US_STATES.values()):
        assert us_state_code(code) == code


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("KA", "IN", "KA"),
        ("Karnataka", "IN", "KA"),
        ("MH", "IN", "MH"),
        ("Maharashtra", "IN", "MH"),
        ("DL", "IN", "DL"),
        ("Delhi", "IN", "DL"),
        ("TN", "IN", "TN"),
        ("Tamil Nadu", "IN", "TN"),
        ("Telangana", "IN", "TS"),
        ("TG", "IN", "TS"),
        ("Orissa", "IN", "OD"),
        ("ON", "CA", "ON"),
        ("Ontario", "CA", "ON"),
        ("Québec", "CA", "QC"),
        ("Quebec", "CA", "QC"),
        ("B.C.", "CA", "BC"),
        ("British Columbia", "CA", "BC"),
        ("NSW", "AU", "NSW"),
        ("New South Wales", "AU", "NSW"),
        ("Vic.", "AU", "VIC"),
        ("WA", "AU", "WA"),
        ("Western Australia", "AU", "WA"),
        ("TN", "US", "TN"),
        ("Tennessee", "US", "TN"),
        ("WA", "US", "WA"),
    ],
)
def test_region_code_uses_country(raw: str, country: str, expected: str) -> None:
    assert region_code(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("KA", "US"),
        ("MH", None),
        ("Bavaria", "DE"),
        ("Ontario", "US"),
        ("California", "CA"),
        ("", "US"),
        (None, "US"),
    ],
)
def test_region_code_unknown_returns_none(raw: str | None, country: str | None) -> None:
    assert region_code(raw, country) is None


def test_resolve_location_infers_us_from_state() -> None:
    location = resolve_location(city="Sacramento", region="CA", country="")
    assert location == Location("Sacramento", "CA", "US", ())


def test_resolve_location_normalizes_all_parts() -> None:
    location = resolve_location(city=" Saint Paul ", region="Minnesota", country="USA")
    assert location.city == "Saint Paul"
    assert location.region == "MN"
    assert location.country == "US"
    assert location.flags == ()


def test_resolve_location_state_with_other_country_flags() -> None:
    location = resolve_location(city="Munich", region="CA", country="DE")
    assert location.country == "DE"
    assert location.region == "CA"
    assert len(location.flags) == 1
    assert '"CA"' in location.flags[0]
    assert "DE" in location.flags[0]
    assert "review" in location.flags[0]


def test_resolve_location_city_conflict_flags() -> None:
    location = resolve_location(city="Indianapolis", region="", country="IN")
    assert location.country == "IN"
    assert len(location.flags) == 1
    assert "Indianapolis" in location.flags[0]
    assert "US" in location.flags[0]
    assert "IN" in location.flags[0]
    assert "review" in location.flags[0]


@pytest.mark.parametrize(
    ("city", "region", "expected_region"),
    [
        ("Dublin", "Ohio", "OH"),
        ("Dublin", "Calif.", "CA"),
        ("Melbourne", "Fla.", "FL"),
        ("Warsaw", "Ind.", "IN"),
        ("Paris", "TX", "TX"),
    ],
)
def test_resolve_location_city_with_valid_region_no_flag(
    city: str, region: str, expected_region: str
) -> None:
    location = resolve_location(city=city, region=region, country="US")
    assert location == Location(city, expected_region, "US", ())


@pytest.mark.parametrize("region", ["", "Leinster", "County Dublin"])
def test_resolve_location_city_without_valid_region_flags(region: str) -> None:
    location = resolve_location(city="Dublin", region=region, country="US")
    assert location.country == "US"
    assert location.region == region
    assert any('city "Dublin" is usually in IE' in flag for flag in location.flags)


def test_resolve_location_valid_region_of_other_country_flags() -> None:
    location = resolve_location(city="Melbourne", region="VIC", country="US")
    assert location.country == "US"
    assert any('city "Melbourne" is usually in AU' in flag for flag in location.flags)


def test_resolve_location_dublin_ireland_no_flag() -> None:
    location = resolve_location(city="Dublin", region="", country="Ireland")
    assert location == Location("Dublin", "", "IE", ())


def test_resolve_location_indian_state_code_with_india() -> None:
    location = resolve_location(city="Chennai", region="TN", country="India")
    assert location == Location("Chennai", "TN", "IN", ())


def test_resolve_location_tn_without_country_is_tennessee() -> None:
    location = resolve_location(city="Nashville", region="TN")
    assert location == Location("Nashville", "TN", "US", ())


def test_resolve_location_keeps_foreign_region() -> None:
    location = resolve_location(city="Málaga", region="MA", country="ES")
    assert location == Location("Málaga", "MA", "ES", ())


def test_resolve_location_keeps_non_code_region_text() -> None:
    location = resolve_location(city="Munich", region="Bavaria", country="Germany")
    assert location == Location("Munich", "Bavaria", "DE", ())


def test_resolve_location_unknown_us_region_flags() -> None:
    location = resolve_location(city="Oakland", region="Bay Area", country="US")
    assert location.region == "Bay Area"
    assert len(location.flags) == 1
    assert "Bay Area" in location.flags[0]


def test_resolve_location_unknown_country_flags() -> None:
    location = resolve_location(city="Springfield", region="IL", country="Atlantis")
    assert location.country is None
    assert location.region == "IL"
    assert len(location.flags) == 1
    assert "Atlantis" in location.flags[0]


def test_resolve_location_puerto_rico_country_and_state() -> None:
    location = resolve_location(city="San Juan", region="PR", country="Puerto Rico")
    assert location == Location("San Juan", "PR", "PR", ())


def test_resolve_location_empty_parts() -> None:
    assert resolve_location() == Location("", "", None, ())
    assert resolve_location(city=None, region=None, country=None) == Location("", "", None, ())
    assert resolve_location(city="n/a", region="-", country="Remote") == Location("", "", None, ())


def test_resolve_location_unknown_region_without_country() -> None:
    location = resolve_location(city="Toronto", region="Ontario")
    assert location == Location("Toronto", "Ontario", None, ())


@pytest.mark.parametrize(
    ("text", "city", "region", "country"),
    [
        ("Saint Paul, Minnesota", "Saint Paul", "MN", "US"),
        ("Dublin, Ireland", "Dublin", "", "IE"),
        ("San Francisco, CA, USA", "San Francisco", "CA", "US"),
        ("Sacramento, CA", "Sacramento", "CA", "US"),
        ("Bentonville, Ark.", "Bentonville", "AR", "US"),
        ("Washington, D.C.", "Washington", "DC", "US"),
        ("Washington, D.C., USA", "Washington", "DC", "US"),
        ("West Falls Church, Virginia[2]", "West Falls Church", "VA", "US"),
        ("Miami-Dade County, Florida[3]", "Miami-Dade County", "FL", "US"),
        ("London, United Kingdom", "London", "", "GB"),
        ("London, UK", "London", "", "GB"),
        ("MH, India", "", "MH", "IN"),
        ("Bengaluru, KA, India", "Bengaluru", "KA", "IN"),
        ("Chennai, Tamil Nadu, India", "Chennai", "TN", "IN"),
        ("Austria; Remote", "", "", "AT"),
        ("Remote; Berlin, Germany", "Berlin", "", "DE"),
        ("Berlin, Germany; London, UK", "Berlin", "", "DE"),
        ("Remote - US", "", "", "US"),
        ("Hamilton, Bermuda", "Hamilton", "", "BM"),
        ("Toronto, ON, Canada", "Toronto", "ON", "CA"),
        ("Sydney, NSW, Australia", "Sydney", "NSW", "AU"),
        ("Perth, WA, Australia", "Perth", "WA", "AU"),
        ("Seattle, WA", "Seattle", "WA", "US"),
        ("Atlanta, Georgia", "Atlanta", "GA", "US"),
        ("Tbilisi, Georgia", "Tbilisi", "", "GE"),
        ("Berlin, DE", "Berlin", "", "DE"),
        ("Mitte, Berlin, DE", "Mitte", "Berlin", "DE"),
        ("Mumbai, IN", "Mumbai", "", "IN"),
        ("Indianapolis, IN", "Indianapolis", "IN", "US"),
        ("Georgia", "", "", "GE"),
        ("Washington", "", "WA", "US"),
        ("Germany", "", "", "DE"),
        ("London", "London", "", None),
        ("New York, USA", "", "NY", "US"),
        ("San Francisco, CA (HQ)", "San Francisco", "CA", "US"),
        ("  Austin ,  Texas  ", "Austin", "TX", "US"),
        ("Shoreditch, London, United Kingdom", "Shoreditch", "London", "GB"),
    ],
)
def test_location_text_reads_parts(text: str, city: str, region: str, country: str | None) -> None:
    location = parse_location_text(text)
    assert location.city == city
    assert location.region == region
    assert location.country == country


@pytest.mark.parametrize(
    "text",
    [
        "Saint Paul, Minnesota",
        "Dublin, Ireland",
        "San Francisco, CA, USA",
        "Toronto, ON, Canada",
        "Tbilisi, Georgia",
        "Berlin, DE",
        "Paris, TX",
        "Dublin, Ohio",
        "Downtown, Dublin, OH",
    ],
)
def test_location_text_consistent_has_no_flags(text: str) -> None:
    assert parse_location_text(text).flags == ()


@pytest.mark.parametrize("text", [None, "", "   ", "none", "None", "Remote", "remote", "n/a", "-"])
def test_location_text_empty_has_no_country(text: str | None) -> None:
    assert parse_location_text(text) == Location("", "", None, ())


def test_location_text_city_and_country_flags_city() -> None:
    location = parse_location_text("Paris, USA")
    assert location.city == "Paris"
    assert location.country == "US"
    assert len(location.flags) == 1
    assert "FR" in location.flags[0]


def test_location_text_flags_city_in_any_part() -> None:
    location = parse_location_text("Downtown, Dublin, Leinster, USA")
    assert location.city == "Downtown, Dublin"
    assert location.country == "US"
    assert len(location.flags) == 2
    assert any("IE" in flag for flag in location.flags)


def test_location_text_unknown_last_part_flags() -> None:
    location = parse_location_text("Toronto, ON")
    assert location.city == "Toronto"
    assert location.region == "ON"
    assert location.country is None
    assert len(location.flags) == 1
    assert '"ON"' in location.flags[0]


def test_well_known_cities_cover_examples() -> None:
    expected = {
        "Indianapolis": "US",
        "Chicago": "US",
        "London": "GB",
        "Paris": "FR",
        "Bangalore": "IN",
        "Bengaluru": "IN",
        "Mumbai": "IN",
        "Toronto": "CA",
        "Sydney": "AU",
        "Berlin": "DE",
        "Singapore": "SG",
        "Tel Aviv": "IL",
        "San Francisco": "US",
        "New York": "US",
        "Seattle": "US",
        "Austin": "US",
        "Dublin": "IE",
    }
    for city, country in expected.items():
        assert WELL_KNOWN_CITIES[city] == country
    assert len(WELL_KNOWN_CITIES) >= 200


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_normalize_country_never_crashes(raw: str) -> None:
    try:
        result = normalize_country(raw)
    except UnparsedValue:
        return
    assert result is None or (len(result) == 2 and result.isupper())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.sampled_from([None, "US", "IN", "CA", "AU", "DE"]))
def test_region_code_never_crashes(raw: str, country: str | None) -> None:
    us_state_code(raw)
    region_code(raw, country)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_resolve_location_never_crashes(city: str, region: str, country: str) -> None:
    location = resolve_location(city=city, region=region, country=country)
    assert location.country is None or len(location.country) == 2


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(["Austin", "TX", "USA", "Remote", "IN", "Georgia", ""])).map(
            ", ".join
        ),
    )
)
def test_parse_location_text_never_crashes(text: str) -> None:
    location = parse_location_text(text)
    assert location.country is None or len(location.country) == 2
