"""Score accounts in bulk and keep the bookkeeping of segmentation runs."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Case,
    FloatField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from accounts import permissions
from accounts.models import Account, VerificationStatus
from accounts.normalizers import industry_key
from audits.baseline import record_account_baselines

from .bulk import results_write
from .engine import ROW_FIELDS, CompiledFramework, Evaluation, FrameworkError
from .lifecycle import framework_outdated_reason
from .models import (
    Framework,
    FrameworkStatus,
    Industry,
    IndustrySynonym,
    ScoreRecord,
    SegmentationRun,
    SegmentationRunAccount,
)
from .selectors import NoActiveFrameworkError, framework_get_active

__all__ = [
    "FrameworkNotApprovedError",
    "NoActiveFrameworkError",
    "SegmentationSummary",
    "accounts_segment",
    "framework_check_live",
    "framework_not_approved_message",
    "framework_get_active",
    "industry_value_map",
    "segmentation_run_create",
    "segmentation_run_plan",
]

logger = logging.getLogger(__name__)

# The account's current result, read next to the scoring inputs. The first eight match
# the first eight fields of Evaluation, so tuple slices compare them.
CURRENT_FIELDS = (
    "score",
    "tier",
    "tag",
    "route",
    "size_band",
    "geography",
    "needs_enrichment",
    "missing_fields",
    "framework_id",
)
# A person's tag and tier, which win over the framework's (see _with_overrides).
OVERRIDE_FIELDS = ("tag_override", "tier_override")
SELECT_FIELDS = ROW_FIELDS + CURRENT_FIELDS + OVERRIDE_FIELDS
# Read as text and float in SQL, so the database driver builds plain str and float objects
# and Django's per-value JSON and Decimal converters, the largest reading cost, are skipped.
_TEXT_COLUMNS = frozenset({"technologies", "buying_signals", "missing_fields"})
_FLOAT_COLUMNS = frozenset({"annual_revenue_usd"})


def _select_columns() -> list:
    columns: list = []
    for name in SELECT_FIELDS:
        if name == "field_status":
            # The engine reads field_status only for conflicting accounts, so the others
            # skip transferring it.
            columns.append(
                Case(
                    When(
                        verification_status=VerificationStatus.CONFLICTING,
                        then=Cast(name, TextField()),
                    ),
                    default=Value(None),
                    output_field=TextField(),
                )
            )
        elif name in _TEXT_COLUMNS:
            columns.append(Cast(name, TextField()))
        elif name in _FLOAT_COLUMNS:
            columns.append(Cast(name, FloatField()))
        else:
            columns.append(name)
    return columns


_ROW_WIDTH = len(ROW_FIELDS)
_RESULT_SLICE = slice(_ROW_WIDTH, _ROW_WIDTH + 7)
_FRAMEWORK_INDEX = _ROW_WIDTH + 8

NO_TIER = "none"
_TECHNOLOGIES_INDEX = ROW_FIELDS.index("technologies")
_SIGNALS_INDEX = ROW_FIELDS.index("buying_signals")
_AFTER_SIGNALS = slice(_SIGNALS_INDEX + 1, _ROW_WIDTH)
_SCORE_INDEX = _ROW_WIDTH + CURRENT_FIELDS.index("score")
_TIER_INDEX = _ROW_WIDTH + CURRENT_FIELDS.index("tier")
_TAG_INDEX = _ROW_WIDTH + CURRENT_FIELDS.index("tag")
_NEEDS_ENRICHMENT_INDEX = _ROW_WIDTH + CURRENT_FIELDS.index("needs_enrichment")
_TAG_OVERRIDE_INDEX = _ROW_WIDTH + len(CURRENT_FIELDS)
_TIER_OVERRIDE_INDEX = _TAG_OVERRIDE_INDEX + 1
_MISSING_INDEX = _ROW_WIDTH + CURRENT_FIELDS.index("missing_fields")
# Distinct JSON texts parsed once per call and reused. Past this many, texts are parsed
# for each row, so memory stays flat on data where every list differs.
JSON_MEMO_SIZE = 20_000
# A chunk of a full run spans this many batches. One Celery task scores one chunk.
RUN_CHUNK_BATCHES = 10
# Failed accounts logged one by one per call. Later failures are only counted.
FAILURES_LOGGED = 20


@dataclass
class SegmentationSummary:
    """Counts of one scoring pass.

    ``moved`` accounts got a new result and ``unchanged`` ones the same result as before
    (an unchanged account scored by a new framework version still gets a ScoreRecord).
    ``failed`` accounts could not be scored. The three add up to ``total``. ``recorded``
    counts appended ScoreRecords and ``tiers`` counts accounts by previous tier, then new
    tier, with "none" for no tier. ``tags_gained`` and ``tags_lost`` count, per tag, the
    accounts that join or leave its member lists (see ``tag_in_effect``), so they add up
    to the change of the tag's member count. Tiers and tags are the ones the account
    shows, so a person's override counts rather than the framework's value.
    """

    total: int = 0
    moved: int = 0
    unchanged: int = 0
    failed: int = 0
    recorded: int = 0
    tiers: dict[str, dict[str, int]] = field(default_factory=dict)
    tags_gained: dict[str, int] = field(default_factory=dict)
    tags_lost: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None
    dry_run: bool = False

    def add(self, other: SegmentationSummary) -> None:
        self.total += other.total
        self.moved += other.moved
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.recorded += other.recorded
        _merge_tiers(self.tiers, other.tiers)
        _merge_counts(self.tags_gained, other.tags_gained)
        _merge_counts(self.tags_lost, other.tags_lost)

    def tier_counts(self) -> dict[str, int]:
        """Return the number of scored accounts per new tier."""
        counts: Counter[str] = Counter()
        for new_tiers in self.tiers.values():
            counts.update(new_tiers)
        return dict(counts)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _merge_tiers(target: dict[str, dict[str, int]], source: dict[str, dict[str, int]]) -> None:
    for old_tier, new_tiers in source.items():
        _merge_counts(target.setdefault(old_tier, {}), new_tiers)


def _merge_counts(target: dict[str, int], source: dict[str, int]) -> None:
    for key, count in source.items():
        target[key] = target.get(key, 0) + count


# Runs and their chunks.


class FrameworkNotApprovedError(FrameworkError):
    """A version other than the approved one was asked to write results."""


# The next step for a draft or submitted version, which may not write results yet.
_NOT_APPROVED_NEXT_STEP = {
    FrameworkStatus.DRAFT: "submit it and have Sales Leadership approve it first",
    FrameworkStatus.SUBMITTED: "have Sales Leadership approve it first",
}


def framework_not_approved_message(framework: Framework, status: str) -> str:
    """Return why a version with ``status`` cannot write results, with the next step.

    A retired version can never be approved again, so its next step names the active
    version, from which a new draft is made. So does a draft or submitted copy that
    ``framework_outdated_reason`` rejects, because approving it could undo the active
    version's changes.
    """
    label = FrameworkStatus(status).label.lower()
    opening = (
        f"Framework v{framework.version} is {label}, not approved, so it cannot write "
        "results to accounts"
    )
    preview = (
        f"Its impact preview (manage.py resegment --framework {framework.version} "
        "--dry-run) shows its results without writing them."
    )
    if status == FrameworkStatus.RETIRED:
        active = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
        if active is None:
            next_step = (
                "it cannot be approved again. To use its settings, create a new draft from "
                "it and have that draft approved"
            )
        else:
            next_step = (
                f"it cannot be approved again, and v{active.version} is the active version. "
                f"To use its settings again, create a new draft from v{active.version} (the "
                "draft copies the active version), give it those settings and have it approved"
            )
        return f"{opening}: {next_step}. {preview}"
    outdated = framework_outdated_reason(framework)
    if outdated:
        return f"{opening}, and it cannot be approved as it is. {outdated} {preview}"
    return f"{opening}: {_NOT_APPROVED_NEXT_STEP[status]}. {preview}"


def framework_check_live(framework: Framework) -> None:
    """Raise FrameworkNotApprovedError unless ``framework`` is the approved version now.

    Only the approved version may write results: a draft or submitted version is
    previewed in a dry run, and a retired one would undo the active version's changes.
    The status is read from the database, because the caller's object may predate an
    approval that retired it.
    """
    status = Framework.objects.filter(pk=framework.pk).values_list("status", flat=True).first()
    if status == FrameworkStatus.APPROVED:
        return
    if status is None:
        raise FrameworkNotApprovedError(
            f"Framework v{framework.version} was deleted: score with the approved version."
        )
    raise FrameworkNotApprovedError(framework_not_approved_message(framework, status))


# Account ids that a run over selected accounts stores in its summary for its page. An
# import can select thousands of accounts, so the page names the lowest ids and counts
# the rest. Every chosen id is stored in SegmentationRunAccount.
RUN_ACCOUNT_IDS_SHOWN = 20
# Rows of SegmentationRunAccount inserted per statement.
RUN_ACCOUNT_INSERT_BATCH = 5000
# The key of the one chunk of a run over selected accounts.
SELECTED_CHUNK = "selected"


def _scope_key(
    account_ids: list[int] | None,
    first_id: int | None,
    last_id: int | None,
) -> str:
    """Name the part of a run that one call scores, for resuming and completion."""
    if first_id is not None or last_id is not None:
        return f"{first_id or ''}-{last_id or ''}"
    return SELECTED_CHUNK if account_ids is not None else "all"


def segmentation_run_create(
    *,
    framework: Framework,
    kind: str = SegmentationRun.Kind.FULL,
    total: int = 0,
    chunks: Iterable[str] = (),
    batch_size: int | None = None,
    triggered_by_id: int | None = None,
    account_ids: Iterable[int] | None = None,
) -> SegmentationRun:
    """Create a pending run whose chunks (named parts) must all finish for it to succeed.

    A run over selected ``account_ids`` stores every one of them as a SegmentationRunAccount,
    so that resuming it scores them all, and the RUN_ACCOUNT_IDS_SHOWN lowest in its
    summary, so that its page can name them.
    """
    ids = None if account_ids is None else sorted({int(pk) for pk in account_ids})
    summary: dict[str, Any] = {
        "chunks": {key: {"after_id": None, "done": False} for key in chunks},
        "recorded": 0,
        "tiers": {},
        "tags": {"gained": {}, "lost": {}},
    }
    if batch_size:
        summary["batch_size"] = batch_size
    if ids is not None:
        summary["account_ids"] = ids[:RUN_ACCOUNT_IDS_SHOWN]
    with transaction.atomic():
        run = SegmentationRun.objects.create(
            framework=framework,
            kind=kind,
            total=total,
            summary=summary,
            triggered_by_id=triggered_by_id,
        )
        for start in range(0, len(ids or ()), RUN_ACCOUNT_INSERT_BATCH):
            SegmentationRunAccount.objects.bulk_create(
                SegmentationRunAccount(run=run, account_id=account_id)
                for account_id in ids[start : start + RUN_ACCOUNT_INSERT_BATCH]
            )
    return run


def segmentation_run_account_ids(run_id: int) -> list[int]:
    """Return the ids of every account chosen for a run over selected accounts, in order."""
    return list(
        SegmentationRunAccount.objects.filter(run_id=run_id)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )


def _chunk_ranges(chunk_size: int) -> list[tuple[int, int]]:
    """Split the accounts' ids into ranges of ``chunk_size`` accounts, with one query each."""
    ids = Account.objects.order_by("id").values_list("id", flat=True)
    start = ids.first()
    ranges = []
    while start is not None:
        boundary = list(ids.filter(id__gte=start)[chunk_size - 1 : chunk_size + 1])
        if len(boundary) == 2:
            ranges.append((start, boundary[0]))
            start = boundary[1]
            continue
        # Fewer than chunk_size + 1 accounts remain, so this is the last range.
        if boundary:
            last = boundary[0]
        else:
            last = ids.filter(id__gte=start).aggregate(last=Max("id"))["last"]
        ranges.append((start, last))
        start = None
    return ranges


