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
import json
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from django.db.models import OuterRef, Subquery

from accounts.models import Account

from .diff import SettingChange, framework_settings_diff
from .engine import ROW_FIELDS, Evaluation, FrameworkError
from .lifecycle import framework_outdated_reason
from .models import Framework, FrameworkStatus, ScoreRecord
from .overrides import OverrideRewritePlan, tag_override_rewrite_plan
from .services import (
    CURRENT_FIELDS,
    NO_TIER,
    SegmentationSummary,
    accounts_segment,
)
from .validation import placement_warnings

DEFAULT_TOP_MOVERS = 20
TIER_ORDER = ("high", "medium", "low", NO_TIER)
TIER_LABELS = {"high": "High", "medium": "Medium", "low": "Low", NO_TIER: "No tier"}
NO_ROUTE_LABEL = "No route"


def _current_index(name: str) -> int:
    """Return the position of an account's current result field in a scored row."""
    return len(ROW_FIELDS) + CURRENT_FIELDS.index(name)


_SCORE_INDEX = _current_index("score")
_TIER_INDEX = _current_index("tier")
_TAG_INDEX = _current_index("tag")
_ROUTE_INDEX = _current_index("route")
_SIZE_BAND_INDEX = _current_index("size_band")
_GEOGRAPHY_INDEX = _current_index("geography")
_NEEDS_ENRICHMENT_INDEX = _current_index("needs_enrichment")
_MISSING_INDEX = _current_index("missing_fields")


# What changes for an account.


class ChangeKind(NamedTuple):
    """One row of the "would change" breakdown."""

    key: str
    label: str
    # The kind of one account's change, as a mover's badge shows it.
    short_label: str
    # A longer explanation than the label, shown next to the count.
    description: str
    # Id of the part of the page that shows these accounts, or "".
    anchor: str


# Each changed account is counted once, under the first kind in CHANGE_PRECEDENCE that
# applies, so the counts add up to the accounts that would change.
TIER = ChangeKind(
    "tier",
    "Tier changes",
    "Tier",
    "The tier changes, often with the score, tag and route.",
    "preview-tier-moves",
)
TAG = ChangeKind(
    "tag",
    "Tag changes, same tier",
    "Tag",
    "The tag changes and the tier stays.",
    "preview-tags",
)
ROUTE = ChangeKind(
    "route",
    "Route changes, same tier and tag",
    "Route",
    "The route changes and the tier and tag stay.",
    "preview-routes",
)
ENRICHMENT = ChangeKind(
    "enrichment",
    "Needs-enrichment changes",
    "Needs enrichment",
    "The missing mandatory fields (industry, company size, geography) change, so the "
    "account starts or stops needing enrichment. Tier, tag and route stay.",
    "",
)
PLACEMENT = ChangeKind(
    "placement",
    "Size band or geography changes",
    "Size band or geography",
    "The size band or geography label changes. Tier, tag, route and missing fields stay.",
    "",
)
SCORE = ChangeKind(
    "score",
    "Score changes only",
    "Score only",
    "Only the score changes. Tier, tag, route, size band, geography and missing fields stay.",
    "preview-movers",
)
CHANGE_PRECEDENCE = (TIER, TAG, ROUTE, ENRICHMENT, PLACEMENT, SCORE)
# The breakdown lists the kinds that people review most first.
CHANGE_DISPLAY_ORDER = (TIER, TAG, ROUTE, SCORE, ENRICHMENT, PLACEMENT)
CHANGE_KINDS = {kind.key: kind for kind in CHANGE_PRECEDENCE}
CHANGE_COUNTING_RULE = (
    "Each account is counted once: under tier changes when its tier changes, otherwise "
    "under the first of tag, route, needs-enrichment, and size band or geography changes "
    "that applies, and under score changes only when nothing else changes. The last "
    "column counts every account with that change."
)


@dataclass(frozen=True)
class ChangeRow:
    """The accounts of one change kind: counted once each, and in total."""

    kind: ChangeKind
    # Accounts counted under this kind, so the rows add up to the accounts that change.
    accounts: int
    # Every account with this change, including those counted under an earlier kind.
    accounts_in_total: int
    # Further explanation, such as how many score changes the must-have cap makes.
    note: str = ""


@dataclass(frozen=True)
class TierRoutes:
    """Routes after approval of the accounts that change to one tier."""

    tier_label: str
    accounts: int
    # (route label, accounts), most accounts first.
    routes: list[tuple[str, int]]


