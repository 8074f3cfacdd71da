"""Names that differ only in case or Unicode normalization, such as "APAC" and "apac"."""

import pytest
from django.urls import reverse

from segmentation.engine import FrameworkError
from segmentation.forms import parse_geography
from segmentation.lifecycle import framework_check
from segmentation.models import Criterion, Industry, SizeBand
from segmentation.selectors import industry_criteria_locked
from segmentation.validation import (
    canonical_criterion_values,
    compiled_context,
    criterion_errors,
    name_key,
    size_band_name_errors,
)

from .admin_posts import framework_post

# "Café" with U+00E9, and with "e" followed by U+0301 COMBINING ACUTE ACCENT.
COMPOSED = "Caf\u00e9"
DECOMPOSED = "Cafe\u0301"


def test_parse_geography_rejects_label_in_other_case():
    rows, errors = parse_geography("JP, APAC, APAC\nSG, APAC, apac")

    assert len(errors) == 1
    assert "Line 2 has the tag label 'apac'" in errors[0]
    assert "line 1 spells it 'APAC'" in errors[0]
    assert "write 'APAC' on both" in errors[0]


def test_parse_geography_accepts_repeated_label():
    rows, errors = parse_geography("JP, APAC, APAC\nSG, APAC, APAC\nUS, North America, US")

    assert errors == []
    assert len(rows) == 3


def test_parse_geography_rejects_label_in_other_normal_form():
    _rows, errors = parse_geography(f"FR, EMEA, {COMPOSED}\nBE, EMEA, {DECOMPOSED}")

    assert len(errors) == 1
    assert "differ in Unicode normalization" in errors[0]
    assert ascii(COMPOSED) in errors[0]
    assert ascii(DECOMPOSED) in errors[0]


def test_admin_rejects_label_in_other_case(client, ops_user, draft):
    client.force_login(ops_user)
    text = framework_post(draft)["geography_text"].replace("SG, APAC, APAC", "SG, APAC, apac")

    response = client.post(
        reverse("admin:segmentation_framework_change", args=[draft.pk]),
        framework_post(draft, geography_text=text),
    )

    assert response.status_code == 200
    assert "has the tag label &#x27;apac&#x27;" in response.content.decode()
    assert draft.geography_mappings.get(country="SG").label == "APAC"


def test_framework_check_rejects_saved_label_in_other_case(draft):
    draft.geography_mappings.filter(country="SG").update(label="apac")

    problems = " ".join(framework_check(draft))

    assert "The geography map's row for SG has the tag label 'apac'" in problems
    assert "spells it 'APAC'" in problems


def test_name_key_ignores_normal_form():
    assert name_key(COMPOSED) == name_key(DECOMPOSED)
    assert name_key("CAF\u00c9") == name_key(DECOMPOSED)


def test_band_names_in_other_normal_form_rejected():
    bands = [SizeBand(name=COMPOSED, min_employees=1), SizeBand(name=DECOMPOSED, max_employees=0)]

    errors = size_band_name_errors(bands)

    assert len(errors) == 1
    assert "have the same name ignoring case" in errors[0]
    assert "differ in Unicode normalization" in errors[0]


def test_band_names_in_one_spelling_have_no_note():
    bands = [SizeBand(name="SMB", min_employees=1), SizeBand(name="smb", max_employees=0)]

    errors = size_band_name_errors(bands)

    assert len(errors) == 1
    assert "Unicode normalization" not in errors[0]


def test_criterion_matches_band_in_other_normal_form(draft):
    draft.size_bands.filter(name="SMB").update(name=COMPOSED)
    criterion = Criterion(
        framework=draft,
        dimension="company_size",
        operator="in",
        label="Small companies",
        values=[DECOMPOSED],
        weight=10,
    )
    context = compiled_context(draft)

    assert criterion_errors(criterion, framework=draft, context=context) == {}
    assert canonical_criterion_values(criterion, context) == [COMPOSED]


def test_criterion_matches_geography_in_other_normal_form(draft):
    draft.geography_mappings.filter(country="SG").update(label=COMPOSED)
    context = compiled_context(draft)

    assert context.countries_for([DECOMPOSED.upper()], "Criterion 'Where'") == {"SG"}


def test_unknown_geography_still_rejected(draft):
    context = compiled_context(draft)

    with pytest.raises(FrameworkError, match="unknown geography 'Atlantis'"):
        context.countries_for(["Atlantis"], "Criterion 'Where'")


def test_repeated_value_in_other_normal_form_noted(draft):
    criterion = Criterion(
        framework=draft,
        dimension="technology",
        operator="any_of",
        label="Stack",
        values=[COMPOSED, DECOMPOSED],
        weight=10,
    )

    messages = criterion_errors(criterion, framework=draft, check_names=False)["values"]

    assert len(messages) == 1
    assert "is the same as" in messages[0]
    assert "differ in Unicode normalization" in messages[0]


def test_industry_locked_by_criterion_in_other_normal_form(active_framework):
    industry = Industry.objects.create(name=COMPOSED, slug="cafe")
    criterion = active_framework.criteria.filter(dimension="industry").first()
    Criterion.objects.filter(pk=criterion.pk).update(values=[DECOMPOSED])

    locked = industry_criteria_locked(COMPOSED, industry_pk=industry.pk)

    assert [row.pk for row in locked] == [criterion.pk]


def test_parse_geography_rejects_unmapped_label_in_other_case():
    rows, errors = parse_geography("AF, APAC, rest of world", unmapped_label="Rest of World")

    assert len(errors) == 1
    assert "Line 1 has the tag label 'rest of world'" in errors[0]
    assert "the unmapped geography label spells it 'Rest of World'" in errors[0]
    assert "write 'Rest of World' on both" in errors[0]


def test_parse_geography_accepts_unmapped_label_spelled_alike():
    rows, errors = parse_geography("AF, APAC, Rest of World", unmapped_label="Rest of World")

    assert errors == []
    assert rows == [("AF", "APAC", "Rest of World")]


def test_admin_rejects_unmapped_label_in_other_case(client, ops_user, draft):
    client.force_login(ops_user)
    lines = framework_post(draft)["geography_text"].splitlines()
    lines = [line for line in lines if not line.startswith("AF,")] + ["AF, APAC, rest of world"]
    text = "\n".join(lines)

    response = client.post(
        reverse("admin:segmentation_framework_change", args=[draft.pk]),
        framework_post(draft, geography_text=text, unmapped_geography_label="Rest of World"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "has the tag label &#x27;rest of world&#x27;" in html
    assert "the unmapped geography label spells it &#x27;Rest of World&#x27;" in html
    assert not draft.geography_mappings.filter(label="rest of world").exists()


def test_framework_check_rejects_unmapped_label_in_other_case(draft):
    draft.unmapped_geography_label = "Rest of World"
    draft.save(update_fields=["unmapped_geography_label"])
    draft.geography_mappings.update_or_create(
        country="AF", defaults={"region": "APAC", "label": "rest of world"}
    )

    problems = " ".join(framework_check(draft))

    assert "The geography map's row for AF has the tag label 'rest of world'" in problems
    assert "the unmapped geography label spells it 'Rest of World'" in problems