def segmentation_run_plan(
    *,
    framework: Framework | None = None,
    kind: str = SegmentationRun.Kind.FULL,
    batch_size: int | None = None,
    triggered_by_id: int | None = None,
) -> tuple[SegmentationRun, list[tuple[int, int]]]:
    """Create a run over all accounts, split into id ranges of ten batches each.

    Returns the run and its ranges (first id, last id), one per Celery task. Accounts
    created after planning are not in the ranges, which is fine because the importer
    scores the accounts it creates.

    A ``framework`` that is not the approved version gets a run recorded as failed with
    the reason, so the attempt shows among the runs, and FrameworkNotApprovedError.
    """
    framework = framework or framework_get_active()
    if kind not in SegmentationRun.Kind.values:
        raise ValueError(
            f"Invalid segmentation run kind {kind!r}: use one of "
            f"{', '.join(SegmentationRun.Kind.values)}."
        )
    batch_size = _check_batch_size(batch_size)
    try:
        framework_check_live(framework)
    except FrameworkNotApprovedError as error:
        run = segmentation_run_create(
            framework=framework, kind=kind, triggered_by_id=triggered_by_id
        )
        logger.error("Rejected segmentation run %s: %s", run.pk, error)
        segmentation_run_fail(run.pk, error)
        raise
    ranges = _chunk_ranges(batch_size * RUN_CHUNK_BATCHES)
    run = segmentation_run_create(
        framework=framework,
        kind=kind,
        total=Account.objects.count(),
        chunks=[_scope_key(None, first, last) for first, last in ranges],
        batch_size=batch_size,
        triggered_by_id=triggered_by_id,
    )
    if not ranges:
        segmentation_run_finish_if_done(run.pk)
    logger.info(
        "Planned segmentation run %s: %s accounts in %s chunks, framework v%s",
        run.pk,
        run.total,
        len(ranges),
        framework.version,
    )
    return run, ranges