# Parsed missing-field lists, by JSON text. There are few distinct lists (subsets of
# three field names), and past this many texts they are parsed for each row.
_MISSING_MEMO_SIZE = 64


class ImpactCounter:
    """Count what changes for each account that moves, and keep the top movers.

    ``accounts_segment`` passes it every account whose result changes. Only counters
    keyed by change kind, tier and route are kept, so memory stays flat.
    """

    def __init__(self, framework: Framework, top: int) -> None:
        self.top_movers = TopMovers(top)
        self.kinds: Counter[str] = Counter()
        # Accounts with each kind of change, whether or not an earlier kind counted them.
        self.kinds_in_total: Counter[str] = Counter()
        self.route_moves: Counter[tuple[str, str]] = Counter()
        # Accounts that change tier, by (new tier, new route, needs enrichment).
        self.tier_routes: Counter[tuple[str, str, bool]] = Counter()
        # Score-only changes whose new score is the must-have cap.
        self.capped_scores = 0
        self.must_have_cap = max(framework.medium_tier_min_score - 1, 0)
        self._missing_lists: dict[str, Any] = {}

    def offer(self, row: tuple, evaluation: Evaluation) -> None:
        # The same fields that accounts_segment compares, so a moved account always has
        # at least one change and the kinds add up to the moved accounts.
        old_tier = row[_TIER_INDEX]
        old_route = row[_ROUTE_INDEX]
        changed = (
            old_tier != evaluation.tier,
            row[_TAG_INDEX] != evaluation.tag,
            old_route != evaluation.route,
            row[_NEEDS_ENRICHMENT_INDEX] != evaluation.needs_enrichment
            or self._missing(row[_MISSING_INDEX]) != evaluation.missing_fields,
            row[_SIZE_BAND_INDEX] != evaluation.size_band
            or row[_GEOGRAPHY_INDEX] != evaluation.geography,
            row[_SCORE_INDEX] != evaluation.score,
        )
        kind = SCORE
        for candidate, differs in zip(CHANGE_PRECEDENCE, changed, strict=True):
            if differs:
                kind = candidate
                break
        self.kinds[kind.key] += 1
        for candidate, differs in zip(CHANGE_PRECEDENCE, changed, strict=True):
            if differs:
                self.kinds_in_total[candidate.key] += 1

        if old_route != evaluation.route:
            self.route_moves[(old_route or "", evaluation.route or "")] += 1
        if kind is TIER:
            key = (evaluation.tier or "", evaluation.route or "", evaluation.needs_enrichment)
            self.tier_routes[key] += 1
        elif kind is SCORE and evaluation.score == self.must_have_cap and _capped(evaluation):
            self.capped_scores += 1
        self.top_movers.offer(row, evaluation, kind.key)

    def _missing(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        parsed = self._missing_lists.get(text)
        if parsed is None:
            parsed = json.loads(text)
            if len(self._missing_lists) < _MISSING_MEMO_SIZE:
                self._missing_lists[text] = parsed
        return parsed


def _capped(evaluation: Evaluation) -> bool:
    """Return whether a failed must-have criterion caps the evaluation's score."""
    return any(judgement.scoring.must_have_failed for judgement in evaluation.judgements)


# The accounts that move most.


class ExplanationPair(NamedTuple):
    """One explanation item now and after approval, or None where only one side has it."""

    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        return self.old != self.new


def _item_key(item: Any) -> tuple[str, str]:
    if isinstance(item, dict):
        return (str(item.get("dimension") or ""), str(item.get("label") or ""))
    return ("", str(item))


def explanation_pairs(old: list[Any], new: list[Any]) -> list[ExplanationPair]:
    """Pair the items of two explanations by criterion (dimension and label).

    Pairs follow the new explanation's order. Old items without a partner, such as a
    removed criterion or a manager's note, follow in their own order.
    """
    unpaired: defaultdict[tuple[str, str], deque[int]] = defaultdict(deque)
    for index, item in enumerate(old):
        unpaired[_item_key(item)].append(index)
    paired: set[int] = set()
    pairs = []
    for item in new:
        waiting = unpaired.get(_item_key(item))
        if waiting:
            index = waiting.popleft()
            paired.add(index)
            pairs.append(ExplanationPair(old[index], item))
        else:
            pairs.append(ExplanationPair(None, item))
    pairs += [ExplanationPair(item, None) for index, item in enumerate(old) if index not in paired]
    return pairs


def explanation_text(item: Any) -> str:
    """Return an explanation item's sentence, or its label when it has none."""
    if item is None:
        return "(not listed)"
    if not isinstance(item, dict):
        return str(item)
    return str(item.get("reason") or item.get("label") or "-")


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
    # Key of the account's ChangeKind, such as "tier".
    change: str = ""

    @property
    def delta(self) -> int:
        return (self.new_score or 0) - (self.old_score or 0)

    @property
    def change_kind(self) -> ChangeKind | None:
        return CHANGE_KINDS.get(self.change)

    @cached_property
    def explanation_pairs(self) -> list[ExplanationPair]:
        return explanation_pairs(self.old_explanation, self.new_explanation)

    @property
    def changed_pairs(self) -> list[ExplanationPair]:
        return [pair for pair in self.explanation_pairs if pair.changed]

    @property
    def unchanged_items(self) -> list[dict[str, Any]]:
        return [pair.new for pair in self.explanation_pairs if not pair.changed]

    @property
    def table_rows(self) -> int:
        """Return the number of table rows that the page gives the account.

        Each changed item gets a row (at least one row), and the unchanged items one more.
        """
        return max(len(self.changed_pairs), 1) + (1 if self.unchanged_items else 0)

    @property
    def same_reasons_text(self) -> str:
        """Explain a move whose explanation items all stay the same."""
        if self.old_tier != self.new_tier and self.old_score == self.new_score:
            return (
                "Every reason and the score stay the same. The tier changes because the "
                "version's tier cut-offs differ."
            )
        return (
            "Every reason stays the same. The change comes from the version's settings, "
            "such as cut-offs, routes, the tag template, size bands or the geography map."
        )


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
    largest score change, whatever its direction.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[int, int, int, tuple, Evaluation]] = []

    def offer(self, row: tuple, evaluation: Evaluation, change: str = "") -> None:
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
            (row[0], old_score, old_tier, row[_TAG_INDEX], change),
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
        for *_rank, (account_id, old_score, old_tier, old_tag, change), evaluation in entries:
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
                    change=change,
                )
            )
        return result


