"""Read queries of the enrichment app: the enrichment queue, verification counts and runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When

from accounts import roles
from accounts.models import Account, VerificationStatus
from accounts.permissions import researchable_accounts

from . import verification as rules
from .models import EnrichmentRun, EnrichmentRunItem, Observation

# Accounts read per query when the queue is iterated.
QUEUE_ITERATION_CHUNK = 500


@dataclass(frozen=True)
class QueueEntry:
    """An account in the enrichment queue and why it is there, one sentence per field."""

    account: Account
    reasons: list[str]


class EnrichmentQueue:
    """The accounts that need enrichment or a person's decision, as a lazy sequence.

    Slicing reads one page of accounts and returns QueueEntry objects, so Django's
    Paginator can page through the queue. ``accounts`` is the ordered queryset.
    """

    def __init__(self, accounts: QuerySet[Account]) -> None:
        self.accounts = accounts

    def count(self) -> int:
        return self.accounts.count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> QueueEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[QueueEntry]: ...

    def __getitem__(self, index: int | slice) -> QueueEntry | list[QueueEntry]:
        if isinstance(index, slice):
            return [_entry(account) for account in self.accounts[index]]
        return _entry(self.accounts[index])

    def __iter__(self) -> Iterator[QueueEntry]:
        for account in self.accounts.iterator(chunk_size=QUEUE_ITERATION_CHUNK):
            yield _entry(account)


def _entry(account: Account) -> QueueEntry:
    return QueueEntry(account, rules.queue_reasons(account.field_status or {}))


def enrichment_queue(
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> EnrichmentQueue:
    """Return the accounts whose verification status is not verified, with the reasons.

    Conflicting accounts come first, then the unverified ones; within each, the higher
    score first and accounts without a score last, then by name. With ``user`` the queue
    holds only the accounts that user may research.
    """
    accounts = Account.objects.exclude(verification_status=VerificationStatus.VERIFIED)
    if user is not None:
        accounts = researchable_accounts(user, accounts)
    accounts = (
        accounts.select_related("industry", "owner")
        .annotate(
            queue_rank=Case(
                When(verification_status=VerificationStatus.CONFLICTING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("queue_rank", F("score").desc(nulls_last=True), "name", "id")
    )
    return EnrichmentQueue(accounts)


def verification_counts(accounts: QuerySet[Account] | None = None) -> dict[str, dict[str, int]]:
    """Count the accounts per verified field and status in one query.

    Returns ``{"industry": {"verified": 12, "conflicting": 3, ...}, ...,
    "account": {"verified": ..., "unverified": ..., "conflicting": ...}}``. Accounts never
    verified have no entry for a field and are not counted under it.
    """
    accounts = Account.objects.all() if accounts is None else accounts
    statuses = (
        rules.VERIFIED,
        rules.SINGLE_SOURCE,
        rules.CONFLICTING,
        rules.MISSING,
        rules.ACCEPTED,
    )
    aggregates: dict[str, Any] = {}
    for name in rules.VERIFIED_FIELDS:
        for status in statuses:
            lookup = {f"field_status__{name}__status": status}
            aggregates[f"{name}__{status}"] = Count("id", filter=Q(**lookup))
    for status in VerificationStatus.values:
        aggregates[f"account__{status}"] = Count("id", filter=Q(verification_status=status))
    counts: dict[str, dict[str, int]] = {}
    for key, value in accounts.aggregate(**aggregates).items():
        name, status = key.split("__", 1)
        counts.setdefault(name, {})[status] = value
    return counts


def account_observations(account: Account, field: str | None = None) -> QuerySet[Observation]:
    """Return the account's observations, newest first, with the person who entered each."""
    observations = Observation.objects.filter(account=account).select_related("entered_by")
    if field is not None:
        observations = observations.filter(field=field)
    return observations.order_by("field", "-observed_at", "-id")


def enrichment_runs_recent(limit: int = 20) -> QuerySet[EnrichmentRun]:
    """Return the newest enrichment runs with the user who started each."""
    return EnrichmentRun.objects.select_related("triggered_by").order_by("-created_at", "-id")[
        :limit
    ]


def may_see_all_enrichment_runs(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return True when the user sees every run: Sales Ops, Sales Managers and superusers.

    Others see the runs they started. The rule is the one of the Imports page.
    """
    return user.is_authenticated and (
        user.is_superuser or bool(roles.user_roles(user) & {roles.SALES_OPS, roles.SALES_MANAGER})
    )


def enrichment_runs_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[EnrichmentRun]:
    """Return the enrichment runs the user may see, newest first, with who started each."""
    runs = EnrichmentRun.objects.select_related("triggered_by").order_by("-created_at", "-id")
    if may_see_all_enrichment_runs(user):
        return runs
    if not user.is_authenticated:
        return runs.none()
    return runs.filter(triggered_by=user)


def enrichment_run_failures(run: EnrichmentRun) -> QuerySet[EnrichmentRunItem]:
    """Return the run's failed accounts in the order they were added, with each account."""
    return (
        EnrichmentRunItem.objects.filter(run=run, status=EnrichmentRunItem.Status.FAILED)
        .select_related("account")
        .order_by("id")
    )
