"""Impact preview: what approving a framework version would change, without writing.

The preview scores every account with the version in a dry run, batch by batch, and
keeps counts plus the top N movers in a heap, so memory stays flat for any number of
accounts. It uses the same scoring and comparison as a real run (``accounts_segment``),
so approving the version on the same data moves exactly the accounts it counts.

The page (``segmentation.views``) and ``manage.py resegment --dry-run`` both show what
``framework_preview_settings`` and ``framework_impact_preview`` return, so the two always
report the same warnings, settings and counts.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, Subquery

from accounts.models import Account

from .diff import SettingChange, framework_settings_diff
from .engine import Evaluation
from .lifecycle import framework_outdated_reason
from .models import Framework, FrameworkStatus, ScoreRecord
from .services import (
    _SCORE_INDEX,
    _TAG_INDEX,
    _TIER_INDEX,
    NO_TIER,
    SegmentationSummary,
    accounts_segment,
)
from .validation import placement_warnings

DEFAULT_TOP_MOVERS = 20
TIER_ORDER = ("high", "medium", "low", NO_TIER)
TIER_LABELS = {"high": "High", "medium": "Medium", "low": "Low", NO_TIER: "No tier"}


@dataclass
class Mover:
    """One account whose result changes, with the old and new result side by side."""

    account_id: int
    name: str
    old_score: int | None
    new_score: int | None
    old_tier: str
    new_tier: str
    old_tag: str
    new_tag: str
    old_explanation: list[dict[str, Any]]
    new_explanation: list[dict[str, Any]]

    @property
    def delta(self) -> int:
        return (self.new_score or 0) - (self.old_score or 0)


# Rank of each tier, so a tier jump is the difference of two ranks. Low to High is 2,
# and an account that gains or loses its tier moves by the rank of the other tier.
TIER_RANKS = {"high": 3, "medium": 2, "low": 1, "": 0}
# Number of leading fields of a heap entry that order it.
_RANK_FIELDS = 3


def tier_jump(old_tier: str | None, new_tier: str | None) -> int:
    """Return how many tiers an account moves, whatever the direction."""
    return abs(TIER_RANKS.get(new_tier or "", 0) - TIER_RANKS.get(old_tier or "", 0))


class TopMovers:
    """Keep the ``size`` accounts that move most, in a bounded heap.

    Accounts that change tier come first, the largest tier jump first, and then the
    largest score change.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[int, int, int, tuple, Evaluation]] = []

    def offer(self, row: tuple, evaluation: Evaluation) -> None:
        if self.size <= 0:
            return
        old_score = row[_SCORE_INDEX]
        old_tier = row[_TIER_INDEX]
        delta = abs((evaluation.score or 0) - (old_score or 0))
        # Ties go to the lower account id, so the list is stable between runs.
        entry = (
            tier_jump(old_tier, evaluation.tier),
            delta,
            -row[0],
            (row[0], old_score, old_tier, row[_TAG_INDEX]),
            evaluation,
        )
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        elif entry[:_RANK_FIELDS] > self._heap[0][:_RANK_FIELDS]:
            heapq.heapreplace(self._heap, entry)

    def movers(self) -> list[Mover]:
        """Return the kept accounts, in rank order, with names and old explanations.

        Runs two queries whatever the number of movers.
        """
        entries = sorted(self._heap, key=lambda entry: entry[:_RANK_FIELDS], reverse=True)
        ids = [entry[_RANK_FIELDS][0] for entry in entries]
        latest = ScoreRecord.objects.filter(account=OuterRef("pk")).order_by("-created_at", "-id")
        accounts = {
            account.pk: account
            for account in Account.objects.filter(pk__in=ids)
            .only("id", "name")
            .annotate(latest_record_id=Subquery(latest.values("id")[:1]))
        }
        record_ids = [account.latest_record_id for account in accounts.values()]
        explanations = dict(
            ScoreRecord.objects.filter(pk__in=[pk for pk in record_ids if pk]).values_list(
                "account_id", "explanation"
            )
        )
        result = []
        for *_rank, (account_id, old_score, old_tier, old_tag), evaluation in entries:
            account = accounts.get(account_id)
            result.append(
                Mover(
                    account_id=account_id,
                    name=account.name if account else f"Account {account_id}",
                    old_score=old_score,
                    new_score=evaluation.score,
                    old_tier=old_tier or "",
                    new_tier=evaluation.tier,
                    old_tag=old_tag or "",
                    new_tag=evaluation.tag,
                    old_explanation=explanations.get(account_id) or [],
                    new_explanation=list(evaluation.explanation),
                )
            )
        return result


