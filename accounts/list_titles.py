"""The account list's title and heading, which name the filters in use.

A tab or a bookmark of ``/accounts/?tier=high&industry=saas`` then reads
"Accounts: High tier, SaaS" instead of "Accounts".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from segmentation.models import Industry

from .filtersets import (
    GEOGRAPHY_NONE,
    INDUSTRY_UNMAPPED,
    MISSING_FIELD_CHOICES,
    OWNER_ME,
    OWNER_NONE,
    TIER_NONE,
    AccountFilterSet,
)
from .models import ImportRun, Tier, VerificationStatus

LIST_TITLE = "Accounts"
# Filters named in the title. Further ones are only counted, as in "and 2 more filters",
# so that the title still fits a browser tab.
MAX_TITLE_FILTERS = 3
# Code points of one filter value in the title, such as a long tag or search text.
MAX_TITLE_VALUE_LENGTH = 40

MISSING_FIELD_TITLES = {
    value: f"Missing {label.split(' (')[0].lower()}" for value, label in MISSING_FIELD_CHOICES
}


def shorten(text: str) -> str:
    """Cut ``text`` to MAX_TITLE_VALUE_LENGTH code points, ending a cut text with "…"."""
    text = " ".join(text.split())
    if len(text) <= MAX_TITLE_VALUE_LENGTH:
        return text
    return text[: MAX_TITLE_VALUE_LENGTH - 1].rstrip() + "…"


def industry_title(value: str) -> str:
    if value == INDUSTRY_UNMAPPED:
        return "No industry"
    industries = Industry.objects.all()
    if value.isdigit():
        industries = industries.filter(pk=int(value))
    else:
        industries = industries.filter(slug=value)
    return shorten(industries.values_list("name", flat=True).first() or value)


def owner_title(value: str) -> str:
    if value == OWNER_ME:
        return "Mine"
    if value == OWNER_NONE:
        return "Unassigned"
    owner = get_user_model().objects.filter(pk=int(value)).first()
    if owner is None:
        return f"Owner {value}"
    return f"Owner {shorten(owner.get_full_name() or owner.get_username())}"


def import_run_title(value: str) -> str:
    file_name = ImportRun.objects.filter(pk=int(value)).values_list("file_name", flat=True).first()
    if not file_name:
        return f"Import {value}"
    return f"Import {value} of “{shorten(file_name)}”"


def flagged_by_import_title(value: str) -> str:
    return "Review flags raised by " + import_run_title(value).replace("Import", "import", 1)


def yes_no_title(yes: str, no: str) -> Callable[[bool], str]:
    return lambda value: yes if value else no


# Filter name → function that describes its cleaned value.
FILTER_TITLES: dict[str, Callable[[Any], str]] = {
    "q": lambda value: f"Search “{shorten(value)}”",
    "industry": industry_title,
    "size_band": shorten,
    "geography": lambda value: "No geography" if value == GEOGRAPHY_NONE else shorten(value),
    "region": lambda value: f"{shorten(value)} region",
    "tier": lambda value: "Not scored" if value == TIER_NONE else f"{Tier(value).label} tier",
    "tag": lambda value: f"Tag {shorten(value)}",
    "tag_contains": lambda value: f"Tag contains “{shorten(value)}”",
    "needs_enrichment": yes_no_title("Needs enrichment", "No enrichment needed"),
    "owner": owner_title,
    "country": lambda value: f"Country {value.strip().upper()}",
    "route": lambda value: f"{shorten(value)} route",
    "verification_status": lambda value: VerificationStatus(value).label,
    "missing_field": lambda value: MISSING_FIELD_TITLES[value],
    "complete": yes_no_title("Complete data", "Incomplete data"),
    "flagged": yes_no_title("Flagged for review", "Not flagged"),
    "import_run": import_run_title,
    "flagged_by_import": flagged_by_import_title,
}


def filter_titles(filterset: AccountFilterSet) -> list[str]:
    """Describe each filter in use, in the order of the filter form. Call after is_valid()."""
    titles = []
    for name in filterset.form.fields:
        describe = FILTER_TITLES.get(name)
        value = filterset.form.cleaned_data.get(name)
        if describe is None or value is None:
            continue
        if isinstance(value, str) and not value.strip():
            continue
        titles.append(describe(value))
    return titles


def account_list_title(filterset: AccountFilterSet) -> str:
    """Return the list's title: "Accounts", followed by the filters in use.

    Invalid filter values show no rows, so the title states that and repeats none of them.
    Django's templates escape the title like any other text.
    """
    if not filterset.is_valid():
        return f"{LIST_TITLE}: invalid filters"
    titles = filter_titles(filterset)
    if not titles:
        return LIST_TITLE
    listed = ", ".join(titles[:MAX_TITLE_FILTERS])
    unlisted = len(titles) - MAX_TITLE_FILTERS
    if unlisted == 1:
        listed += " and 1 more filter"
    elif unlisted > 1:
        listed += f" and {unlisted} more filters"
    return f"{LIST_TITLE}: {listed}"
