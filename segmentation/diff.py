"""Compare the settings of two framework versions, for the impact preview.

The preview shows what approving a version would change in the accounts. This module
lists what it changes in the settings: version fields such as cut-offs and the tag
template, criteria, size bands and the geography map. Sales Leadership then see why
accounts move, and notice a setting that a draft still has from an older version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Model

from .lifecycle import FRAMEWORK_LIFECYCLE_FIELDS
from .models import Criterion, Framework, GeographyMapping, SizeBand

# Criterion fields compared, in the order the changes are listed.
CRITERION_FIELDS = (
    "operator",
    "values",
    "min_value",
    "max_value",
    "weight",
    "is_must_have",
    "is_disqualifier",
    "unknown_policy",
)
SIZE_BAND_FIELDS = ("min_employees", "max_employees", "min_revenue_usd", "max_revenue_usd")
ABSENT = "—"


@dataclass(frozen=True)
class SettingChange:
    """One setting that differs: where it is, what it is, and its old and new value."""

    section: str
    item: str
    old: str
    new: str


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ABSENT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value.normalize():,f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _label(model: type[Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name).capitalize()


def _version_changes(new: Framework, old: Framework) -> list[SettingChange]:
    changes = []
    for field in Framework._meta.concrete_fields:
        if field.name in FRAMEWORK_LIFECYCLE_FIELDS:
            continue
        before, after = getattr(old, field.attname), getattr(new, field.attname)
        if before != after:
            changes.append(
                SettingChange("Version", _label(Framework, field.name), _text(before), _text(after))
            )
    return changes


def _criterion_name(criterion: Criterion) -> str:
    dimension = criterion.get_dimension_display()
    return f"{dimension}: {criterion.label}" if criterion.label else dimension


def _keyed(items: Iterable[Any], key) -> dict[str, Any]:
    """Index items by key, numbering repeats ("SaaS", "SaaS (2)") so none is lost."""
    keyed: dict[str, Any] = {}
    for item in items:
        name = key(item)
        unique, number = name, 1
        while unique in keyed:
            number += 1
            unique = f"{name} ({number})"
        keyed[unique] = item
    return keyed


def _part_changes(
    section: str,
    model: type[Model],
    new_items: dict[str, Any],
    old_items: dict[str, Any],
    fields: tuple[str, ...],
) -> list[SettingChange]:
    """List the parts added, removed and changed field by field, in a stable order."""
    changes = []
    for name in sorted(old_items.keys() - new_items.keys()):
        changes.append(SettingChange(section, name, "present", "removed"))
    for name in sorted(new_items.keys() - old_items.keys()):
        changes.append(SettingChange(section, name, ABSENT, "added"))
    for name in sorted(new_items.keys() & old_items.keys()):
        for field_name in fields:
            before = getattr(old_items[name], field_name)
            after = getattr(new_items[name], field_name)
            if before != after:
                item = f"{name}: {_label(model, field_name).lower()}"
                changes.append(SettingChange(section, item, _text(before), _text(after)))
    return changes


def _geography_changes(new: Framework, old: Framework) -> list[SettingChange]:
    def mapping(framework: Framework) -> dict[str, tuple[str, str]]:
        rows = GeographyMapping.objects.filter(framework=framework)
        return {row.country: (row.region, row.label) for row in rows}

    before, after = mapping(old), mapping(new)
    changes = []
    for country in sorted(before.keys() | after.keys()):
        if before.get(country) == after.get(country):
            continue
        old_text = ", ".join(before[country]) if country in before else ABSENT
        new_text = ", ".join(after[country]) if country in after else "removed"
        changes.append(SettingChange("Geography map", country, old_text, new_text))
    return changes


def framework_settings_diff(new: Framework, old: Framework) -> list[SettingChange]:
    """Return every setting of ``new`` that differs from ``old``.

    Criteria are matched by dimension and label, size bands by name and the geography map
    by country. Lifecycle fields (status, summary, authors, dates) are not settings.
    """
    criteria = [
        _keyed(
            Criterion.objects.filter(framework=framework).order_by("position", "id"),
            _criterion_name,
        )
        for framework in (new, old)
    ]
    bands = [
        _keyed(SizeBand.objects.filter(framework=framework).order_by("id"), lambda band: band.name)
        for framework in (new, old)
    ]
    return [
        *_version_changes(new, old),
        *_part_changes("Criteria", Criterion, criteria[0], criteria[1], CRITERION_FIELDS),
        *_part_changes("Size bands", SizeBand, bands[0], bands[1], SIZE_BAND_FIELDS),
        *_geography_changes(new, old),
    ]