class ChunkTakenOverError(Exception):
    """Another task committed a batch of the chunk since this task read its progress.

    That happens when a chunk runs twice at once, such as a resumed chunk while the
    worker that ran it before is still alive. The batch that raises this is rolled back,
    so the task that committed first goes on alone.
    """


def _chunk_begin(run: SegmentationRun, scope: str) -> tuple[bool, int | None]:
    """Mark a chunk started and return (already done, id to resume after) for it.

    A retried chunk clears its error. The run is running unless another chunk still has
    an error. The chunk's ``progress_at`` (ISO 8601) is set, which shows that a worker
    has started it and dates its last progress (see ``segmentation.runs``).
    """
    with transaction.atomic():
        locked = SegmentationRun.objects.select_for_update().get(pk=run.pk)
        chunks = locked.summary.setdefault("chunks", {})
        chunk = chunks.setdefault(scope, {"after_id": None, "done": False})
        if not chunk["done"] and locked.status != SegmentationRun.Status.SUCCEEDED:
            chunk.pop("error", None)
            chunk["progress_at"] = timezone.now().isoformat()
            if any("error" in other for other in chunks.values()):
                locked.status = SegmentationRun.Status.FAILED
            else:
                locked.status = SegmentationRun.Status.RUNNING
                locked.finished_at = None
            locked.started_at = locked.started_at or timezone.now()
            locked.save(update_fields=["status", "started_at", "finished_at", "summary"])
    return chunk["done"], chunk["after_id"]


def _chunk_record_batch(
    run_id: int,
    scope: str,
    after_id: int,
    batch: SegmentationSummary,
    *,
    previous_after_id: int | None,
) -> None:
    """Add a batch's counts to the run. Call it in the transaction that wrote the batch.

    ``previous_after_id`` is the chunk's ``after_id`` that the batch follows. Raises
    ChunkTakenOverError when the chunk's ``after_id`` differs, because another task
    committed a batch since, so the caller's transaction is rolled back and no result or
    count is doubled.
    """
    locked = SegmentationRun.objects.select_for_update().get(pk=run_id)
    chunk = locked.summary["chunks"].setdefault(scope, {"after_id": None, "done": False})
    if chunk.get("done") or chunk["after_id"] != previous_after_id:
        raise ChunkTakenOverError(
            f"Chunk {scope} of segmentation run {run_id} was scored up to id "
            f"{chunk['after_id']} by another task, not up to {previous_after_id}."
        )
    chunk["after_id"] = after_id
    chunk["progress_at"] = timezone.now().isoformat()
    locked.summary["recorded"] = locked.summary.get("recorded", 0) + batch.recorded
    _merge_tiers(locked.summary.setdefault("tiers", {}), batch.tiers)
    tags = locked.summary.setdefault("tags", {"gained": {}, "lost": {}})
    _merge_counts(tags.setdefault("gained", {}), batch.tags_gained)
    _merge_counts(tags.setdefault("lost", {}), batch.tags_lost)
    locked.processed += batch.total
    locked.moved += batch.moved
    locked.unchanged += batch.unchanged
    locked.failed += batch.failed
    locked.save(update_fields=["processed", "moved", "unchanged", "failed", "summary"])