# Tables of the preview.


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


# Tags listed before the others fold under a disclosure, so that a run or preview that
# moves hundreds of tags keeps the page short.
TAG_ROWS_SHOWN = 20


@dataclass(frozen=True)
class TagChangeTable:
    """Tags gained and lost: the most changed first, the others folded, with totals."""

    top: list[tuple[str, int, int]]
    rest: list[tuple[str, int, int]]
    gained_total: int
    lost_total: int

    @property
    def tag_count(self) -> int:
        return len(self.top) + len(self.rest)


def tag_change_table(
    gained: dict[str, int], lost: dict[str, int], shown: int = TAG_ROWS_SHOWN
) -> TagChangeTable:
    """Return the tag changes split after the ``shown`` most changed tags."""
    rows = tag_changes(gained, lost)
    return TagChangeTable(
        top=rows[:shown],
        rest=rows[shown:],
        gained_total=sum(gained.values()),
        lost_total=sum(lost.values()),
    )


def route_label(route: str) -> str:
    return route or NO_ROUTE_LABEL


@dataclass
class ImpactPreview:
    """The changes approving a version would make, counted over every account."""

    framework: Framework
    summary: SegmentationSummary
    movers: list[Mover] = field(default_factory=list)
    counts: ImpactCounter | None = None
    # The approved version other than ``framework``, which notes compare with, or None.
    active_framework: Framework | None = None

    def tier_matrix(self) -> list[tuple[str, list[int]]]:
        """Return rows (old tier label, accounts per new tier in TIER_ORDER)."""
        return tier_matrix(self.summary.tiers)

    def tag_changes(self) -> list[tuple[str, int, int]]:
        """Return (tag, accounts gaining it, accounts losing it), most changed first."""
        return tag_changes(self.summary.tags_gained, self.summary.tags_lost)

    def tag_change_table(self) -> TagChangeTable:
        """Return the tag changes as the preview page shows them."""
        return tag_change_table(self.summary.tags_gained, self.summary.tags_lost)

    def change_rows(self) -> list[ChangeRow]:
        """Return the "would change" breakdown, whose accounts add up to summary.moved."""
        counts = self.counts or ImpactCounter(self.framework, 0)
        rows = []
        for kind in CHANGE_DISPLAY_ORDER:
            note = ""
            if kind is SCORE and counts.capped_scores:
                note = self._capped_note(counts)
            rows.append(
                ChangeRow(
                    kind=kind,
                    accounts=counts.kinds[kind.key],
                    accounts_in_total=counts.kinds_in_total[kind.key],
                    note=note,
                )
            )
        return rows

    def _capped_note(self, counts: ImpactCounter) -> str:
        caps = f"{counts.must_have_cap} in v{self.framework.version}"
        active = self.active_framework
        cap_moved = False
        if active is not None:
            active_cap = max(active.medium_tier_min_score - 1, 0)
            cap_moved = active_cap != counts.must_have_cap
            if cap_moved:
                caps += f" and {active_cap} in v{active.version}"
        note = (
            f"Held at the must-have cap: {counts.capped_scores:,}. A failed must-have "
            f"criterion caps the score at the Medium minimum minus 1, which is {caps}"
        )
        if cap_moved:
            return f"{note}, so the new Medium minimum moves these scores and not their tier."
        return f"{note}."

    def route_moves(self) -> list[tuple[str, str, int]]:
        """Return (route now, route after, accounts) for every route change, most first."""
        if self.counts is None:
            return []
        rows = [
            (route_label(old), route_label(new), count)
            for (old, new), count in self.counts.route_moves.items()
        ]
        rows.sort(key=lambda row: (-row[2], row[0], row[1]))
        return rows

    def tier_routes(self) -> list[TierRoutes]:
        """Return, per new tier, the routes of the accounts that change to that tier.

        An account without a route is counted by the reason: it needs enrichment (a
        mandatory field is missing), its tier has no route in this version, or it has no
        tier.
        """
        if self.counts is None:
            return []
        by_tier: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for (tier, route, needs_enrichment), count in self.counts.tier_routes.items():
            by_tier[tier or NO_TIER][self._route_reason(tier, route, needs_enrichment)] += count
        return [
            TierRoutes(
                tier_label=TIER_LABELS[tier],
                accounts=sum(by_tier[tier].values()),
                routes=sorted(by_tier[tier].items(), key=lambda item: (-item[1], item[0])),
            )
            for tier in TIER_ORDER
            if tier in by_tier
        ]

    def _route_reason(self, tier: str, route: str, needs_enrichment: bool) -> str:
        if route:
            return route
        if needs_enrichment:
            return f"{NO_ROUTE_LABEL}: needs enrichment (a mandatory field is missing)"
        if tier:
            return f"{NO_ROUTE_LABEL}: v{self.framework.version} gives {TIER_LABELS[tier]} no route"
        return f"{NO_ROUTE_LABEL}: no tier"


