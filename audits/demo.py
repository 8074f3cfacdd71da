"""Demo data for the governance pages: one known case of every audit rule, and training.

``plant_demo_violations`` changes a few existing demo accounts (``source="demo"``) so that
the monthly audit of ``month`` finds exactly the planted violations. It also records a
small manager review in that month and training records of the reps, some overdue.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import roles
from accounts.models import Account, ResearchNote, SegmentOverride, Tier
from accounts.research import account_segment_override
from enrichment.models import Observation
from enrichment.services import account_observed_value, accounts_verify
from segmentation.bulk import results_write
from segmentation.engine import ROW_FIELDS, CompiledFramework, Evaluation
from segmentation.models import Industry, ScoreRecord
from segmentation.selectors import framework_get_active

from . import rules
from .models import ReviewItem, ReviewSession, TrainingRecord, ViolationKind
from .periods import local_today, month_period

logger = logging.getLogger(__name__)

# Demo accounts changed: one clean control account and nine planted cases.
ACCOUNTS_NEEDED = 10
DEMO_SOURCE = "demo"
# The second source whose observations confirm or contradict the demo import's values.
SECOND_SOURCE = "apollo"
# Observation field of each mandatory field.
OBSERVED_FIELDS = {"industry": "industry", "company_size": "employees", "country": "location"}


def _moment(month: date) -> datetime:
    """Return the middle of ``month`` in the team's time zone: safely inside it."""
    period = month_period(month)
    return period.start + (period.end - period.start) / 2


def _raw_text(field_name: str, value: dict[str, Any]) -> str:
    """Return the value as a source's file would show it, such as "London, GB"."""
    if field_name == "industry":
        return value["label"]
    if field_name == "employees":
        return str(value["count"])
    return ", ".join(part for part in (value["city"], value["region"], value["country"]) if part)


def _contradiction(field_name: str, value: dict[str, Any]) -> dict[str, Any]:
    """Return a value of the field that disagrees with ``value``."""
    if field_name == "industry":
        other = Industry.objects.exclude(pk=value["industry_id"]).order_by("name").first()
        if other is None:
            raise ValueError(
                "Only one industry exists, so no conflicting industry can be planted: add "
                "another industry in the admin."
            )
        return {"industry_id": other.pk, "label": other.name}
    if field_name == "employees":
        count = value["count"] * 20 + 1000
        return {"count": count, "min": count, "max": count, "approximate": False}
    country = "JP" if value["country"] != "JP" else "BR"
    return {"country": country, "region": "", "city": ""}


