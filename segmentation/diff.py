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
from .validation import value_match_key

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


def _comparable(item: Any, field_name: str) -> Any:
    """Return a part's field as scoring compares it.

    Criterion values match ignoring case (and, for technologies and buying signals, with
    ``-`` and ``_`` read as spaces), so "fintech" and "FinTech" are one setting.
    """
    value = getattr(item, field_name)
    if isinstance(item, Criterion) and field_name == "values" and isinstance(value, list):
        return [value_match_key(str(entry), item.dimension) for entry in value]
    return value


def _label(model: type[Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name).capitalize()


def _field_text(model: type[Model], name: str, value: Any) -> str:
    """Return a field's value as the admin shows it: a choice by its label."""
    field = model._meta.get_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return _text(value)


def _criterion_summary(criterion: Criterion) -> str:
    """Describe what a criterion checks and scores, such as "is one of SaaS · weight 30"."""
    if criterion.operator == Criterion.Operator.RANGE:
        low, high = criterion.min_value, criterion.max_value
        if high is None:
            rule = f"from {_text(low)}"
        elif low is None:
            rule = f"up to {_text(high)}"
        else:
            rule = f"from {_text(low)} to {_text(high)}"
        rule = f"{criterion.get_operator_display()} {rule}"
    else:
        rule = f"{criterion.get_operator_display()} {_text(criterion.values)}"
    parts = [rule, f"weight {_text(criterion.weight)}"]
    if criterion.is_must_have:
        parts.append("must-have")
    if criterion.is_disqualifier:
        parts.append("disqualifier")
    parts.append(f"unknown value: {criterion.get_unknown_policy_display().lower()}")
    return " · ".join(parts)


def _size_band_summary(band: SizeBand) -> str:
    """Describe a band's ranges, such as "employees 201 to 1,000"."""
    parts = []
    for measure, low, high in (
        ("employees", band.min_employees, band.max_employees),
        ("revenue (USD)", band.min_revenue_usd, band.max_revenue_usd),
    ):
        if low is not None or high is not None:
            parts.append(f"{measure} {_text(low)} to {_text(high)}")
    return " · ".join(parts) or "no bounds"


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


def _renames(
    new_items: dict[str, Any],
    old_items: dict[str, Any],
    fields: tuple[str, ...],
    group,
) -> dict[str, str]:
    """Return the renamed parts as {new name: old name}.

    A removed part and an added part of the same ``group`` (a criterion's dimension) pair
    up when all their fields are equal, or when they are the only removed and added parts
    of that group.
    """
    removed = [name for name in old_items if name not in new_items]
    added = [name for name in new_items if name not in old_items]
    pairs: dict[str, str] = {}
    for new_name in added:
        candidates = [
            old_name
            for old_name in removed
            if old_name not in pairs.values()
            and group(old_items[old_name]) == group(new_items[new_name])
        ]
        same = [
            old_name
            for old_name in candidates
            if all(
                _comparable(old_items[old_name], field) == _comparable(new_items[new_name], field)
                for field in fields
            )
        ]
        group_added = [
            name for name in added if group(new_items[name]) == group(new_items[new_name])
        ]
        if same:
            pairs[new_name] = same[0]
        elif len(candidates) == 1 and len(group_added) == 1:
            pairs[new_name] = candidates[0]
    return pairs


def _part_changes(
    section: str,
    model: type[Model],
    new_items: dict[str, Any],
    old_items: dict[str, Any],
    fields: tuple[str, ...],
    *,
    describe,
    group,
    name_field: str,
) -> list[SettingChange]:
    """List the parts added, removed, renamed and changed field by field, in a stable order.

    ``describe`` returns the text of a whole part, ``group`` the value a renamed part keeps
    (see _renames) and ``name_field`` the field that names a part.
    """
    renames = _renames(new_items, old_items, fields, group)
    renamed_old = set(renames.values())
    changes = []
    for name in sorted(old_items.keys() - new_items.keys() - renamed_old):
        changes.append(SettingChange(section, name, describe(old_items[name]), "removed"))
    for name in sorted(new_items.keys() - old_items.keys() - renames.keys()):
        changes.append(SettingChange(section, name, ABSENT, f"added: {describe(new_items[name])}"))
    matched = {name: name for name in new_items.keys() & old_items.keys()}
    matched.update(renames)
    for name in sorted(matched):
        old_item, new_item = old_items[matched[name]], new_items[name]
        if name in renames:
            item = f"{name}: {_label(model, name_field).lower()}"
            before = getattr(old_item, name_field)
            after = getattr(new_item, name_field)
            changes.append(
                SettingChange(section, item, _text(before), f"renamed to {_text(after)}")
            )
        for field_name in fields:
            before = getattr(old_item, field_name)
            after = getattr(new_item, field_name)
            if _comparable(old_item, field_name) != _comparable(new_item, field_name):
                item = f"{name}: {_label(model, field_name).lower()}"
                changes.append(
                    SettingChange(
                        section,
                        item,
                        _field_text(model, field_name, before),
                        _field_text(model, field_name, after),
                    )
                )
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
    by country. A removed and an added part count as one renamed part when their settings
    are equal, or when they are the only ones removed and added (of one dimension, for
    criteria). Lifecycle fields (status, summary, authors, dates) are not settings.
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
        *_part_changes(
            "Criteria",
            Criterion,
            criteria[0],
            criteria[1],
            CRITERION_FIELDS,
            describe=_criterion_summary,
            group=lambda criterion: criterion.dimension,
            name_field="label",
        ),
        *_part_changes(
            "Size bands",
            SizeBand,
            bands[0],
            bands[1],
            SIZE_BAND_FIELDS,
            describe=_size_band_summary,
            group=lambda band: None,
            name_field="name",
        ),
        *_geography_changes(new, old),
    ]
