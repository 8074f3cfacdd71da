"""Names with invisible format characters, and names that differ only by a no-break space."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from segmentation.lifecycle import framework_check
from segmentation.models import Framework, Industry, IndustrySynonym, SizeBand
from segmentation.validation import (
    invisible_character_error,
    name_key,
    size_band_name_errors,
    tag_template_errors,
)

from .admin_posts import framework_post

# Unicode category Cf characters that print as nothing.
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202a", "\u202e", "\u2066"]


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


def test_criterion_label_with_no_break_space_repeats(ops_client, draft):
    criteria = list(draft.criteria.order_by("position", "id"))
    index = next(i for i, item in enumerate(criteria) if item.dimension == "geography")
    data = framework_post(draft, **{f"criteria-{index}-label": "Target\u00a0industry"})

    response = ops_client.post(change_url(draft), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "is already used by another criterion" in page
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