def segmentation_run_finish_if_done(run_id: int, *, finished_chunk: str | None = None) -> bool:
    """Mark ``finished_chunk`` done, then the run succeeded once every chunk is done.

    Returns whether the run is finished.
    """
    with transaction.atomic():
        locked = SegmentationRun.objects.select_for_update().get(pk=run_id)
        chunks = locked.summary.setdefault("chunks", {})
        if finished_chunk is not None:
            chunks.setdefault(finished_chunk, {"after_id": None})["done"] = True
        finished = all(chunk.get("done") for chunk in chunks.values())
        if finished and locked.status != SegmentationRun.Status.SUCCEEDED:
            now = timezone.now()
            locked.status = SegmentationRun.Status.SUCCEEDED
            locked.started_at = locked.started_at or now
            locked.finished_at = now
            locked.total = locked.processed
            locked.error = ""
            logger.info(
                "Segmentation run %s succeeded: %s accounts, %s moved, %s unchanged, %s failed",
                run_id,
                locked.processed,
                locked.moved,
                locked.unchanged,
                locked.failed,
            )
        locked.save()
    return finished


def segmentation_run_fail(run_id: int, error: BaseException, *, scope: str | None = None) -> None:
    """Mark the run failed with the error, and the chunk ``scope`` too when given.

    Batches already committed stay written. Retrying the chunk resumes after them.
    """
    message = f"{type(error).__name__}: {error}"
    with transaction.atomic():
        locked = SegmentationRun.objects.select_for_update().get(pk=run_id)
        if locked.status == SegmentationRun.Status.SUCCEEDED:
            # Every chunk of a succeeded run committed, so a late failure of a repeated
            # chunk changes none of its results, and the run keeps its outcome.
            logger.warning(
                "Run %s succeeded before, so it was not marked failed: %s", run_id, message
            )
            return
        if scope is not None:
            chunks = locked.summary.setdefault("chunks", {})
            chunks.setdefault(scope, {"after_id": None, "done": False})["error"] = message
        locked.status = SegmentationRun.Status.FAILED
        locked.error = message
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "error", "finished_at", "summary"])


def _run_succeeded(run_id: int) -> bool:
    return SegmentationRun.objects.filter(
        pk=run_id, status=SegmentationRun.Status.SUCCEEDED
    ).exists()


# Scoring.


def _check_batch_size(batch_size: int | None) -> int:
    size = settings.ICP_SEGMENTATION_BATCH_SIZE if batch_size is None else batch_size
    if size < 1:
        raise ValueError(
            f"Invalid batch size {size}: use a positive number of accounts, such as 5000."
        )
    return size


def _fetch(queryset: QuerySet) -> list[tuple]:
    """Run a values_list query with a plain cursor, skipping Django's per-value converters.

    Booleans arrive as 0/1 on SQLite, which compare equal to False/True.
    """
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _JsonMemo:
    """Parse JSON column text, reusing the result for repeated texts such as "[]".

    Parsed values are shared between rows and must not be modified.
    """

    def __init__(self) -> None:
        self._parsed: dict[str, Any] = {}

    def __call__(self, text: str | None) -> Any:
        if not isinstance(text, str):
            return text
        value = self._parsed.get(text)
        if value is None:
            value = json.loads(text)
            if len(self._parsed) < JSON_MEMO_SIZE:
                self._parsed[text] = value
        return value


def _id_batches(account_ids: list[int], after_id: int | None, batch_size: int) -> Iterator[list]:
    """Yield rows of the given accounts in id order, one list per batch."""
    ids = sorted({int(account_id) for account_id in account_ids})
    if after_id is not None:
        ids = [account_id for account_id in ids if account_id > after_id]
    # Django assumes SQLite's historical limit of 999 parameters per statement.
    step = min(batch_size, connection.features.max_query_params or batch_size)
    queryset = Account.objects.order_by("id").values_list(*_select_columns())
    for start in range(0, len(ids), batch_size):
        batch_ids = ids[start : start + batch_size]
        rows = []
        for offset in range(0, len(batch_ids), step):
            rows.extend(_fetch(queryset.filter(id__in=batch_ids[offset : offset + step])))
        rows.sort()
        if rows:
            yield rows


def _range_batches(
    first_id: int | None,
    last_id: int | None,
    after_id: int | None,
    batch_size: int,
) -> Iterator[list]:
    """Yield rows in id order by keyset pagination, one indexed query per batch."""
    queryset = Account.objects.order_by("id").values_list(*_select_columns())
    if first_id is not None:
        queryset = queryset.filter(id__gte=first_id)
    if last_id is not None:
        queryset = queryset.filter(id__lte=last_id)
    while True:
        page = queryset if after_id is None else queryset.filter(id__gt=after_id)
        rows = _fetch(page[:batch_size])
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        after_id = rows[-1][0]


