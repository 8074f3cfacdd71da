"""Build the admin change form POST of a framework, as a browser would send it."""

from segmentation.forms import row_stamp
from segmentation.lifecycle import edit_stamp
from segmentation.models import Framework


def _value(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "on"
    if value is False:
        return ""
    return str(value)


def framework_post(framework: Framework, **changes) -> dict[str, str]:
    """Return the POST data that saves ``framework`` unchanged, with ``changes`` applied."""
    data = {
        name: _value(getattr(framework, name))
        for name in (
            "name",
            "summary",
            "high_tier_min_score",
            "medium_tier_min_score",
            "high_tier_route",
            "medium_tier_route",
            "low_tier_route",
            "tag_template",
            "unmapped_geography_label",
        )
    }

    criteria = list(framework.criteria.order_by("position", "id"))
    _management(data, "criteria", len(criteria))
    for index, criterion in enumerate(criteria):
        prefix = f"criteria-{index}-"
        data[prefix + "id"] = str(criterion.pk)
        data[prefix + "framework"] = str(framework.pk)
        data[prefix + "row_stamp"] = row_stamp(criterion)
        data[prefix + "values_text"] = "\n".join(map(str, criterion.values))
        for name in (
            "dimension",
            "operator",
            "label",
            "min_value",
            "max_value",
            "weight",
            "unknown_policy",
            "is_must_have",
            "is_disqualifier",
            "position",
        ):
            value = _value(getattr(criterion, name))
            if value:
                data[prefix + name] = value
            elif name not in ("is_must_have", "is_disqualifier"):
                data[prefix + name] = ""

    bands = list(framework.size_bands.order_by("position", "id"))
    _management(data, "size_bands", len(bands))
    for index, band in enumerate(bands):
        prefix = f"size_bands-{index}-"
        data[prefix + "id"] = str(band.pk)
        data[prefix + "framework"] = str(framework.pk)
        data[prefix + "row_stamp"] = row_stamp(band)
        for name in (
            "position",
            "name",
            "min_employees",
            "max_employees",
            "min_revenue_usd",
            "max_revenue_usd",
        ):
            data[prefix + name] = _value(getattr(band, name))

    # The change form carries the version's last save time, as the page showed it.
    data["loaded_at"] = edit_stamp(framework)

    mappings = framework.geography_mappings.order_by("region", "country")
    data["geography_text"] = "\n".join(
        f"{mapping.country}, {mapping.region}, {mapping.label}" for mapping in mappings
    )
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _management(data: dict[str, str], prefix: str, count: int) -> None:
    data[f"{prefix}-TOTAL_FORMS"] = str(count)
    data[f"{prefix}-INITIAL_FORMS"] = str(count)
    data[f"{prefix}-MIN_NUM_FORMS"] = "0"
    data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
