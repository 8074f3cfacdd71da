"""Reads of accounts for the pages and the API, each with the joins its callers need."""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Min, Prefetch, QuerySet

from enrichment.models import Observation
from segmentation.models import Framework, GeographyMapping, Industry, ScoreRecord, SizeBand

from .models import Account
from .permissions import can_view_accounts

# Score records shown on the account page, newest first.
SCORE_HISTORY_LIMIT = 50

Choices = list[tuple[str, str]]


def account_list_base(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Return the accounts the user may see, joined to their industry, owner and framework.

    A user with any sales role, or a superuser, sees every account, and anyone else sees
    none. The default order is by name with the id as tie-breaker.
    """
    if not can_view_accounts(user):
        return Account.objects.none()
    return Account.objects.select_related("industry", "owner", "framework").order_by("name", "id")


def account_list(
    *,
    user: AbstractBaseUser | AnonymousUser,
    filters: Mapping[str, Any] | None = None,
) -> QuerySet[Account]:
    """Return the user's accounts filtered and ordered by ``AccountFilterSet``.

    Raises ValidationError with the per-parameter messages when a filter value is invalid.
    """
    # Imported here because filtersets imports this module for its choice lists.
    from .filtersets import AccountFilterSet

    filterset = AccountFilterSet(
        data=filters or {},
        queryset=account_list_base(user=user),
        user=user,
    )
    if not filterset.is_valid():
        raise ValidationError(filterset.errors.get_json_data())
    return filterset.qs


def account_detail_queryset(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Return the user's accounts with everything the account page shows loaded in bulk.

    ``recent_score_records`` holds up to ``SCORE_HISTORY_LIMIT`` score records, newest
    first, each with its framework. ``observations`` are ordered by field, newest first.
    """
    score_records = ScoreRecord.objects.select_related("framework").order_by("-created_at", "-id")
    observations = Observation.objects.select_related("entered_by").order_by(
        "field", "-observed_at", "-id"
    )
    return account_list_base(user=user).prefetch_related(
        "identifiers",
        Prefetch(
            "score_records",
            queryset=score_records[:SCORE_HISTORY_LIMIT],
            to_attr="recent_score_records",
        ),
        Prefetch("observations", queryset=observations),
    )


class DeferredJoinPaginator(Paginator):
    """Paginator that reads the ids of a page first and then loads those rows with joins.

    When no index matches the requested order, the database must sort every matching
    row. Sorting only ids and sort keys is several times cheaper than sorting whole rows
    joined to industry, owner and framework. The page costs one query more.
    """

    def page(self, number: int | str) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page_ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows_by_id = self.object_list.order_by().in_bulk(page_ids)
        # A row deleted between the two queries is left out of the page.
        rows = [rows_by_id[pk] for pk in page_ids if pk in rows_by_id]
        return self._get_page(rows, number, self)


def industry_choices() -> Choices:
    """Return (slug, name) pairs of the canonical industries, by name."""
    return list(Industry.objects.order_by("name").values_list("slug", "name"))


def size_band_choices() -> Choices:
    """Return the size band names of all framework versions, in the frameworks' band order."""
    rows = (
        SizeBand.objects.values("name")
        .annotate(first_position=Min("position"))
        .order_by("first_position", "name")
    )
    return [(row["name"], row["name"]) for row in rows]


def geography_choices() -> Choices:
    """Return the geography labels of all framework versions, sorted by label."""
    labels = set(GeographyMapping.objects.order_by().values_list("label", flat=True).distinct())
    labels.update(
        Framework.objects.order_by().values_list("unmapped_geography_label", flat=True).distinct()
    )
    labels.discard("")
    return [(label, label) for label in sorted(labels)]


def route_choices() -> Choices:
    """Return the route names that any framework version assigns to a tier, sorted."""
    routes: set[str] = set()
    for high, medium, low in Framework.objects.values_list(
        "high_tier_route", "medium_tier_route", "low_tier_route"
    ):
        routes.update((high, medium, low))
    routes.discard("")
    return [(route, route) for route in sorted(routes)]


def owner_choices() -> Choices:
    """Return (id, display name) pairs of the active users, by username."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )
    return [(str(user.pk), user.get_full_name() or user.get_username()) for user in users]