class _Planter:
    def __init__(self, month: date) -> None:
        self.month = month
        self.when = _moment(month)
        self.framework = framework_get_active()
        self.compiled = CompiledFramework.compile(self.framework)
        self.planted: list[tuple[int, str]] = []

    def evaluate(self, account: Account) -> Evaluation:
        account.refresh_from_db()
        return self.compiled.evaluate(tuple(getattr(account, name) for name in ROW_FIELDS))

    def observe(self, account: Account, statuses: dict[str, str]) -> None:
        """Record sources for the mandatory fields that give each one ``statuses``' status.

        A verified field gets the demo import's value from a second source as well, a
        conflicting one a different value from it, a single-source field only the demo
        import's value and a missing one no value. Fields not named are verified.
        """
        account.refresh_from_db()
        fields = list(OBSERVED_FIELDS.values())
        Observation.objects.filter(account=account, field__in=fields).delete()
        observations = []
        for status_name, field_name in OBSERVED_FIELDS.items():
            status = statuses.get(status_name, "verified")
            value = account_observed_value(account, field_name)
            if value is None or status == "missing":
                continue
            sources = [(DEMO_SOURCE, value)]
            if status == "verified":
                sources.append((SECOND_SOURCE, value))
            elif status == "conflicting":
                sources.append((SECOND_SOURCE, _contradiction(field_name, value)))
            observations.extend(
                Observation(
                    account=account,
                    field=field_name,
                    value=source_value,
                    raw_value=_raw_text(field_name, source_value),
                    source=source,
                    source_detail="demo data",
                    observed_at=self.when,
                )
                for source, source_value in sources
            )
        Observation.objects.bulk_create(observations)
        accounts_verify(account_ids=[account.pk])

    def score(self, account: Account) -> Evaluation:
        """Score the account and store the result through the normal write path.

        The account's earlier ScoreRecords are dropped. The demo import wrote them after
        the month, so they would stay the latest and explain another result than the one
        stored here, which is dated inside the month.
        """
        evaluation = self.evaluate(account)
        ScoreRecord.objects.filter(account=account).delete()
        results_write(
            [(account.pk, evaluation)],
            items=self.compiled.take_new_items(),
            framework_id=self.framework.pk,
            run_id=None,
            now=self.when,
        )
        account.refresh_from_db()
        return evaluation

    def settle(self, account: Account, **statuses: str) -> Evaluation:
        """Record the sources of the mandatory fields, then score the account in the month.

        ``statuses`` gives the verification status of mandatory fields that are not
        verified, such as ``industry="conflicting"``, and observations back each status.
        Scoring follows verification, as after an import or an enrichment, so the
        result and its explanation describe the values the account shows.
        """
        self.observe(account, statuses)
        return self.score(account)

    def note(self, account: Account) -> None:
        note = ResearchNote.objects.create(
            account=account,
            kind=ResearchNote.Kind.FUNDING,
            text="Raised a Series B to expand its sales team.",
            author=account.owner,
        )
        ResearchNote.objects.filter(pk=note.pk).update(created_at=self.when)

    def override(
        self,
        account: Account,
        user: Any,
        kind: str,
        reason: str,
        *,
        earlier: timedelta = timedelta(0),
        **values: str,
    ):
        """Record a tag or tier change dated ``earlier`` before ``when``.

        A review reads who set a tag from the changes dated before the review, so a tag
        that a review corrects is set ``earlier``.
        """
        override = account_segment_override(
            account=account, user=user, kind=kind, reason=reason, **values
        )
        SegmentOverride.objects.filter(pk=override.pk).update(created_at=self.when - earlier)
        # The override's ScoreRecord follows the one score() wrote at the same moment,
        # and its higher id keeps it the latest.
        ScoreRecord.objects.filter(account=account, created_at__gt=self.when).update(
            created_at=self.when
        )
        account.refresh_from_db()
        return override

    def date_in_month(self, accounts: list[Account]) -> None:
        """Date the accounts' creation and every change made to them here at ``when``.

        The audit reads an account's values at the month's end and leaves out accounts
        created after it, so the demo import's creation and the history rows and
        ``updated_at`` written while planting move into the month.
        """
        ids = [account.pk for account in accounts]
        Account.objects.filter(pk__in=ids, created_at__gt=self.when).update(created_at=self.when)
        Account.objects.filter(pk__in=ids).update(updated_at=self.when)
        Account.history.filter(id__in=ids, history_date__gt=self.when).update(
            history_date=self.when
        )

    def expect(self, account: Account, *codes: str) -> None:
        self.planted.extend((account.pk, code) for code in codes)


def _other_size_tag(planter: _Planter, account: Account, evaluation: Evaluation) -> str:
    """Return a tag of the framework's template that names another size band."""
    bands = [band.name for band in planter.compiled.size_bands]
    others = [name for name in bands if name != evaluation.size_band]
    tag = planter.framework.tag_template.format(
        industry=planter.compiled.industry_names.get(account.industry_id, ""),
        size_band=others[0] if others else evaluation.size_band,
        geography=evaluation.geography,
        country=account.country.upper(),
        tier=Tier(evaluation.tier).label if evaluation.tier else "",
    )
    if tag == evaluation.tag:
        raise ValueError(
            f"Tag template {planter.framework.tag_template!r} with size bands {bands} gives "
            "no tag other than the framework's, so no mismatched tag can be planted: add "
            "{size_band} to the template or another size band to the framework."
        )
    return tag


def _other_tier(tier: str) -> str:
    return Tier.LOW if tier == Tier.HIGH else Tier.HIGH


def _correction_reason(tier: str) -> str:
    """Return a reason that fits the correction from ``tier`` to ``_other_tier(tier)``."""
    if tier == Tier.HIGH:
        return "Discovery call showed a much smaller buying team."
    return "Discovery call showed three teams with budget for it."


def _demo_accounts() -> list[Account]:
    has_size = Q(employee_count__isnull=False) | Q(annual_revenue_usd__isnull=False)
    accounts = list(
        Account.objects.filter(source=DEMO_SOURCE, owner__isnull=False, industry__isnull=False)
        .exclude(country="")
        .filter(has_size)
        .select_related("owner")
        .order_by("id")[:ACCOUNTS_NEEDED]
    )
    if len(accounts) < ACCOUNTS_NEEDED:
        raise ValueError(
            f"Found {len(accounts)} demo accounts with an owner, industry, country and size; "
            f"planting needs {ACCOUNTS_NEEDED}: load the demo data first."
        )
    return accounts


