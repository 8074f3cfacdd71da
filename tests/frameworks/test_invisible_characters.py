"""Names with invisible characters or spaces other than U+0020, which look like other names."""

import pytest
import regex
from django.core.exceptions import ValidationError
from django.urls import reverse

from segmentation.forms import parse_geography
from segmentation.lifecycle import FrameworkLifecycleError, framework_check, framework_submit
from segmentation.models import Framework, GeographyMapping, Industry, IndustrySynonym, SizeBand
from segmentation.validation import (
    DEFAULT_IGNORABLE_RANGES,
    hidden_character_error,
    invisible_character_error,
    invisible_characters,
    is_other_space,
    name_key,
    other_space_error,
    repeated_space_error,
    size_band_name_errors,
    tag_template_errors,
)

from .admin_posts import framework_post

# Unicode category Cf characters that print as nothing.
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202a", "\u202e", "\u2066"]
# Default-ignorable or blank characters of other categories, with their Unicode names.
BLANK_NOT_FORMAT = {
    "\u3164": "HANGUL FILLER",
    "\u034f": "COMBINING GRAPHEME JOINER",
    "\u115f": "HANGUL CHOSEONG FILLER",
    "\u1160": "HANGUL JUNGSEONG FILLER",
    "\uffa0": "HALFWIDTH HANGUL FILLER",
    "\u180b": "MONGOLIAN FREE VARIATION SELECTOR ONE",
    "\ufe0f": "VARIATION SELECTOR-16",
    "\U000e0100": "VARIATION SELECTOR-17",
    "\u2800": "BRAILLE PATTERN BLANK",
}
# Whitespace other than U+0020, with the name each error gives it.
OTHER_SPACES = {
    "\u00a0": "U+00A0 NO-BREAK SPACE",
    "\u202f": "U+202F NARROW NO-BREAK SPACE",
    "\u2009": "U+2009 THIN SPACE",
    "\u3000": "U+3000 IDEOGRAPHIC SPACE",
    "\u1680": "U+1680 OGHAM SPACE MARK",
    "\u2028": "U+2028 LINE SEPARATOR",
    "\t": "a tab character (U+0009)",
    "\n": "a line break (U+000A)",
    "\v": "a vertical tab (U+000B)",
    "\f": "a form feed (U+000C)",
    "\r": "a carriage return (U+000D)",
    "\x1c": "a control character (U+001C)",
    "\x85": "a next line character (U+0085)",
}


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


def change_url(framework: Framework) -> str:
    return reverse("admin:segmentation_framework_change", args=[framework.pk])


def band_index(draft: Framework, name: str) -> int:
    names = list(draft.size_bands.order_by("position", "id").values_list("name", flat=True))
    return names.index(name)


@pytest.mark.parametrize("character", INVISIBLE)
def test_error_names_each_invisible_character(character):
    message = invisible_character_error(f"SMB{character}", "The size band name")
    assert f"U+{ord(character):04X}" in message
    assert "The size band name 'SMB" in message


def test_visible_text_has_no_error():
    assert invisible_character_error("Mid-Market", "The size band name") == ""
    assert invisible_character_error("", "The size band name") == ""


def test_name_key_reads_no_break_space():
    assert name_key("Target\u00a0industry") == name_key("target industry")
    assert name_key("SMB\u200b") == name_key("SMB")


def test_band_names_with_no_break_space_repeat():
    bands = [SizeBand(name="Mid Market"), SizeBand(name="Mid\u00a0Market")]
    errors = size_band_name_errors(bands)
    assert len(errors) == 1
    assert "have the same name" in errors[0]