def tier_matrix(tiers: dict[str, dict[str, int]]) -> list[tuple[str, list[int]]]:
    """Turn {old tier: {new tier: accounts}} into rows in TIER_ORDER, "none" for no tier."""
    return [
        (
            TIER_LABELS[old_tier],
            [tiers.get(old_tier, {}).get(new_tier, 0) for new_tier in TIER_ORDER],
        )
        for old_tier in TIER_ORDER
    ]


def tag_changes(gained: dict[str, int], lost: dict[str, int]) -> list[tuple[str, int, int]]:
    """Return (tag, accounts gaining it, accounts losing it), most changed first."""
    rows = [(tag, gained.get(tag, 0), lost.get(tag, 0)) for tag in set(gained) | set(lost)]
    rows.sort(key=lambda row: (-(row[1] + row[2]), row[0]))
    return rows


@dataclass
class ImpactPreview:
    """The changes approving a version would make, counted over every account."""

    framework: Framework
    summary: SegmentationSummary
    movers: list[Mover] = field(default_factory=list)

    def tier_matrix(self) -> list[tuple[str, list[int]]]:
        """Return rows (old tier label, accounts per new tier in TIER_ORDER)."""
        return tier_matrix(self.summary.tiers)

    def tag_changes(self) -> list[tuple[str, int, int]]:
        """Return (tag, accounts gaining it, accounts losing it), most changed first."""
        return tag_changes(self.summary.tags_gained, self.summary.tags_lost)


def framework_impact_preview(
    framework: Framework,
    *,
    top: int = DEFAULT_TOP_MOVERS,
    batch_size: int | None = None,
) -> ImpactPreview:
    """Score every account with ``framework`` in a dry run and return what would change.

    Writes nothing. ``top`` sets how many of the accounts that move most (the largest
    tier jump, then the largest score change) are kept with both explanations. Raises
    FrameworkError for an invalid version.
    """
    movers = TopMovers(top)
    summary = accounts_segment(
        framework=framework,
        dry_run=True,
        batch_size=batch_size,
        movers=movers,
    )
    return ImpactPreview(framework=framework, summary=summary, movers=movers.movers())


# The version's settings.


def _active_framework_other_than(framework: Framework) -> Framework | None:
    return (
        Framework.objects.filter(status=FrameworkStatus.APPROVED).exclude(pk=framework.pk).first()
    )


@dataclass
class PreviewSettings:
    """Warnings and settings diff of a version, shown before any account is scored."""

    framework: Framework
    # The approved version other than ``framework``, or None.
    active_framework: Framework | None
    # The reason that approving the version could undo the active version's changes, or "".
    outdated: str
    placement_warnings: list[str]
    # Settings that differ from the active version's. Empty without an active version.
    setting_changes: list[SettingChange]


def framework_preview_settings(framework: Framework) -> PreviewSettings:
    """Return the warnings and the settings diff that the preview shows for ``framework``."""
    active = _active_framework_other_than(framework)
    return PreviewSettings(
        framework=framework,
        active_framework=active,
        outdated=framework_outdated_reason(framework),
        placement_warnings=placement_warnings(framework),
        setting_changes=framework_settings_diff(framework, active) if active else [],
    )