def _manager() -> Any:
    manager = (
        get_user_model()
        .objects.filter(groups__name=roles.SALES_MANAGER, is_active=True)
        .order_by("id")
        .first()
    )
    if manager is None:
        raise ValueError("No active user has the Sales Manager role: create the demo users first.")
    return manager


def _plant_accounts(planter: _Planter, accounts: list[Account], manager: Any) -> None:
    (
        clean,
        worked,
        unverified,
        conflicting,
        mismatch,
        corrected,
        rushed,
        unresearched,
        bare,
        retagged,
    ) = accounts

    # A clean account: the audit finds nothing.
    planter.settle(clean)
    planter.note(clean)

    # Worked without an industry.
    Account.objects.filter(pk=worked.pk).update(industry=None, industry_raw="")
    planter.settle(worked, industry="missing")
    planter.note(worked)
    planter.expect(worked, rules.INCOMPLETE_WORKED)

    # Segmented by the engine on data that a second source has not confirmed.
    planter.settle(unverified, company_size="single_source")
    planter.note(unverified)
    planter.expect(unverified, rules.UNVERIFIED_NOT_VERIFIED)

    # The engine tags no account whose sources conflict, so the rep tagged it by hand
    # while they disagreed, with the tag the framework gave before the conflict.
    before = planter.evaluate(conflicting)
    planter.settle(conflicting, industry="conflicting")
    planter.note(conflicting)
    planter.override(
        conflicting,
        conflicting.owner,
        SegmentOverride.Kind.MANUAL_TAG,
        "Tagged from the industry on the prospect's website.",
        tag=before.tag,
    )
    planter.expect(conflicting, rules.UNVERIFIED_CONFLICTING, rules.SKIPPED_VERIFICATION)

    # The rep tagged the account with another size band than the framework gives.
    expected = planter.settle(mismatch)
    planter.note(mismatch)
    planter.override(
        mismatch,
        mismatch.owner,
        SegmentOverride.Kind.MANUAL_TAG,
        "Sized from the prospect's website.",
        tag=_other_size_tag(planter, mismatch, expected),
    )
    planter.expect(mismatch, rules.MISCLASSIFIED_FRAMEWORK)

    # A manager corrected in a review the tier that the framework computed.
    planter.settle(corrected)
    planter.note(corrected)
    correction = planter.override(
        corrected,
        manager,
        SegmentOverride.Kind.REVIEW_CORRECTION,
        _correction_reason(corrected.tier),
        tier=_other_tier(corrected.tier),
    )
    planter.expect(corrected, rules.MISCLASSIFIED_FRAMEWORK_TAG)

    # The rep tagged the account with another size band than the framework gives, and a
    # manager corrected the tag in a review.
    expected = planter.settle(retagged)
    planter.note(retagged)
    planter.override(
        retagged,
        retagged.owner,
        SegmentOverride.Kind.MANUAL_TAG,
        "Sized from the prospect's website.",
        earlier=timedelta(days=1),
        tag=_other_size_tag(planter, retagged, expected),
    )
    retag_correction = planter.override(
        retagged,
        manager,
        SegmentOverride.Kind.REVIEW_CORRECTION,
        "The discovery call confirmed the size in the profile.",
        tag=expected.tag,
    )
    planter.expect(retagged, rules.MISCLASSIFIED_REVIEW)

    confirmation = planter.override(
        clean,
        manager,
        SegmentOverride.Kind.REVIEW_CONFIRMATION,
        "Confirmed in manager review.",
    )
    _plant_review(
        planter,
        manager,
        [(clean, confirmation), (corrected, correction), (retagged, retag_correction)],
    )

    # The rep set the segment by hand before the country was confirmed.
    planter.settle(rushed, country="single_source")
    planter.note(rushed)
    planter.override(
        rushed,
        rushed.owner,
        SegmentOverride.Kind.MANUAL_TAG,
        "Tagged from the prospect's website.",
        tag=rushed.tag,
    )
    planter.expect(rushed, rules.SKIPPED_VERIFICATION, rules.UNVERIFIED_NOT_VERIFIED)

    # Validated as a High fit without any research note.
    planter.settle(unresearched)
    planter.override(
        unresearched,
        unresearched.owner,
        SegmentOverride.Kind.FIT_VALIDATION,
        "Strong fit after the discovery call.",
        tier=Tier.HIGH,
    )
    planter.expect(unresearched, rules.SKIPPED_RESEARCH)

    # Tagged by hand although the country is unknown.
    Account.objects.filter(pk=bare.pk).update(country="", region="", city="")
    planter.settle(bare, country="missing")
    planter.note(bare)
    planter.override(
        bare,
        bare.owner,
        SegmentOverride.Kind.MANUAL_TAG,
        "Looks like our usual customer.",
        tag="SaaS – Mid-Market – US",
    )
    planter.expect(
        bare,
        rules.INCOMPLETE_TAGGED,
        rules.MISCLASSIFIED_FRAMEWORK,
        rules.UNVERIFIED_NOT_VERIFIED,
    )