def framework_impact_preview(
    framework: Framework,
    *,
    top: int = DEFAULT_TOP_MOVERS,
    batch_size: int | None = None,
) -> ImpactPreview:
    """Score every account with ``framework`` in a dry run and return what would change.

    Writes nothing. ``top`` sets how many of the accounts that move most (the largest
    tier jump, then the largest score change) are kept with both explanations. Tag
    overrides that approval would rewrite in a new tag template are scored rewritten.
    Raises FrameworkError for an invalid version.
    """
    counts = ImpactCounter(framework, top)
    summary = accounts_segment(
        framework=framework,
        dry_run=True,
        batch_size=batch_size,
        movers=counts,
        tag_overrides=_rewritten_tag_overrides(framework),
    )
    return ImpactPreview(
        framework=framework,
        summary=summary,
        movers=counts.top_movers.movers(),
        counts=counts,
        active_framework=_active_framework_other_than(framework),
    )


def _rewritten_tag_overrides(framework: Framework) -> dict[int, str]:
    """Return the tag overrides that approving ``framework`` rewrites, by account id.

    Approval rewrites them before its run scores the accounts, and the run then moves
    each account to its rewritten tag, so the preview scores them with the new spelling.
    """
    active = _active_framework_other_than(framework)
    if active is None:
        return {}
    plan = tag_override_rewrite_plan(active, framework)
    if plan is None:
        return {}
    return {item.account_id: item.new_tag for item in plan.rewrites}


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
    # People's tag overrides that approval rewrites in a changed tag template, or None
    # when the template stays (or no version is active).
    override_rewrites: OverrideRewritePlan | None = None


def framework_preview_settings(framework: Framework) -> PreviewSettings:
    """Return the warnings and the settings diff that the preview shows for ``framework``."""
    active = _active_framework_other_than(framework)
    override_rewrites = None
    if active is not None:
        try:
            override_rewrites = tag_override_rewrite_plan(active, framework)
        except FrameworkError:
            # The results request reports the version's error when it scores.
            override_rewrites = None
    return PreviewSettings(
        framework=framework,
        active_framework=active,
        outdated=framework_outdated_reason(framework),
        placement_warnings=placement_warnings(framework),
        setting_changes=framework_settings_diff(framework, active) if active else [],
        override_rewrites=override_rewrites,
    )
