"""Reads of accounts for the pages and the API, each with the joins its callers need."""

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import redis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache as django_cache
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.functional import cached_property
from django.utils.text import capfirst

from audits.baseline import BASELINE_TITLE, is_baseline
from enrichment import verification
from enrichment.models import Observation
from enrichment.verification import source_label
from segmentation.models import (
    SCORED_STATUSES,
    Framework,
    GeographyMapping,
    Industry,
    ScoreRecord,
    SizeBand,
)

from . import roles
from .models import (
    Account,
    ImportMapping,
    ImportRun,
    ResearchNote,
    SegmentOverride,
    VerificationStatus,
)
from .observation_text import buying_signal_label, observation_text
from .permissions import can_view_accounts, team_member_ids

# Score records shown on the account page, newest first.
SCORE_HISTORY_LIMIT = 50

Choices = list[tuple[str, str]]

logger = logging.getLogger(__name__)


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
    first, each with its framework. Observations are not prefetched, because one account
    can have hundreds of thousands: observation_summary reads the ones the page shows.
    """
    score_records = ScoreRecord.objects.select_related("framework").order_by("-created_at", "-id")
    return account_list_base(user=user).prefetch_related(
        "identifiers",
        Prefetch(
            "score_records",
            queryset=score_records[:SCORE_HISTORY_LIMIT],
            to_attr="recent_score_records",
        ),
    )


class DeferredJoinPaginator(Paginator):
    """Paginator that reads the ids of a page first and then loads those rows with joins.

    When no index matches the requested order, the database must sort every matching
    row. Sorting only ids and sort keys is several times cheaper than sorting whole rows
    joined to industry, owner and framework. The page costs one query more.

    ``key_aliases`` names annotations of ``object_list`` that hold its sort keys. Each
    page then stores the keys of its first and last row as ``first_position`` and
    ``last_position``, from which a view builds keyset links to the neighbouring pages.
    """

    def __init__(self, *args: Any, key_aliases: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_aliases = list(key_aliases)

    def page(self, number: int | str) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._page_from_keys(self.object_list[bottom:top], number)

    def page_from(self, queryset: QuerySet, number: int, *, reverse: bool = False) -> Page:
        """Return page ``number`` made of the first ``per_page`` rows of ``queryset``.

        ``queryset`` starts where the page starts, such as the rows after the last row
        of the previous page, so the database skips no rows. With ``reverse`` it lists
        the page's rows last first (the rows before the next page) and the page puts
        them back in order. ``number`` must be valid: it only labels the page.
        """
        return self._page_from_keys(queryset[: self.per_page], number, reverse=reverse)

    def _page_from_keys(self, queryset: QuerySet, number: int, *, reverse: bool = False) -> Page:
        keys = list(queryset.values_list("pk", *self.key_aliases))
        if reverse:
            keys.reverse()
        page_ids = [row[0] for row in keys]
        rows_by_id = self.object_list.order_by().in_bulk(page_ids)
        # A row deleted between the two queries is left out of the page.
        rows = [rows_by_id[pk] for pk in page_ids if pk in rows_by_id]
        page = self._get_page(rows, number, self)
        page.first_position = list(keys[0][1:]) if keys and self.key_aliases else None
        page.last_position = list(keys[-1][1:]) if keys and self.key_aliases else None
        return page


# Matching rows the account list counts at most. Counting stops there, so a filter that
# matches a million accounts costs a count of this many index entries, and the deepest
# page it reaches skips at most this many rows.
LIST_COUNT_CAP = 10_000


class CappedCountPaginator(DeferredJoinPaginator):
    """DeferredJoinPaginator that counts at most ``count_cap`` rows.

    A larger result counts as ``count_cap`` rows with ``count_capped`` set, so its pages
    end at the cap and the page can show "10,000+". A smaller count is exact.
    """

    count_cap = LIST_COUNT_CAP

    @cached_property
    def counted_rows(self) -> int:
        """Return the number of matching rows, counting at most one past the cap."""
        return self.object_list.order_by()[: self.count_cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.counted_rows, self.count_cap)

    @property
    def count_capped(self) -> bool:
        return self.counted_rows > self.count_cap


def industry_choices() -> Choices:
    """Return (slug, name) pairs of the canonical industries, by name."""
    return list(Industry.objects.order_by("name").values_list("slug", "name"))


def size_band_choices() -> Choices:
    """Return the size band names of scored framework versions, in their band order."""
    rows = (
        SizeBand.objects.filter(framework__status__in=SCORED_STATUSES)
        .values("name")
        .annotate(first_position=Min("position"))
        .order_by("first_position", "name")
    )
    return [(row["name"], row["name"]) for row in rows]


def geography_options() -> tuple[Choices, Choices]:
    """Return the geography labels and the regions of scored framework versions, sorted."""
    mappings = GeographyMapping.objects.filter(framework__status__in=SCORED_STATUSES)
    pairs = set(mappings.order_by().values_list("label", "region").distinct())
    labels = {label for label, _ in pairs}
    scored = Framework.objects.filter(status__in=SCORED_STATUSES).order_by()
    labels.update(scored.values_list("unmapped_geography_label", flat=True).distinct())
    labels.discard("")
    regions = {region for _, region in pairs} - {""}
    return (
        [(label, label) for label in sorted(labels)],
        [(region, region) for region in sorted(regions)],
    )


def geography_choices() -> Choices:
    """Return the geography labels of scored framework versions, sorted by label."""
    return geography_options()[0]


def region_choices() -> Choices:
    """Return the regions of scored framework versions' geography maps, sorted."""
    return geography_options()[1]