def _plant_review(planter: _Planter, manager: Any, decided: list[tuple[Account, Any]]) -> None:
    period = month_period(planter.month)
    session = ReviewSession.objects.create(
        manager=manager,
        period_start=period.first_day,
        period_end=period.last_day,
        sample_size=len(decided),
        seed=0,
    )
    session.reps.set({account.owner_id for account, _ in decided})
    ReviewSession.objects.filter(pk=session.pk).update(created_at=planter.when)
    for position, (account, override) in enumerate(decided, start=1):
        corrected = override.kind == SegmentOverride.Kind.REVIEW_CORRECTION
        ReviewItem.objects.create(
            session=session,
            position=position,
            account=account,
            rep_id=account.owner_id,
            sampled_tag=override.old_tag,
            sampled_tier=override.old_tier,
            decision=ReviewItem.Decision.CORRECTED if corrected else ReviewItem.Decision.CONFIRMED,
            override=override,
            decided_at=planter.when,
        )


def _plant_training(reps: list[Any]) -> tuple[int, int]:
    """Record training for the reps. Returns (records created, reps made overdue)."""
    today = local_today()
    created = 0
    overdue = 0
    plans = [
        [(TrainingRecord.Kind.ONBOARDING, 400), (TrainingRecord.Kind.REFRESHER, 30)],
        [(TrainingRecord.Kind.ONBOARDING, 250)],
        [],
    ]
    for rep, plan in zip(reps, plans, strict=False):
        if plan:
            # A rep joined before their first training, so reports of past months list
            # what was overdue then.
            joined = timezone.now() - timedelta(days=plan[0][1] + 1)
            get_user_model().objects.filter(pk=rep.pk).update(date_joined=joined)
        for kind, days_ago in plan:
            _, was_created = TrainingRecord.objects.get_or_create(
                user=rep,
                kind=kind,
                completed_on=today - timedelta(days=days_ago),
                defaults={"notes": "ICP framework training (demo)."},
            )
            created += int(was_created)
        if not plan:
            # Joined 60 days ago without onboarding, so the onboarding is overdue.
            joined = timezone.now() - timedelta(days=60)
            get_user_model().objects.filter(pk=rep.pk).update(date_joined=joined)
        if len(plan) != 2:
            overdue += 1
    return created, overdue


@transaction.atomic
def plant_demo_violations(*, month: date) -> dict[str, int]:
    """Plant one known case of every audit rule in demo accounts, dated inside ``month``.

    ``month`` must be a finished month with no other demo activity, such as the month
    before the demo import, so that ``run_audit --month`` finds exactly the planted
    violations. Returns the violations planted per kind (the ViolationKind values), plus
    ``training_records`` created and ``overdue_training`` reps. Raises ValueError when
    the month has not finished, no framework is approved, or there are fewer than ten
    demo accounts with an owner, industry, country and size, or no Sales Manager.
    """
    period = month_period(month)
    if period.end > timezone.now():
        raise ValueError(
            f"Month {month:%Y-%m} has not finished: plant violations in an earlier month, "
            "such as the previous one."
        )
    planter = _Planter(month)
    accounts = _demo_accounts()
    manager = _manager()
    _plant_accounts(planter, accounts, manager)
    planter.date_in_month(accounts)

    reps = sorted({account.owner for account in accounts}, key=lambda user: user.pk)
    training_records, overdue = _plant_training(reps)

    counts = Counter(rules.RULES[code].kind for _, code in planter.planted)
    result = {kind: counts.get(kind, 0) for kind in ViolationKind.values}
    result["training_records"] = training_records
    result["overdue_training"] = overdue
    logger.info("Planted demo violations in %s: %s", f"{month:%Y-%m}", result)
    return result


__all__ = ["plant_demo_violations"]