def _override_item(kind: str, override_value: str, computed: str) -> str:
    """Return the explanation item, as JSON, that names a kept override."""
    computed_text = repr(computed) if computed else "nothing"
    item = {
        "dimension": "manual",
        "label": f"{kind} override kept",
        "outcome": "override",
        "points": 0,
        "max_points": 0,
        "reason": f"{kind} {override_value!r} set by a person is kept; the framework computed "
        f"{computed_text}",
    }
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def _with_overrides(
    compiled: CompiledFramework,
    account: Sequence[Any],
    evaluation: Evaluation,
    tag_override: str,
    tier_override: str,
) -> Evaluation:
    """Apply a person's tag and tier to a result.

    The tier override also sets the route, except on an account that needs enrichment (a
    mandatory field missing or conflicting): it keeps no route whatever its tier, as the
    engine gives it none, so Marketing's Outbound and Nurture lists leave it out until the
    data is complete. The score stays the framework's, and the explanation gains one item
    per override naming the computed value. An override equal to the computed value, such
    as the tag kept by a change of the tier alone, gets none. The tier part of the tag names
    the tier in effect, for the framework's tag and for a tag override that follows the
    template (``CompiledFramework.tag_override_with_tier``).
    """
    extra = list(evaluation.extra)
    tier, tag = evaluation.tier, evaluation.tag
    if tier_override:
        if tier_override != evaluation.tier:
            extra.append(_override_item("Tier", tier_override, evaluation.tier))
            tag = compiled.tag_with_tier(account, evaluation, tier_override)
        tier = tier_override
    if tag_override:
        tag_override = compiled.tag_override_with_tier(tag_override, tier)
        if tag_override != evaluation.tag:
            extra.append(_override_item("Tag", tag_override, evaluation.tag))
        tag = tag_override
    return evaluation._replace(
        tier=tier,
        tag=tag,
        route="" if evaluation.needs_enrichment else compiled.route_for(tier),
        extra=tuple(extra),
    )


def tag_in_effect(tag: str, needs_enrichment: bool) -> str:
    """Return the tag whose member lists include the account, or "" for none.

    An account that needs enrichment is in no tag's member lists, even with a tag a
    person set (``accounts.selectors.TAG_IN_EFFECT``), so its tag is not in effect.
    """
    return "" if needs_enrichment else tag


class MoverSink(Protocol):
    """Receives each account whose result changes, such as the preview's top movers."""

    def offer(self, row: tuple, evaluation: Evaluation) -> None: ...


def _score_batch(
    compiled: CompiledFramework,
    rows: list[tuple],
    failures: list[int],
    parse_json: _JsonMemo,
    movers: MoverSink | None = None,
    unchanged: list[tuple[int, Evaluation]] | None = None,
    restamped: set[int] | None = None,
    tag_overrides: Mapping[int, str] | None = None,
) -> tuple[list[tuple[int, Evaluation]], SegmentationSummary]:
    """Evaluate rows and pick the accounts whose stored result must change.

    ``failures`` collects failed account ids across batches, for rate-limited logging.
    ``tag_overrides`` replaces the stored tag override of the accounts it names.
    ``unchanged`` receives the results that stay as they are, by account id.
    ``restamped`` receives the ids of the picked accounts whose result is the same and
    whose framework version is new.
    """
    framework_id = compiled.framework_id
    evaluate = compiled.evaluate
    changes: list[tuple[int, Evaluation]] = []
    moves: Counter[tuple[str, str]] = Counter()
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    summary = SegmentationSummary(total=len(rows))
    for row in rows:
        try:
            account = (
                row[:_TECHNOLOGIES_INDEX]
                + (parse_json(row[_TECHNOLOGIES_INDEX]), parse_json(row[_SIGNALS_INDEX]))
                + row[_AFTER_SIGNALS]
            )
            evaluation = evaluate(account)
        except (ValueError, TypeError, ArithmeticError) as error:
            summary.failed += 1
            failures.append(row[0])
            if len(failures) <= FAILURES_LOGGED:
                logger.warning("Could not score account %s: %s", row[0], error)
            continue
        tag_override = row[_TAG_OVERRIDE_INDEX]
        if tag_overrides:
            tag_override = tag_overrides.get(row[0], tag_override)
        if tag_override or row[_TIER_OVERRIDE_INDEX]:
            evaluation = _with_overrides(
                compiled, account, evaluation, tag_override, row[_TIER_OVERRIDE_INDEX]
            )
        current_missing = parse_json(row[_MISSING_INDEX])
        changed = evaluation[:7] != row[_RESULT_SLICE]
        changed = changed or evaluation.missing_fields != current_missing
        if changed:
            summary.moved += 1
            # Counted as member lists count tags, so the totals match the tag counts.
            old_tag = tag_in_effect(row[_TAG_INDEX], row[_NEEDS_ENRICHMENT_INDEX])
            new_tag = tag_in_effect(evaluation.tag, evaluation.needs_enrichment)
            if old_tag != new_tag:
                if old_tag:
                    lost[old_tag] += 1
                if new_tag:
                    gained[new_tag] += 1
            if movers is not None:
                movers.offer(row, evaluation)
        if changed or row[_FRAMEWORK_INDEX] != framework_id:
            changes.append((row[0], evaluation))
            if not changed and restamped is not None:
                restamped.add(row[0])
        elif unchanged is not None:
            unchanged.append((row[0], evaluation))
        moves[(row[_TIER_INDEX] or NO_TIER, evaluation.tier or NO_TIER)] += 1
    summary.unchanged = summary.total - summary.moved - summary.failed
    summary.recorded = len(changes)
    for (old_tier, new_tier), count in moves.items():
        summary.tiers.setdefault(old_tier, {})[new_tier] = count
    summary.tags_gained = dict(gained)
    summary.tags_lost = dict(lost)
    return changes, summary