# A loose index scan: each step reads the next larger tag from the (tag, score key, id)
# index account_tag_score_idx, so the query costs one index probe per distinct tag
# instead of reading every account as SELECT DISTINCT does.
TAGS_IN_USE_SQL = """
WITH RECURSIVE tags(tag) AS (
    SELECT MIN(tag) FROM {table} WHERE tag > ''
    UNION ALL
    SELECT (SELECT MIN(later.tag) FROM {table} AS later WHERE later.tag > tags.tag)
    FROM tags
    WHERE tags.tag IS NOT NULL
)
SELECT tag FROM tags WHERE tag IS NOT NULL
"""


# Accounts whose tag is in effect, as tag member lists select them. An account that needs
# enrichment (a mandatory field missing or conflicting) is flagged for enrichment before it
# is segmented, so it leaves its tag's lists until its data is complete. The engine gives
# such an account no tag, but a tag that a person set stays stored (tag_override) and
# takes effect then. The (tag, score key, id) index still serves a tag's pages: the
# condition only filters the rows it reads.
TAG_IN_EFFECT = Q(needs_enrichment=False)


def tags_in_use() -> list[str]:
    """Return the distinct non-empty tags of all accounts, in the database's sort order.

    NOTE: the query takes one index probe per distinct tag. Tags follow a framework's
    tag template, so their number is bounded by its industries, size bands and
    geographies, but no limit is enforced on it.
    """
    sql = TAGS_IN_USE_SQL.format(table=connection.ops.quote_name(Account._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


# Seconds the list page's tag suggestions are reused. A tag that re-segmentation adds
# appears in the suggestions at most this much later; the filter itself reads fresh tags.
TAG_SUGGESTIONS_SECONDS = 300
TAG_SUGGESTIONS_KEY = "accounts:tag-suggestions"


def tag_suggestions() -> list[str]:
    """Return the tags in use for the list's Tag field, cached for TAG_SUGGESTIONS_SECONDS.

    Every full load of the list page renders the suggestions, and reading them takes one
    index probe per distinct tag, so a plain page load reuses a recent read.
    """
    try:
        tags = django_cache.get(TAG_SUGGESTIONS_KEY)
        if tags is None:
            tags = tags_in_use()
            django_cache.set(TAG_SUGGESTIONS_KEY, tags, TAG_SUGGESTIONS_SECONDS)
    except redis.RedisError as error:
        # The page works without the cache: the suggestions are read from the database.
        logger.warning("tag suggestions read without the cache, which failed: %r", error)
        return tags_in_use()
    return tags


def region_labels(region: str) -> QuerySet[GeographyMapping]:
    """Return the labels that scored framework versions map to the region, as a subquery."""
    mappings = GeographyMapping.objects.filter(framework__status__in=SCORED_STATUSES)
    return mappings.filter(region=region).values("label")


def route_choices() -> Choices:
    """Return the route names that scored framework versions assign to a tier, sorted."""
    routes: set[str] = set()
    for high, medium, low in Framework.objects.filter(status__in=SCORED_STATUSES).values_list(
        "high_tier_route", "medium_tier_route", "low_tier_route"
    ):
        routes.update((high, medium, low))
    routes.discard("")
    return [(route, route) for route in sorted(routes)]


def owner_choices() -> Choices:
    """Return (id, display name) pairs of possible owners, sorted by display name.

    Those are the active users of the roles that own accounts, and any user who owns an
    account, such as a rep who left, marked inactive.
    """
    owns = Account.objects.filter(owner=OuterRef("pk"))
    users = (
        get_user_model()
        .objects.filter(Q(is_active=True, groups__name__in=OWNER_ROLES) | Exists(owns))
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name", "is_active")
    )
    choices = []
    for user in users:
        name = user.get_full_name() or user.get_username()
        choices.append((str(user.pk), name if user.is_active else f"{name} (inactive)"))
    return sorted(choices, key=lambda choice: (choice[1].casefold(), choice[0]))


# The SDR/AE workspace ------------------------------------------------------------------
# Reads of the queue, the account page's provenance, notes and history, and imports.

QUEUE_RESEARCH = "research"
QUEUE_ENRICHMENT = "enrichment"
QUEUE_CONFLICT = "conflict"
QUEUE_REASONS: dict[str, str] = {
    QUEUE_RESEARCH: "Needs research",
    # Not "Needs enrichment", which the list and the account page use for a missing
    # mandatory field: these accounts have values that no second source confirmed.
    QUEUE_ENRICHMENT: "Needs a second source",
    QUEUE_CONFLICT: "Conflict to resolve",
}
QUEUE_CONDITIONS: dict[str, Q] = {
    QUEUE_RESEARCH: Q(tag="") | Q(needs_enrichment=True),
    QUEUE_ENRICHMENT: Q(verification_status=VerificationStatus.UNVERIFIED),
    QUEUE_CONFLICT: Q(verification_status=VerificationStatus.CONFLICTING),
}
# Roles with a queue of their own accounts.
QUEUE_ROLES = frozenset({roles.SDR, roles.AE, roles.SALES_MANAGER})
# Roles that may own accounts, offered when assigning owners.
OWNER_ROLES = (roles.SDR, roles.AE, roles.SALES_MANAGER)

NOTES_LIMIT = 100
OVERRIDES_LIMIT = 50
HISTORY_LIMIT = 50

# Account fields whose changes the history shows. Segmentation results are left out
# because score records and overrides show them with their reasons.
HISTORY_FIELDS = (
    "name",
    "domain",
    "website",
    "industry_id",
    "industry_raw",
    "employee_raw",
    "employee_count",
    "revenue_raw",
    "annual_revenue_usd",
    "country",
    "region",
    "city",
    "technologies",
    "buying_signals",
    "description",
    "owner_id",
    "verification_status",
    "review_flags",
    "reviewed_flags",
)
# Fields a concurrent change may have touched, shown when a stale edit is rejected.
RESULT_CHANGE_FIELDS = ("tag", "tier", "score", "route")
CHANGE_FIELDS = (*HISTORY_FIELDS, *RESULT_CHANGE_FIELDS)
RESCORING_ACTOR = "Re-scoring"
HISTORY_LABELS = {
    "industry_id": "Industry",
    "industry_raw": "Industry label",
    "employee_raw": "Employees",
    "employee_count": "Employee estimate",
    "revenue_raw": "Revenue",
    "annual_revenue_usd": "Revenue in USD",
    "owner_id": "Owner",
    "verification_status": "Verification",
    "region": "Region",
    "buying_signals": "Buying signals",
    "review_flags": "Review flags",
    "reviewed_flags": "Reviewed flags",
}

PROVENANCE_LABELS = {
    "verified": "Verified",
    "single_source": "Single source",
    "conflicting": "Conflict",
    "missing": "Missing",
    "accepted": "Accepted",
}


def may_use_queue(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return True for users who own accounts: SDRs, AEs, Sales Managers and superusers."""
    return user.is_authenticated and (
        user.is_superuser or bool(roles.user_roles(user) & QUEUE_ROLES)
    )


def queue_owner_ids(user: AbstractBaseUser | AnonymousUser) -> list[int]:
    """Return the owners whose accounts form the user's queue: the team for managers."""
    if not user.is_authenticated:
        return []
    if roles.SALES_MANAGER in roles.user_roles(user):
        return team_member_ids(user)
    return [user.pk]


def queue_base(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Return the user's (or their team's) accounts that need work of any queue reason.

    A manager's queue also has the unowned accounts with a conflict, because only a
    manager may resolve those.
    """
    any_reason = Q(pk__in=[])
    for condition in QUEUE_CONDITIONS.values():
        any_reason |= condition
    mine = Q(owner_id__in=queue_owner_ids(user)) & any_reason
    if user.is_authenticated and roles.SALES_MANAGER in roles.user_roles(user):
        mine |= Q(owner__isnull=True) & QUEUE_CONDITIONS[QUEUE_CONFLICT]
    return Account.objects.filter(mine)


def queue_accounts(
    user: AbstractBaseUser | AnonymousUser, reason: str | None = None
) -> QuerySet[Account]:
    """Return the queue, optionally of one reason: conflicts first, then by score and name."""
    accounts = queue_base(user)
    if reason in QUEUE_CONDITIONS:
        accounts = accounts.filter(QUEUE_CONDITIONS[reason])
    return accounts.select_related("industry", "owner").order_by(
        Case(
            When(verification_status=VerificationStatus.CONFLICTING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        F("score").desc(nulls_last=True),
        "name",
        "id",
    )


def queue_counts(user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    """Count the queue per reason and in total with one query."""
    aggregates = {
        reason: Count("id", filter=condition) for reason, condition in QUEUE_CONDITIONS.items()
    }
    counts = queue_base(user).aggregate(all=Count("id"), **aggregates)
    return {name: value or 0 for name, value in counts.items()}


@dataclass(frozen=True)
class QueueRow:
    """One queue entry: the account, its reason keys and one sentence per problem."""

    account: Account
    reasons: list[str]
    details: list[str]


def queue_rows(accounts: Iterable[Account]) -> list[QueueRow]:
    """Explain why each account is in the queue, from the loaded fields only."""
    rows = []
    for account in accounts:
        reasons = []
        details = []
        if not account.tag or account.needs_enrichment:
            reasons.append(QUEUE_RESEARCH)
            if not account.tag:
                details.append("No tag yet: research the account and tag it.")
            if account.needs_enrichment and account.missing_fields:
                missing = ", ".join(
                    capfirst(str(name).replace("_", " ")) for name in account.missing_fields
                )
                details.append(f"Missing for scoring: {missing}.")
        if account.verification_status == VerificationStatus.UNVERIFIED:
            reasons.append(QUEUE_ENRICHMENT)
        if account.verification_status == VerificationStatus.CONFLICTING:
            reasons.append(QUEUE_CONFLICT)
        if account.verification_status != VerificationStatus.VERIFIED:
            details += verification_reasons(account.field_status or {})
        rows.append(QueueRow(account, reasons, details))
    return rows


def verification_reasons(field_status: dict[str, Any]) -> list[str]:
    """Summarize why the mandatory fields are not verified, one sentence per kind of problem.

    Conflicts name each source's value; fields with one source or none are listed
    together. Returns nothing when the enrichment app is not installed.
    """
    try:
        from enrichment.verification import FIELD_LABELS, MANDATORY_FIELDS
    except ImportError:
        return []
    conflicts: list[str] = []
    single: list[str] = []
    missing: list[str] = []
    for name in MANDATORY_FIELDS:
        entry = field_status.get(name) if isinstance(field_status, dict) else None
        entry = entry if isinstance(entry, dict) else {}
        status = entry.get("status", "missing")
        label = FIELD_LABELS.get(name, name.replace("_", " "))
        if status == "conflicting":
            values = entry.get("values") if isinstance(entry.get("values"), dict) else {}
            values_text = "; ".join(
                f"{source_label(str(key))}: {value}" for key, value in values.items()
            )
            conflicts.append(f"{capfirst(label)}: sources disagree ({values_text}).")
        elif status == "single_source":
            single.append(label)
        elif status == "missing":
            missing.append(label)
    details = conflicts
    if single:
        details.append(f"One source only for {', '.join(single)}: confirm with a second source.")
    if missing:
        details.append(f"No source for {', '.join(missing)}: enrich the account.")
    return details


# The account page ----------------------------------------------------------------------


def account_workspace_queryset(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Return account_detail_queryset plus the notes and overrides the account page shows.

    ``timeline_notes`` holds up to NOTES_LIMIT + 1 notes that are not dismissed, newest first,
    with their authors. ``recent_overrides`` holds up to OVERRIDES_LIMIT overrides.
    """
    notes = (
        ResearchNote.objects.exclude(status=ResearchNote.Status.DISMISSED)
        .select_related("author")
        .order_by("-created_at", "-id")
    )
    overrides = SegmentOverride.objects.select_related("user").order_by("-created_at", "-id")
    return account_detail_queryset(user=user).prefetch_related(
        Prefetch("notes", queryset=notes[: NOTES_LIMIT + 1], to_attr="timeline_notes"),
        Prefetch("overrides", queryset=overrides[:OVERRIDES_LIMIT], to_attr="recent_overrides"),
    )


def account_notes(account: Account, *, every: bool = False) -> list[ResearchNote]:
    """Return the account's notes that are not dismissed, newest first, with their authors.

    Only the newest NOTES_LIMIT + 1 are returned unless ``every`` is set, so a caller can
    tell whether there are more than NOTES_LIMIT.
    """
    notes = None if every else getattr(account, "timeline_notes", None)
    if notes is None:
        queryset = (
            account.notes.exclude(status=ResearchNote.Status.DISMISSED)
            .select_related("author")
            .order_by("-created_at", "-id")
        )
        notes = list(queryset if every else queryset[: NOTES_LIMIT + 1])
    return notes


@dataclass(frozen=True)
class Provenance:
    """The provenance of a field's value, as the enrichment app last verified it.

    ``values`` lists (source label, value) of every source; ``resolution`` is the person's
    decision of an accepted field. ``disagreeing`` lists (source label, value) of the
    sources that disagree with the current value, which a verified field can have when
    more sources agree with it.
    """

    status: str
    label: str
    sources: list[str]
    values: list[tuple[str, Any]]
    resolution: dict[str, Any] | None = None
    disagreeing: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Return the badge text, such as "Verified · S&P 500 + Fortune 500"."""
        if self.status in ("verified", "single_source", "accepted") and self.sources:
            return f"{self.label} · {' + '.join(self.sources)}"
        return self.label

    @property
    def dissent_text(self) -> str:
        """Return the text of the sources a verified field outvotes, "" when none does.

        For example "Fortune 500 reports 132,000". A conflict lists its values apart.
        """
        if self.status != "verified":
            return ""
        return "; ".join(
            f"{source} reports {_value_text(value)}" for source, value in self.disagreeing
        )


def _value_text(value: Any) -> str:
    """Return a field_status value as text: a list of technologies item by item."""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def account_provenance(account: Account) -> dict[str, Provenance]:
    """Return a Provenance per verified field of the account's field_status."""
    provenance = {}
    for key, entry in (account.field_status or {}).items():
        if not isinstance(entry, dict):
            continue
        status = str(entry.get("status") or "missing")
        values = entry.get("values") or {}
        if not isinstance(values, dict):
            values = {}
        disagreeing = entry.get("disagreeing") or []
        provenance[key] = Provenance(
            status=status,
            label=PROVENANCE_LABELS.get(status, capfirst(status.replace("_", " "))),
            sources=[source_label(str(source)) for source in entry.get("sources") or []],
            values=[(source_label(str(source)), value) for source, value in values.items()],
            disagreeing=[
                (source_label(str(source)), values[source])
                for source in (disagreeing if isinstance(disagreeing, list) else [])
                if source in values
            ],
            resolution=entry.get("resolution")
            if isinstance(entry.get("resolution"), dict)
            else None,
        )
    return provenance


@dataclass(frozen=True)
class ConflictOption:
    """One value of a conflicting field as one source reported it, to choose in a resolution.

    ``is_newest`` is True for the source's newest observation, whose value field_status
    shows. ``line`` and ``import_run_id`` are empty unless an import wrote the value.
    """

    observation_id: int
    source_id: str
    source: str
    value: Any
    raw_value: str
    observed_at: datetime
    display_text: str = ""
    is_newest: bool = True
    line: int | None = None
    import_run_id: int | None = None


# Values of no use in a resolution.
_EMPTY_VALUES: tuple[Any, ...] = (None, "", [], {})


def conflict_options(account: Account, observation_field: str) -> list[ConflictOption]:
    """Return every distinct value of the field that the sources report now.

    It takes four queries, and one more for industry names.

    A source reports its newest observation's value. When an import wrote it, the other
    values that rows of the same import gave the field count too, because two rows of one
    file (a company and one merged into it) are one source that reports two values.
    Observations written before imports stored their run count with the newest one when
    they share its time, which rows of one batch do. Each value is listed once per
    source, through its newest observation, sources in alphabetical order.
    """
    summary = observation_summary(account, fields=[observation_field])
    latest = [
        observation
        for group in summary
        for observation in group.latest
        if observation.value not in _EMPTY_VALUES
    ]
    if not latest:
        return []
    same_file = Q()
    for observation in latest:
        if observation.import_run_id is not None:
            same_file |= Q(source=observation.source, import_run_id=observation.import_run_id)
        else:
            same_file |= Q(
                source=observation.source,
                import_run__isnull=True,
                observed_at=observation.observed_at,
            )
    latest_ids = {observation.pk for observation in latest}
    others = list(
        Observation.objects.filter(same_file, account_id=account.pk, field=observation_field)
        .exclude(pk__in=latest_ids)
        .order_by()
    )
    observation_texts_set(others, account)

    options: list[ConflictOption] = []
    seen: set[tuple[str, str]] = set()
    newest_first = sorted(
        [*latest, *others], key=lambda item: (item.observed_at, item.pk), reverse=True
    )
    for observation in newest_first:
        if observation.value in _EMPTY_VALUES:
            continue
        key = (observation.source, json.dumps(observation.value, sort_keys=True, default=str))
        if key in seen:
            continue
        seen.add(key)
        options.append(
            ConflictOption(
                observation.pk,
                observation.source,
                source_label(observation.source),
                observation.value,
                observation.raw_value,
                observation.observed_at,
                display_text=getattr(observation, "display_text", ""),
                is_newest=observation.pk in latest_ids,
                line=observation.line,
                import_run_id=observation.import_run_id,
            )
        )
    # Sorting is stable, so one source's values stay newest first.
    return sorted(options, key=lambda option: option.source)


# Observations per page of an account's field history.
OBSERVATIONS_PAGE_SIZE = 50


@dataclass(frozen=True)
class FieldObservations:
    """One field's newest observation per source, newest first, and how many are older."""

    field: str
    latest: list[Observation]
    older_count: int


def observation_summary(
    account: Account, *, fields: Sequence[str] | None = None
) -> list[FieldObservations]:
    """Return each field's newest observation per source, fields in alphabetical order.

    These are the values that verification compares: each source's newest observation.
    The three queries return one row per field and source, however many observations
    the account has. The first one counts them, so its time grows with their number:
    about 55 ms for 100,000 observations of one account on PostgreSQL 15 (an estimate
    from one run on a shared two-core machine). The other two use
    observation_account_source_idx and read only the newest observations.
    """
    observations = Observation.objects.filter(account_id=account.pk)
    if fields is not None:
        observations = observations.filter(field__in=list(fields))
    pairs = list(
        observations.values("field", "source")
        .annotate(count=Count("pk"), newest_at=Max("observed_at"))
        .order_by()
    )
    if not pairs:
        return []
    # Observations written by one import batch share observed_at, so the newest id
    # among those of the newest time picks one row per field and source.
    newest_times = Q()
    for pair in pairs:
        newest_times |= Q(field=pair["field"], source=pair["source"], observed_at=pair["newest_at"])
    newest_ids = (
        observations.filter(newest_times)
        .values("field", "source")
        .annotate(newest_id=Max("pk"))
        .order_by()
        .values_list("newest_id", flat=True)
    )
    latest = (
        Observation.objects.filter(pk__in=list(newest_ids)).select_related("entered_by").order_by()
    )
    counts: dict[str, int] = {}
    for pair in pairs:
        counts[pair["field"]] = counts.get(pair["field"], 0) + pair["count"]
    by_field: dict[str, list[Observation]] = {}
    for observation in latest:
        by_field.setdefault(observation.field, []).append(observation)
    observation_texts_set(list(latest), account)
    summary = []
    for field_name in sorted(by_field):
        rows = sorted(by_field[field_name], key=lambda row: (row.observed_at, row.pk), reverse=True)
        summary.append(FieldObservations(field_name, rows, counts[field_name] - len(rows)))
    return summary


def observation_texts_set(observations: list[Observation], account: Account) -> None:
    """Set ``display_text`` on each observation: its value as a person reads it.

    Industry names are read with one query, and none when every industry observation
    names the account's own industry, which the account page has already loaded.
    """
    industry_ids = {
        observation.value.get("industry_id")
        for observation in observations
        if observation.field == "industry" and isinstance(observation.value, dict)
    }
    industry_ids.discard(None)
    names: dict[int, str] = {}
    if account.industry_id in industry_ids and Account.industry.is_cached(account):
        names[account.industry_id] = account.industry.name
    missing = industry_ids - names.keys()
    if missing:
        names.update(Industry.objects.filter(pk__in=missing).values_list("id", "name"))
    for observation in observations:
        observation.display_text = observation_text(observation.field, observation.value, names)


def field_observations(account: Account, field_name: str) -> QuerySet[Observation]:
    """Return every observation of one field of the account, newest first, to paginate."""
    return (
        Observation.objects.filter(account_id=account.pk, field=field_name)
        .select_related("entered_by")
        .order_by("-observed_at", "-id")
    )


@dataclass
class FieldChange:
    """One changed value in a history entry."""

    field: str
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    """One line of the account's history: a score, an override or changed fields."""

    kind: str
    at: datetime
    actor: str
    title: str
    changes: list[FieldChange] = field(default_factory=list)
    reason: str = ""
    record: Any = None


def user_label(user: Any) -> str:
    """Return a user's full name, or the username when no name is set, or "" for None."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _history_text(name: str, value: Any, owners: dict[int, str], industries: dict[int, str]) -> str:
    if value in (None, "", [], {}):
        return "—"
    if name == "owner_id":
        return owners.get(value, f"user {value}")
    if name == "industry_id":
        return industries.get(value, f"industry {value}")
    if name == "verification_status":
        return VerificationStatus(value).label if value in VerificationStatus.values else str(value)
    if name == "buying_signals" and isinstance(value, list):
        return ", ".join(
            buying_signal_label(item) if isinstance(item, str) else str(item) for item in value
        )
    if isinstance(value, list):
        return ", ".join(
            str(item.get("value") or item) if isinstance(item, dict) else str(item)
            for item in value
        )
    if isinstance(value, Decimal):
        return f"{value:,.0f}"
    return str(value)


RawChange = tuple[str, Any, Any]


def _raw_changes(older: Any, newer: Any, names: tuple[str, ...]) -> list[RawChange]:
    """Return (field, old, new) for every field that differs between two history records."""
    changes = []
    for name in names:
        old, new = getattr(older, name, None), getattr(newer, name, None)
        if old != new:
            changes.append((name, old, new))
    return changes


def _related_names(changes: Iterable[RawChange]) -> tuple[dict[int, str], dict[int, str]]:
    """Load the names of the owners and industries that changed, with one query each."""
    owner_ids: set[int] = set()
    industry_ids: set[int] = set()
    for name, old, new in changes:
        if name == "owner_id":
            owner_ids.update(value for value in (old, new) if value)
        elif name == "industry_id":
            industry_ids.update(value for value in (old, new) if value)
    owners: dict[int, str] = {}
    if owner_ids:
        owners = {
            user.pk: user_label(user) for user in get_user_model().objects.filter(pk__in=owner_ids)
        }
    industries: dict[int, str] = {}
    if industry_ids:
        industries = dict(Industry.objects.filter(pk__in=industry_ids).values_list("id", "name"))
    return owners, industries


# A field whose change is not listed when it reads the same as another field's change,
# such as the head count estimate of a typed head count.
ECHO_FIELDS = {"employee_count": "employee_raw"}


def _field_changes(
    changes: list[RawChange], owners: dict[int, str], industries: dict[int, str]
) -> list[FieldChange]:
    listed = [
        FieldChange(
            field=name,
            label=HISTORY_LABELS.get(name)
            or capfirst(str(Account._meta.get_field(name).verbose_name)),
            old=_history_text(name, old, owners, industries),
            new=_history_text(name, new, owners, industries),
        )
        for name, old, new in changes
    ]
    texts = {change.field: (change.old, change.new) for change in listed}
    return [
        change
        for change in listed
        if texts.get(ECHO_FIELDS.get(change.field, "")) != (change.old, change.new)
    ]


def _channel_actor(record: Any) -> str:
    user = user_label(record.history_user)
    channel = getattr(record, "history_channel", "")
    if user:
        return user
    return {"import": "Import", "task": "Background job", "admin": "Admin", "api": "API"}.get(
        channel, "System"
    )


def account_field_history(account: Account, *, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Return the account's field changes from django-simple-history, newest first.

    Reads ``limit`` + 1 history records with one query, compares neighbours, and reads
    the names of changed owners and industries with one query each.
    """
    records = list(
        account.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    pairs = []
    for index, record in enumerate(records[:limit]):
        older = records[index + 1] if index + 1 < len(records) else None
        raw = _raw_changes(older, record, HISTORY_FIELDS) if older is not None else []
        pairs.append((record, older, raw))
    owners, industries = _related_names(change for _, _, raw in pairs for change in raw)

    entries = []
    for record, older, raw in pairs:
        if older is None:
            if is_baseline(record):
                entries.append(
                    HistoryEntry(
                        "baseline", record.history_date, _channel_actor(record), BASELINE_TITLE
                    )
                )
            elif record.history_type == "+":
                entries.append(
                    HistoryEntry(
                        "created", record.history_date, _channel_actor(record), "Account created"
                    )
                )
            continue
        if not raw:
            continue
        changes = _field_changes(raw, owners, industries)
        entries.append(
            HistoryEntry(
                "change",
                record.history_date,
                _channel_actor(record),
                "Changed " + _changed_labels(changes),
                changes=changes,
                reason=record.history_change_reason or "",
            )
        )
    return entries


def account_history(account: Account, *, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Merge score records, overrides and field changes into one list, newest first.

    Uses the prefetched ``recent_score_records`` and ``recent_overrides`` of
    account_workspace_queryset.
    """
    entries = account_field_history(account, limit=limit)
    for record in getattr(account, "recent_score_records", []):
        entries.append(
            HistoryEntry("score", record.created_at, "Segmentation", "Scored", record=record)
        )
    for override in getattr(account, "recent_overrides", []):
        entries.append(
            HistoryEntry(
                "override",
                override.created_at,
                user_label(override.user),
                override.get_kind_display(),
                reason=override.reason,
                record=override,
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def account_changes_since(account: Account, since: datetime | None) -> list[HistoryEntry]:
    """Return the changes made to the account after ``since`` (an updated_at), oldest first.

    Changes written without history, such as bulk scoring, show as one entry without
    field details.
    """
    history = account.history.select_related("history_user")
    if since is None:
        newer = list(history.order_by("-history_date", "-history_id")[:1])
        baseline = None
    else:
        newer = list(history.filter(updated_at__gt=since).order_by("history_date", "history_id"))
        baseline = (
            history.filter(updated_at__lte=since).order_by("-history_date", "-history_id").first()
        )
    pairs = []
    older = baseline
    for record in newer:
        pairs.append((record, older, _raw_changes(older, record, CHANGE_FIELDS) if older else []))
        older = record
    owners, industries = _related_names(change for _, _, raw in pairs for change in raw)

    entries = []
    for record, older, raw in pairs:
        if older is not None and not raw:
            continue
        # Re-scoring writes the result without a history row, so a result change between
        # two rows is the editor's only when the editor set an override.
        scored = [] if older is None or _override_changed(older, record) else raw
        scored = [change for change in scored if change[0] in RESULT_CHANGE_FIELDS]
        if scored:
            rescored = _field_changes(scored, owners, industries)
            entries.append(
                HistoryEntry(
                    "change",
                    record.history_date,
                    RESCORING_ACTOR,
                    "Scored again: " + _changed_labels(rescored),
                    changes=rescored,
                )
            )
            raw = [change for change in raw if change not in scored]
            if not raw:
                continue
        changes = _field_changes(raw, owners, industries)
        entries.append(
            HistoryEntry(
                "change",
                record.history_date,
                _channel_actor(record),
                "Changed " + _changed_labels(changes) if changes else "Changed the account",
                changes=changes,
            )
        )
    if not entries:
        entries.append(_rescoring_entry(account, since))
    return entries


def _rescoring_entry(account: Account, since: datetime | None) -> HistoryEntry:
    """Describe a change written without history, from the score records that span it.

    Re-segmentation writes results in bulk, so its changes have no history row. The score
    record before ``since`` and the latest one show what it changed.
    """
    records = ScoreRecord.objects.filter(account=account).select_related("framework")
    latest = records.order_by("-created_at", "-id").first()
    earlier = None
    if since is not None:
        earlier = records.filter(created_at__lte=since).order_by("-created_at", "-id").first()
    if latest is None or earlier is None or latest.pk == earlier.pk:
        return HistoryEntry("change", account.updated_at, "Background job", "Changed the account")
    raw = [
        (name, getattr(earlier, name), getattr(latest, name))
        for name in ("tier", "score", "tag", "route")
        if getattr(earlier, name) != getattr(latest, name)
    ]
    changes = _field_changes(raw, {}, {})
    title = f"Scored again with framework v{latest.framework.version}"
    if changes:
        title += ": " + _changed_labels(changes)
    return HistoryEntry("change", latest.created_at, RESCORING_ACTOR, title, changes=changes)


def _override_changed(older: Any, newer: Any) -> bool:
    return (older.tag_override, older.tier_override) != (newer.tag_override, newer.tier_override)


# A field that a change title leaves out when the other field changed with it, because
# both are one fact: the revenue in USD is converted from the revenue as reported.
TITLE_PART_OF = {"annual_revenue_usd": "revenue_raw"}


def _changed_labels(changes: list[FieldChange]) -> str:
    """Return the changed fields' labels for a title, such as "revenue, owner", once each.

    Only the first letter is lowered, so "Revenue in USD" reads "revenue in USD".
    """
    changed = {change.field for change in changes}
    labels: list[str] = []
    for change in changes:
        if TITLE_PART_OF.get(change.field) in changed:
            continue
        label = change.label[:1].lower() + change.label[1:]
        if label not in labels:
            labels.append(label)
    return ", ".join(labels)


def assignable_owners() -> list[AbstractBaseUser]:
    """Return the active users who may own accounts (SDRs, AEs and managers), by name."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=OWNER_ROLES)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


# Imports -------------------------------------------------------------------------------


def may_see_all_imports(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Sales Ops, managers and superusers see every import; others see their own."""
    return user.is_authenticated and (
        user.is_superuser or bool(roles.user_roles(user) & {roles.SALES_OPS, roles.SALES_MANAGER})
    )


def import_runs_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[ImportRun]:
    """Return the import runs the user may see, newest first, with who started each.

    Each run also carries its scoring run, whose status the import list shows.
    """
    runs = ImportRun.objects.select_related("created_by", "segmentation_run").order_by(
        "-created_at", "-id"
    )
    if may_see_all_imports(user):
        return runs
    if not user.is_authenticated:
        return runs.none()
    return runs.filter(created_by=user)


def saved_mappings_for(header: list[str], user: AbstractBaseUser) -> list[ImportMapping]:
    """Return the saved mappings of files with these columns: the user's own first."""
    from .workspace import header_signature

    mappings = list(
        ImportMapping.objects.filter(header_signature=header_signature(header)).select_related(
            "created_by"
        )
    )
    mappings.sort(
        key=lambda mapping: (mapping.created_by_id != user.pk, -mapping.updated_at.timestamp())
    )
    return mappings


# Statuses that leave a mandatory field unconfirmed, which the monthly audit reports as a
# skipped step when a person tags the account.
UNCONFIRMED_STATUSES = (verification.SINGLE_SOURCE, verification.CONFLICTING)


def unconfirmed_mandatory_fields(field_status: Any) -> list[tuple[str, str]]:
    """Return (field, status) for each mandatory field that a second source has not confirmed."""
    statuses = field_status if isinstance(field_status, dict) else {}
    unconfirmed = []
    for name in verification.MANDATORY_FIELDS:
        status = (statuses.get(name) or {}).get("status")
        if status in UNCONFIRMED_STATUSES:
            unconfirmed.append((name, status))
    return unconfirmed


def unconfirmed_field_texts(field_status: Any) -> list[str]:
    """Return the label and status of each unconfirmed mandatory field, for people to read.

    For example "company size (single source)", in the tag form's warning and in audit
    findings, which must not show keys such as company_size.
    """
    return [
        f"{verification.FIELD_LABELS.get(name, name.replace('_', ' '))} "
        f"({status.replace('_', ' ')})"
        for name, status in unconfirmed_mandatory_fields(field_status)
    ]