def test_band_name_with_zero_width_space_rejected(ops_client, draft):
    index = band_index(draft, "Mid-Market")
    data = framework_post(draft, **{f"size_bands-{index}-name": "SMB\u200b"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "U+200B ZERO WIDTH SPACE" in page
    assert draft.size_bands.filter(name="Mid-Market").exists()


def test_tag_template_invisible_part_rejected(ops_client, draft):
    template = "{industry} – \u200b – {geography}"
    data = framework_post(draft, tag_template=template)

    response = ops_client.post(change_url(draft), data)

    draft.refresh_from_db()
    assert response.status_code == 200
    assert "U+200B ZERO WIDTH SPACE" in response.content.decode()
    assert draft.tag_template != template


def test_tag_template_check_names_character():
    errors = tag_template_errors("{industry} – \u2060 – {geography}")
    assert len(errors) == 1
    assert "U+2060 WORD JOINER" in errors[0]


def test_route_with_zero_width_space_rejected(ops_client, draft):
    data = framework_post(draft, high_tier_route="Out\u200bbound")

    response = ops_client.post(change_url(draft), data)

    draft.refresh_from_db()
    assert response.status_code == 200
    assert "The route &#x27;Out\\u200bbound&#x27; contains invisible characters" in (
        response.content.decode()
    )
    assert draft.high_tier_route == "Outbound"


def test_framework_check_rejects_invisible_route(draft):
    Framework.objects.filter(pk=draft.pk).update(low_tier_route="Nur\u202eture")
    draft.refresh_from_db()
    problems = " ".join(framework_check(draft))
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in problems


def test_criterion_label_with_no_break_space_rejected(ops_client, draft):
    criteria = list(draft.criteria.order_by("position", "id"))
    index = next(i for i, item in enumerate(criteria) if item.dimension == "geography")
    data = framework_post(draft, **{f"criteria-{index}-label": "Target\u00a0industry"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "U+00A0 NO-BREAK SPACE at character 7" in page
    assert draft.criteria.get(dimension="geography").label == "Target geography"


def test_criterion_label_with_joiner_rejected(ops_client, draft):
    criteria = list(draft.criteria.order_by("position", "id"))
    index = next(i for i, item in enumerate(criteria) if item.dimension == "geography")
    data = framework_post(draft, **{f"criteria-{index}-label": "Target\u200dregion"})

    response = ops_client.post(change_url(draft), data)

    assert response.status_code == 200
    assert "U+200D ZERO WIDTH JOINER" in response.content.decode()
    assert draft.criteria.get(dimension="geography").label == "Target geography"


def test_synonym_with_zero_width_space_rejected(ops_client, active_framework):
    industry = Industry.objects.get(name="SaaS")
    data = {
        "name": industry.name,
        "slug": industry.slug,
        "description": industry.description,
        "synonyms-TOTAL_FORMS": "1",
        "synonyms-INITIAL_FORMS": "0",
        "synonyms-MIN_NUM_FORMS": "0",
        "synonyms-MAX_NUM_FORMS": "1000",
        "synonyms-0-value": "Soft\u200bware",
        "synonyms-0-vocabulary": "",
        "synonyms-0-industry": str(industry.pk),
    }
    url = reverse("admin:segmentation_industry_change", args=[industry.pk])

    response = ops_client.post(url, data)

    assert response.status_code == 200
    assert "U+200B ZERO WIDTH SPACE" in response.content.decode()
    assert not IndustrySynonym.objects.filter(value="Soft\u200bware").exists()


def test_synonym_save_rejects_invisible_value(active_framework):
    industry = Industry.objects.get(name="SaaS")
    with pytest.raises(ValidationError, match="U\\+FEFF"):
        IndustrySynonym(industry=industry, value="\ufeffSoftware").save()


def test_industry_name_with_invisible_character_rejected(active_framework):
    with pytest.raises(ValidationError, match="U\\+2066"):
        Industry(name="Agri\u2066Tech", slug="agritech-x").save()


@pytest.mark.parametrize(("character", "name"), sorted(BLANK_NOT_FORMAT.items()))
def test_error_names_blank_character(character, name):
    message = invisible_character_error(f"Rest of{character}World", "The label")
    assert f"U+{ord(character):04X} {name}" in message
    # The value is shown with the character escaped, since printed it shows nothing.
    assert f"'Rest of\\{'U' if ord(character) > 0xFFFF else 'u'}" in message


def test_unassigned_ignorable_named():
    message = invisible_character_error("US\u2065", "The label")
    assert "U+2065 <unassigned>" in message


def test_ranges_match_unicode_property():
    """The hard-coded ranges equal the regex module's Default_Ignorable_Code_Point."""
    pattern = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    expected = {code for code in range(0x110000) if pattern.match(chr(code))}
    listed = {code for low, high in DEFAULT_IGNORABLE_RANGES for code in range(low, high + 1)}
    assert listed == expected


@pytest.mark.parametrize("text", ["Rest of World", "Ünïcödé", "北美", "한국", "नमस्ते", "SaaS – SMB"])
def test_visible_text_not_invisible(text):
    assert invisible_characters(text) == []


def test_parse_geography_rejects_invisible_label():
    rows, errors = parse_geography("US, North America, U\u200bS\nSG, APAC, APAC")
    assert rows == [("SG", "APAC", "APAC")]
    assert len(errors) == 1
    assert errors[0].startswith("Line 1: the tag label 'U\\u200bS' contains invisible")
    assert "U+200B ZERO WIDTH SPACE" in errors[0]


def test_parse_geography_rejects_invisible_region():
    _rows, errors = parse_geography("SG, AP\u3164AC, APAC")
    assert len(errors) == 1
    assert "Line 1: the region 'AP\\u3164AC'" in errors[0]
    assert "U+3164 HANGUL FILLER" in errors[0]


def test_geography_map_with_zero_width_space_rejected(ops_client, draft):
    before = list(draft.geography_mappings.values_list("country", "region", "label"))
    text = framework_post(draft)["geography_text"] + "\nUS, North America, U\u200bS"
    data = framework_post(draft, geography_text=text)

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    after = list(draft.geography_mappings.values_list("country", "region", "label"))
    assert response.status_code == 200
    assert "U+200B ZERO WIDTH SPACE" in page
    assert after == before


def test_unmapped_label_with_zero_width_space_rejected(ops_client, draft):
    data = framework_post(draft, unmapped_geography_label="Rest of\u200b World")

    response = ops_client.post(change_url(draft), data)

    draft.refresh_from_db()
    page = response.content.decode()
    assert response.status_code == 200
    assert "The unmapped geography label" in page
    assert "U+200B ZERO WIDTH SPACE" in page
    assert draft.unmapped_geography_label == "Rest of World"


def test_unmapped_label_with_hangul_filler_rejected(ops_client, draft):
    data = framework_post(draft, unmapped_geography_label="Rest of\u3164World")

    response = ops_client.post(change_url(draft), data)

    draft.refresh_from_db()
    assert response.status_code == 200
    assert "U+3164 HANGUL FILLER" in response.content.decode()
    assert draft.unmapped_geography_label == "Rest of World"


def test_criterion_value_with_invisible_character_rejected(ops_client, draft):
    criteria = list(draft.criteria.order_by("position", "id"))
    index = next(i for i, item in enumerate(criteria) if item.dimension == "industry")
    before = criteria[index].values
    data = framework_post(draft, **{f"criteria-{index}-values_text": "SaaS\u034f\nFinTech"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The value &#x27;SaaS\\u034f&#x27; contains invisible characters" in page
    assert "U+034F COMBINING GRAPHEME JOINER" in page
    assert draft.criteria.get(pk=criteria[index].pk).values == before


def test_technology_value_with_joiner_rejected(draft):
    criterion = draft.criteria.create(
        dimension="technology", operator="any_of", label="Stack", values=["Sales\u200dforce"]
    )
    with pytest.raises(ValidationError, match="U\\+200D ZERO WIDTH JOINER"):
        criterion.full_clean()


def test_submit_rejects_saved_invisible_geography(draft, ops_user):
    GeographyMapping.objects.filter(framework=draft, country="US").delete()
    GeographyMapping.objects.create(
        framework=draft, country="US", region="North America", label="U\u200bS"
    )

    with pytest.raises(FrameworkLifecycleError, match="geography map's tag label for US"):
        framework_submit(framework=draft, user=ops_user, summary="US label")


def test_check_reports_saved_unmapped_label(draft):
    Framework.objects.filter(pk=draft.pk).update(unmapped_geography_label="Rest of\ufe0f World")
    draft.refresh_from_db()
    problems = " ".join(framework_check(draft))
    assert "The unmapped geography label" in problems
    assert "U+FE0F VARIATION SELECTOR-16" in problems


def test_check_reports_saved_technology_value(draft):
    draft.criteria.create(
        dimension="technology", operator="any_of", label="Stack", values=["Hub\u2060Spot"], weight=5
    )
    problems = " ".join(framework_check(draft))
    assert "Criterion 'Stack': The value 'Hub\\u2060Spot'" in problems
    assert "U+2060 WORD JOINER" in problems


@pytest.mark.parametrize(("character", "name"), sorted(OTHER_SPACES.items()))
def test_other_space_error_names_character(character, name):
    message = other_space_error(f"North{character}America", "The tag label")
    assert message.startswith("The tag label 'North\\")
    assert f"{name} at character 6" in message
    assert message.endswith("type a plain space instead.")


def test_other_space_error_lists_each_position():
    message = other_space_error("Rest\u00a0of\u00a0World", "The label")
    assert "U+00A0 NO-BREAK SPACE at character 5" in message
    assert "U+00A0 NO-BREAK SPACE at character 8" in message


def test_every_zs_space_but_u0020_rejected():
    separators = [chr(code) for code in range(0x110000) if regex.match(r"\p{Zs}", chr(code))]
    assert " " in separators
    rejected = [char for char in separators if is_other_space(char)]
    assert rejected == [char for char in separators if char != " "]


@pytest.mark.parametrize("text", ["North America", "Rest of World", "北美", "", "SaaS – SMB"])
def test_plain_spaces_accepted(text):
    assert other_space_error(text, "The label") == ""
    assert hidden_character_error(text, "The label") == ""


def test_hidden_error_reports_both_kinds():
    message = hidden_character_error("North\u00a0Am\u200berica", "The label")
    assert "U+200B ZERO WIDTH SPACE" in message
    assert "U+00A0 NO-BREAK SPACE at character 6" in message


def test_parse_geography_rejects_no_break_space():
    rows, errors = parse_geography("CA, North America, North\u00a0America\nSG, APAC, APAC")
    assert rows == [("SG", "APAC", "APAC")]
    assert len(errors) == 1
    assert errors[0].startswith("Line 1: the tag label 'North\\xa0America' contains")
    assert "U+00A0 NO-BREAK SPACE at character 6" in errors[0]
    assert "type a plain space" in errors[0]


def test_parse_geography_strips_end_spaces():
    rows, errors = parse_geography("SG,\u00a0APAC\u3000,\tAPAC")
    assert errors == []
    assert rows == [("SG", "APAC", "APAC")]


def test_geography_map_with_no_break_space_rejected(ops_client, draft):
    before = list(draft.geography_mappings.values_list("country", "region", "label"))
    text = framework_post(draft)["geography_text"] + "\nCA, North America, North\u00a0America"
    data = framework_post(draft, geography_text=text)

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    after = list(draft.geography_mappings.values_list("country", "region", "label"))
    assert response.status_code == 200
    assert "U+00A0 NO-BREAK SPACE at character 6" in page
    assert "type a plain space" in page
    assert after == before


def test_band_name_with_thin_space_rejected(ops_client, draft):
    index = band_index(draft, "Mid-Market")
    data = framework_post(draft, **{f"size_bands-{index}-name": "Mid\u2009Market"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The size band name" in page
    assert "U+2009 THIN SPACE at character 4" in page
    assert draft.size_bands.filter(name="Mid-Market").exists()


def test_unmapped_label_with_no_break_space_rejected(ops_client, draft):
    data = framework_post(draft, unmapped_geography_label="Rest of\u00a0World")

    response = ops_client.post(change_url(draft), data)

    draft.refresh_from_db()
    assert response.status_code == 200
    assert "U+00A0 NO-BREAK SPACE at character 8" in response.content.decode()
    assert draft.unmapped_geography_label == "Rest of World"


def test_criterion_value_with_no_break_space_rejected(ops_client, draft):
    criteria = list(draft.criteria.order_by("position", "id"))
    index = next(i for i, item in enumerate(criteria) if item.dimension == "geography")
    before = criteria[index].values
    data = framework_post(draft, **{f"criteria-{index}-values_text": "North\u00a0America"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The value &#x27;North\\xa0America&#x27; contains U+00A0 NO-BREAK SPACE" in page
    assert draft.criteria.get(pk=criteria[index].pk).values == before


def test_route_with_tab_fails_model_clean(draft):
    draft.medium_tier_route = "Inside\tsales"
    with pytest.raises(ValidationError, match=r"a tab character \(U\+0009\) at character 7"):
        draft.full_clean()


def test_criterion_label_with_narrow_space_fails_clean(draft):
    criterion = draft.criteria.create(
        dimension="technology", operator="any_of", label="Tech\u202fstack", values=["HubSpot"]
    )
    with pytest.raises(ValidationError, match="U\\+202F NARROW NO-BREAK SPACE"):
        criterion.full_clean()


def test_synonym_save_rejects_no_break_space(active_framework):
    industry = Industry.objects.get(name="SaaS")
    with pytest.raises(ValidationError, match="U\\+00A0 NO-BREAK SPACE at character 5"):
        IndustrySynonym(industry=industry, value="Soft\u00a0ware").save()


def test_industry_name_with_ideographic_space_rejected(active_framework):
    with pytest.raises(ValidationError, match="U\\+3000 IDEOGRAPHIC SPACE"):
        Industry(name="Agri\u3000Tech", slug="agritech-y").save()


def test_submit_rejects_saved_no_break_space_label(draft, ops_user):
    GeographyMapping.objects.filter(framework=draft, country="US").delete()
    GeographyMapping.objects.create(
        framework=draft, country="US", region="North America", label="North\u00a0America"
    )

    with pytest.raises(FrameworkLifecycleError, match="U\\+00A0 NO-BREAK SPACE at character 6"):
        framework_submit(framework=draft, user=ops_user, summary="US label")


def test_check_reports_saved_tag_template_space(draft):
    template = "{industry}\u00a0– {geography}"
    Framework.objects.filter(pk=draft.pk).update(tag_template=template)
    draft.refresh_from_db()
    problems = " ".join(framework_check(draft))
    assert "The tag template" in problems
    assert "U+00A0 NO-BREAK SPACE at character 11" in problems


def test_repeated_space_error_names_positions():
    message = repeated_space_error("{industry}  –   {size_band}", "The tag template")

    assert message.startswith("The tag template '{industry}  –   {size_band}'")
    assert "at characters 11, 14," in message
    assert message.endswith("type one space.")


def test_single_spaces_pass():
    assert repeated_space_error("{industry} – {size_band}", "The tag template") == ""


def test_tag_template_with_double_space_rejected(ops_client, draft):
    template = draft.tag_template
    data = framework_post(draft, tag_template="{industry}  –  {size_band} – {geography}")

    response = ops_client.post(change_url(draft), data)

    draft.refresh_from_db()
    assert response.status_code == 200
    assert "two or more spaces in a row at characters 11, 14" in response.content.decode()
    assert draft.tag_template == template


def test_band_name_with_double_space_rejected(ops_client, draft):
    data = framework_post(draft, **{"size_bands-1-name": "Mid  Market"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert "&#x27;Mid  Market&#x27; contains two or more spaces in a row" in page
    assert not draft.size_bands.filter(name="Mid  Market").exists()