def _stale_explanations(
    unchanged: list[tuple[int, Evaluation]],
) -> list[tuple[int, Evaluation]]:
    """Return the unchanged results whose explanation differs from the latest score record's.

    An edit can change what an explanation shows, such as the head count, without changing
    the result, and the record must then show the new numbers.
    """
    latest = (
        ScoreRecord.objects.filter(account_id=OuterRef("account_id"))
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    # Django assumes SQLite's historical limit of 999 parameters per statement.
    step = connection.features.max_query_params or len(unchanged) or 1
    stale = []
    for start in range(0, len(unchanged), step):
        part = unchanged[start : start + step]
        stored = dict(
            ScoreRecord.objects.filter(
                account_id__in=[account_id for account_id, _evaluation in part],
                id=Subquery(latest),
            ).values_list("account_id", "explanation")
        )
        stale += [
            (account_id, evaluation)
            for account_id, evaluation in part
            if stored.get(account_id) != evaluation.explanation
        ]
    return stale


def _commit_without_flush_wait() -> None:
    """Let PostgreSQL commit this batch without waiting for its WAL to reach disk.

    A crash may then lose the last batches, but the run's progress is written in the same
    transaction as the results, so retrying the run rescores exactly those. Callers' own
    transactions, such as an import, keep the server's setting.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _batch_write(
    changes: list[tuple[int, Evaluation]],
    batch: SegmentationSummary,
    items: dict[int, str],
    *,
    unchanged_ids: set[int],
    after_id: int,
    previous_after_id: int | None,
    framework_id: int,
    run_id: int,
    scope: str,
    before_progress: Callable[[], None] | None = None,
) -> None:
    """Store a batch's results and its run progress in one transaction.

    ``previous_after_id`` is the last id of the batch before, or the id the chunk resumed
    after. The batch is stored only when the chunk's ``after_id`` still equals it, and
    otherwise its transaction is rolled back (see ``_chunk_record_batch``).

    ``items`` are the explanation items made while scoring the batch, which its records
    may name along with items of earlier batches. ``unchanged_ids`` are the accounts of
    ``changes`` whose result stays the same (see ``results_write``). ``before_progress``
    runs after the results are written and before the progress is, so a writer can wait
    there for the batch before it to commit.
    """
    top_level = not connection.in_atomic_block
    with transaction.atomic():
        if top_level:
            _commit_without_flush_wait()
        results_write(
            changes,
            items=items,
            framework_id=framework_id,
            run_id=run_id,
            now=timezone.now(),
            unchanged_ids=unchanged_ids,
        )
        if before_progress is not None:
            before_progress()
        _chunk_record_batch(run_id, scope, after_id, batch, previous_after_id=previous_after_id)


class _WriteAborted(Exception):
    """A batch was not written because an earlier batch failed."""


@dataclass
class _WriteJob:
    changes: list[tuple[int, Evaluation]]
    batch: SegmentationSummary
    items: dict[int, str]
    unchanged_ids: set[int]
    after_id: int
    previous_after_id: int | None
    previous: _WriteJob | None
    committed: threading.Event = field(default_factory=threading.Event)
    failed: bool = False


class _ConcurrentWriter:
    """Write scored batches on their own connections while the caller scores the next one.

    Writing a batch is mostly the database server's work, and scoring is Python's, so on
    two cores the two overlap. Batches are written concurrently, but each records its run
    progress only after the batch before it committed, so a chunk's ``after_id`` never
    passes an unwritten batch and a retry resumes exactly where the writes stopped.
    """

    def __init__(
        self,
        *,
        threads: int,
        framework_id: int,
        run_id: int,
        scope: str,
        resume_after_id: int | None,
    ) -> None:
        self._options = {"framework_id": framework_id, "run_id": run_id, "scope": scope}
        self._resume_after_id = resume_after_id
        # Each writer works on one batch and the queue keeps one more, so memory stays bounded.
        self._jobs: queue.Queue[_WriteJob | None] = queue.Queue(maxsize=threads)
        self._last: _WriteJob | None = None
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._work, name=f"segmentation-writer-{number}")
            for number in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self,
        changes: list[tuple[int, Evaluation]],
        batch: SegmentationSummary,
        items: dict[int, str],
        unchanged_ids: set[int],
        after_id: int,
    ) -> None:
        """Queue a batch, raising the error of any batch that failed before."""
        if self._error is not None:
            raise self._error
        previous_after_id = self._resume_after_id if self._last is None else self._last.after_id
        job = _WriteJob(
            changes, batch, items, unchanged_ids, after_id, previous_after_id, self._last
        )
        self._last = job
        self._jobs.put(job)

    def close(self) -> None:
        """Wait for every queued batch, then raise the first error if a batch failed."""
        for _thread in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                self._write(job)
        finally:
            # Django opened this thread's connection, and only this thread can close it.
            connection.close()

    def _write(self, job: _WriteJob) -> None:
        def wait_for_previous() -> None:
            if job.previous is not None:
                job.previous.committed.wait()
                if job.previous.failed:
                    raise _WriteAborted

        try:
            if self._error is not None:
                raise _WriteAborted
            _batch_write(
                job.changes,
                job.batch,
                job.items,
                unchanged_ids=job.unchanged_ids,
                after_id=job.after_id,
                previous_after_id=job.previous_after_id,
                before_progress=wait_for_previous,
                **self._options,
            )
        except BaseException as error:
            job.failed = True
            if not isinstance(error, _WriteAborted) and self._error is None:
                self._error = error
        finally:
            job.previous = None
            job.committed.set()


def _writer_threads() -> int:
    """Return how many connections write batches beside the scoring, or 0 to write inline.

    Only PostgreSQL, outside a caller's transaction: a caller's transaction must cover the
    writes, and SQLite allows one writer at a time.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 0
    return settings.ICP_SEGMENTATION_WRITERS


def accounts_segment(
    *,
    framework: Framework | None = None,
    account_ids: Iterable[int] | None = None,
    run: SegmentationRun | None = None,
    dry_run: bool = False,
    first_id: int | None = None,
    last_id: int | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[SegmentationSummary], None] | None = None,
    movers: MoverSink | None = None,
    kind: str | None = None,
    tag_overrides: Mapping[int, str] | None = None,
) -> SegmentationSummary:
    """Score accounts and store each changed result, batch by batch in id order.

    Scores ``account_ids``, or the ids from ``first_id`` to ``last_id`` inclusive, or every
    account. An account's latest-result fields are written only when its result changed,
    and a ScoreRecord is appended when the result changed or the framework version differs,
    so running twice appends nothing the second time. A run over ``account_ids`` also
    appends one when only the explanation changed, such as a new head count within the
    same band. Each batch commits on its own.

    Without ``run`` a run of ``kind`` is created, by default a full run or one over the
    chosen accounts. A run's chunk that finished before is skipped, and
    one that stopped part-way resumes after its last committed batch. ``dry_run`` scores
    without writing anything, runs included. ``on_batch`` receives the running totals
    after each batch, and ``movers`` each account whose result changes.
    ``tag_overrides`` maps account ids to the tag override to score them with in place
    of the stored one, such as the rewrites that approving a new tag template makes
    (only with ``dry_run``).

    A person's ``tag_override`` and ``tier_override`` win over the framework's tag and
    tier, and the route follows the tier the account ends up with, unless the account
    needs enrichment: then it has no route.

    Only the approved version writes: any other raises FrameworkNotApprovedError unless
    ``dry_run``, and marks ``run`` failed with the reason when one is given.
    """
    if framework is None:
        framework = run.framework if run is not None else framework_get_active()
    if tag_overrides is not None and not dry_run:
        raise ValueError("tag_overrides replaces stored values, so it needs dry_run=True.")
    if not dry_run:
        try:
            framework_check_live(framework)
        except FrameworkNotApprovedError as error:
            if run is not None and _run_succeeded(run.pk):
                # A chunk task that the broker hands out again after its run finished,
                # such as one a killed worker held, when a newer version is approved.
                logger.info("Skipped a chunk of run %s, which succeeded before: %s", run.pk, error)
                return SegmentationSummary(dry_run=False, run_id=run.pk)
            logger.error("Rejected scoring with framework v%s: %s", framework.version, error)
            if run is not None:
                segmentation_run_fail(run.pk, error)
            raise
    batch_size = _check_batch_size(batch_size)
    ids = None if account_ids is None else list(account_ids)
    compiled = CompiledFramework.compile(framework)
    scope = _scope_key(ids, first_id, last_id)
    summary = SegmentationSummary(dry_run=dry_run)

    after_id = None
    if not dry_run:
        if run is None:
            if kind is None:
                kind = SegmentationRun.Kind.FULL if ids is None else SegmentationRun.Kind.ACCOUNTS
            total = len(set(ids)) if ids is not None else Account.objects.count()
            run = segmentation_run_create(
                framework=framework, kind=kind, total=total, chunks=[scope], account_ids=ids
            )
        done, after_id = _chunk_begin(run, scope)
        summary.run_id = run.pk
        if done:
            logger.info("Skipped chunk %s of run %s: it finished before", scope, run.pk)
            return summary

    logger.info(
        "Scoring accounts (%s) with framework v%s%s",
        scope,
        framework.version,
        ", dry run" if dry_run else f", run {run.pk}",
    )
    if ids is not None:
        batches = _id_batches(ids, after_id, batch_size)
    else:
        batches = _range_batches(first_id, last_id, after_id, batch_size)
    failures: list[int] = []
    parse_json = _JsonMemo()
    threads = 0 if dry_run else _writer_threads()
    # Runs over chosen accounts follow edits and imports, whose changes can alter an
    # explanation's numbers alone. Full runs skip the comparison, which reads every record.
    compare_explanations = ids is not None and not dry_run
    writer = None
    if threads:
        writer = _ConcurrentWriter(
            threads=threads,
            framework_id=framework.pk,
            run_id=run.pk,
            scope=scope,
            resume_after_id=after_id,
        )
    previous_after_id = after_id
    try:
        try:
            for rows in batches:
                unchanged = [] if compare_explanations else None
                restamped: set[int] = set()
                changes, batch = _score_batch(
                    compiled,
                    rows,
                    failures,
                    parse_json,
                    movers,
                    unchanged,
                    restamped,
                    tag_overrides,
                )
                if unchanged:
                    stale = _stale_explanations(unchanged)
                    changes += stale
                    restamped.update(account_id for account_id, _evaluation in stale)
                    batch.recorded += len(stale)
                # A batch stores the items made while scoring it. Later batches commit
                # only after it, so their records never name an item that is not stored.
                items = compiled.take_new_items()
                if writer is not None:
                    writer.submit(changes, batch, items, restamped, rows[-1][0])
                elif not dry_run:
                    _batch_write(
                        changes,
                        batch,
                        items,
                        unchanged_ids=restamped,
                        after_id=rows[-1][0],
                        previous_after_id=previous_after_id,
                        framework_id=framework.pk,
                        run_id=run.pk,
                        scope=scope,
                    )
                previous_after_id = rows[-1][0]
                summary.add(batch)
                if on_batch is not None:
                    on_batch(summary)
        finally:
            if writer is not None:
                writer.close()
    except ChunkTakenOverError as error:
        # The other task owns the chunk now and records its progress and its end.
        logger.warning("Stopped scoring (%s) of run %s: %s", scope, run.pk, error)
        return summary
    except Exception as error:
        logger.exception("Segmentation (%s) failed after %s accounts", scope, summary.total)
        if run is not None and not dry_run:
            segmentation_run_fail(run.pk, error, scope=scope)
        raise

    if failures:
        logger.warning(
            "Could not score %s accounts (%s), first ids %s",
            len(failures),
            scope,
            failures[:FAILURES_LOGGED],
        )
    if not dry_run:
        segmentation_run_finish_if_done(run.pk, finished_chunk=scope)
    logger.info(
        "Scored %s accounts (%s): %s moved, %s unchanged, %s failed, %s recorded",
        summary.total,
        scope,
        summary.moved,
        summary.unchanged,
        summary.failed,
        summary.recorded,
    )
    return summary


# Taxonomy.


@dataclass
class IndustryMapResult:
    """Outcome of mapping a raw industry value: the synonym, the accounts and their scoring."""

    synonym: IndustrySynonym
    account_ids: list[int]
    summary: SegmentationSummary | None


def industry_value_map(
    *,
    raw_value: str,
    industry: Industry,
    user: AbstractBaseUser,
) -> IndustryMapResult:
    """Map a raw industry value to a canonical industry and re-segment its accounts.

    Creates the synonym, sets the industry of every unmapped account whose raw value has
    the same lookup key, with one history row per account, then scores exactly those
    accounts with the approved framework. Raises PermissionDenied unless the user manages
    the taxonomy, and ValidationError for a value without letters, one another synonym
    already maps, or one that no unmapped account has as its raw value. The last case
    covers a page loaded before the value was mapped or edited elsewhere, and a value
    posted by hand, so no synonym is created for a label that the data never contained.
    """
    if not permissions.can_manage_taxonomy(user):
        raise PermissionDenied("Only Sales Ops can map industry values.")
    key = industry_key(raw_value)
    if not key:
        raise ValidationError(
            f"The value {raw_value!r} has no letters or digits, so it cannot be mapped."
        )
    with transaction.atomic():
        # Spelling variants (case, punctuation) share the key, so they are mapped too.
        unmapped = Account.objects.filter(industry__isnull=True).exclude(industry_raw="")
        variants = [
            value
            for value in unmapped.values_list("industry_raw", flat=True).distinct()
            if industry_key(value) == key
        ]
        clash = IndustrySynonym.objects.filter(key=key).select_related("industry").first()
        if clash is not None:
            raise ValidationError(_mapped_value_message(raw_value, industry, clash, variants))
        if raw_value not in variants:
            raise ValidationError(_unseen_value_message(raw_value, variants))
        try:
            with transaction.atomic():
                # Imported labels may contain a no-break space or a tab, which a synonym's
                # value may not. Plain spaces leave the lookup key as it is.
                synonym = IndustrySynonym.objects.create(
                    industry=industry, value=" ".join(raw_value.split()), key=key
                )
        except (IntegrityError, ValidationError):
            # Another request (a second tab, a double click) mapped the value between the
            # check above and this insert, and its accounts with it. The synonym's own check
            # (ValidationError) or the unique key (IntegrityError) notices it.
            clash = IndustrySynonym.objects.filter(key=key).select_related("industry").first()
            if clash is None:
                raise
            raise ValidationError(_mapped_value_message(raw_value, industry, clash, [])) from None
        affected = list(unmapped.filter(industry_raw__in=variants).order_by("id"))
        account_ids = [account.pk for account in affected]
        now = timezone.now()
        for account in affected:
            account.industry = industry
            account.updated_at = now
        # One history row per account, so the trail shows who mapped each account, after
        # a baseline for each account without history, so the trail shows what changed.
        record_account_baselines(account_ids)
        bulk_update_with_history(
            affected,
            Account,
            ["industry", "updated_at"],
            batch_size=1000,
            default_user=user,
            default_change_reason=f"Industry value {raw_value!r} mapped to {industry}",
        )
    logger.info(
        "Industry value %r mapped to %s by user %s: %s accounts",
        raw_value,
        industry,
        user.pk,
        len(account_ids),
    )
    summary = None
    if account_ids:
        try:
            summary = accounts_segment(account_ids=account_ids)
        except NoActiveFrameworkError as error:
            logger.warning("Mapped accounts were not scored: %s", error)
    return IndustryMapResult(synonym=synonym, account_ids=account_ids, summary=summary)


def _mapped_value_message(
    raw_value: str, industry: Industry, clash: IndustrySynonym, variants: list[str]
) -> str:
    mapped = f"{raw_value!r} already maps to {clash.industry} through the synonym {clash.value!r}"
    if variants:
        return f"{mapped}: edit that synonym in the admin instead."
    # No unmapped account is left with the value, so the synonym mapped them: the page
    # was loaded before someone mapped the value, in another tab or as another user.
    change = ""
    if clash.industry_id != industry.pk:
        change = f" To map it to {industry} instead, edit that synonym in the admin."
    return (
        f"{mapped}, which was added after this page was loaded, so nothing was changed. "
        f"The list below is current.{change}"
    )


def _unseen_value_message(raw_value: str, variants: list[str]) -> str:
    if variants:
        listed = ", ".join(repr(value) for value in sorted(variants))
        return (
            f"No account without an industry has the raw value {raw_value!r} any more, only "
            f"its spellings {listed}. The accounts may have been edited since this page was "
            "loaded: map the value as the list below shows it."
        )
    return (
        f"No account without an industry has the raw value {raw_value!r}, so there is "
        "nothing to map. It was never imported, or its accounts were edited, mapped or "
        "deleted since this page was loaded: map a value from the list below."
    )
