"""Re-segment the accounts that an edit of an industry or its synonyms changes.

Tags and explanations contain industry names, so renaming an industry changes the
results of all its accounts. A synonym added in the same save maps the accounts without
an industry whose raw value has its lookup key, as mapping an unmapped value does. A
synonym deleted unmaps the industry's accounts whose raw value no longer maps to it.
``industry_state_read`` records the state before the save and
``industry_edit_resegment`` applies the difference after it.

NOTE: only the industry admin calls these. A rename saved elsewhere, such as in the
shell, changes tags only at the next full run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError
from simple_history.utils import bulk_update_with_history

from accounts.models import Account
from accounts.normalizers import industry_key
from audits.baseline import record_account_baselines

from .engine import CompiledFramework
from .models import Industry, IndustrySynonym, SegmentationRun
from .selectors import NoActiveFrameworkError, framework_get_active
from .services import accounts_segment, segmentation_run_create, segmentation_run_fail
from .tags import TagChecker
from .taxonomy import IndustryResolver

logger = logging.getLogger(__name__)

# Length of the Account history's change reason column.
_HISTORY_REASON_LENGTH = 100


@dataclass(frozen=True)
class IndustryState:
    """An industry's name and synonym keys as stored before an edit.

    ``tag_checker`` checks tags of the approved framework under the stored names. It is
    read only before a rename, and is None without an approved framework.
    """

    name: str
    synonym_keys: frozenset[str]
    tag_checker: TagChecker | None = None


@dataclass(frozen=True)
class StaleTagOverride:
    """A tag override set by a person that names an industry's old name."""

    account_id: int
    account_name: str
    tag: str


@dataclass
class IndustryEditResult:
    """The accounts that an industry edit changed, and the run that re-segments them.

    ``run`` is None when nothing is re-segmented: no account is affected, or no
    framework version is approved (``not_scored_reason`` is then the error).
    ``in_request`` is True when the run scores the accounts in the saving request, after
    the commit, and False when a Celery task does.
    """

    old_name: str
    new_name: str
    mapped_ids: list[int] = field(default_factory=list)
    unmapped_ids: list[int] = field(default_factory=list)
    account_ids: list[int] = field(default_factory=list)
    run: SegmentationRun | None = None
    in_request: bool = True
    not_scored_reason: str = ""
    stale_overrides: list[StaleTagOverride] = field(default_factory=list)

    @property
    def renamed(self) -> bool:
        return bool(self.old_name) and self.old_name != self.new_name


def industry_state_read(industry_pk: int | None, *, new_name: str) -> IndustryState:
    """Read the stored name and synonym keys of an industry before the admin saves it.

    ``industry_pk`` is None for a new industry. When ``new_name`` differs from the stored
    name, the approved framework's tag checker is compiled under the stored names, so
    that tag overrides with the old name can be found after the save.
    """
    if industry_pk is None:
        return IndustryState(name="", synonym_keys=frozenset())
    name = Industry.objects.filter(pk=industry_pk).values_list("name", flat=True).first() or ""
    keys = frozenset(
        IndustrySynonym.objects.filter(industry_id=industry_pk).values_list("key", flat=True)
    )
    checker = None
    if name and name.casefold() != new_name.casefold():
        try:
            framework = framework_get_active()
        except NoActiveFrameworkError:
            framework = None
        if framework is not None:
            checker = TagChecker(CompiledFramework.compile(framework), framework.tag_template)
    return IndustryState(name=name, synonym_keys=keys, tag_checker=checker)


def industry_edit_resegment(
    industry: Industry, before: IndustryState, *, user: AbstractBaseUser
) -> IndustryEditResult:
    """Update the accounts that an industry edit maps differently and re-segment them.

    Call inside the transaction that saved the industry and its synonyms. A new name or
    synonym maps the accounts without an industry whose raw value has its lookup key. A
    deleted synonym unmaps the industry's accounts whose raw value then maps to no
    industry, or moves them to the industry it maps to. A rename re-segments every
    account of the industry. Each changed account gets a history row by ``user``.

    The run is created here and scores after the commit: in the request for up to
    ICP_SEGMENTATION_BATCH_SIZE accounts, otherwise in a Celery task, so a large
    industry does not hold the admin page.
    """
    after_keys = frozenset(
        IndustrySynonym.objects.filter(industry=industry).values_list("key", flat=True)
    )
    new_name_key = industry_key(industry.name)
    old_name_key = industry_key(before.name) if before.name else ""
    added_keys = (after_keys | {new_name_key}) - (before.synonym_keys | {old_name_key})
    # The old name's key is left out, even with its synonym deleted, because a rename
    # keeps the accounts of the industry.
    removed_keys = before.synonym_keys - after_keys - {new_name_key, old_name_key}
    result = IndustryEditResult(old_name=before.name, new_name=industry.name)

    reason = _history_reason(industry, before)
    result.mapped_ids = _map_unmapped(industry, added_keys, user=user, reason=reason)
    result.unmapped_ids = _unmap_removed(industry, removed_keys, user=user, reason=reason)

    ids = set(result.mapped_ids) | set(result.unmapped_ids)
    if result.renamed:
        ids.update(Account.objects.filter(industry=industry).values_list("id", flat=True))
        if before.name.casefold() != industry.name.casefold():
            result.stale_overrides = _stale_tag_overrides(before)
    result.account_ids = sorted(ids)
    if result.account_ids:
        _resegment_start(result, user=user)
    return result


def _history_reason(industry: Industry, before: IndustryState) -> str:
    if before.name and before.name != industry.name:
        text = f"Name or synonyms of the industry {industry.name!r} changed"
    else:
        text = f"Synonyms of the industry {industry.name!r} changed"
    return text[:_HISTORY_REASON_LENGTH]


def _accounts_with_keys(accounts, keys: frozenset[str]) -> list[Account]:
    """Return the accounts whose raw industry value has one of the lookup keys."""
    if not keys:
        return []
    # Keys are computed in Python (NFKC, casefolding, punctuation), so each distinct raw
    # value is read once and the accounts are then selected by value. order_by() drops
    # the model's ordering, whose columns would otherwise make every row distinct.
    raw_values = accounts.order_by().values_list("industry_raw", flat=True).distinct()
    values = [value for value in raw_values if industry_key(value) in keys]
    if not values:
        return []
    return list(accounts.filter(industry_raw__in=values).order_by("id"))


def _write_industries(accounts: list[Account], *, user: AbstractBaseUser, reason: str) -> None:
    ids = [account.pk for account in accounts]
    now = timezone.now()
    for account in accounts:
        account.updated_at = now
    # The trail shows what changed only after a baseline of accounts without history.
    record_account_baselines(ids)
    bulk_update_with_history(
        accounts,
        Account,
        ["industry", "updated_at"],
        batch_size=1000,
        default_user=user,
        default_change_reason=reason,
    )


def _map_unmapped(
    industry: Industry, keys: frozenset[str], *, user: AbstractBaseUser, reason: str
) -> list[int]:
    unmapped = Account.objects.filter(industry__isnull=True).exclude(industry_raw="")
    accounts = _accounts_with_keys(unmapped, keys)
    for account in accounts:
        account.industry = industry
    _write_industries(accounts, user=user, reason=reason)
    return [account.pk for account in accounts]


def _unmap_removed(
    industry: Industry, keys: frozenset[str], *, user: AbstractBaseUser, reason: str
) -> list[int]:
    mapped = Account.objects.filter(industry=industry).exclude(industry_raw="")
    candidates = _accounts_with_keys(mapped, keys)
    if not candidates:
        return []
    # Another synonym or name may still map the raw value, such as a redundant synonym
    # with the key of the industry's own name, so each value is resolved again.
    resolver = IndustryResolver.load()
    changed = []
    for account in candidates:
        industry_id = resolver.resolve(account.industry_raw)
        if industry_id != industry.pk:
            account.industry_id = industry_id
            changed.append(account)
    _write_industries(changed, user=user, reason=reason)
    return [account.pk for account in changed]


def _stale_tag_overrides(before: IndustryState) -> list[StaleTagOverride]:
    """Return the tag overrides whose industry part is the industry's old name.

    They are kept as people set them, because a tag override is a person's decision.
    The tag editor rejects the old name, so Sales Ops set them again.
    NOTE: the admin's warning after the save is the only report of them: nothing is
    stored that lists them later.
    """
    checker = before.tag_checker
    if checker is None:
        return []
    stale = []
    overrides = (
        Account.objects.exclude(tag_override="")
        .order_by("id")
        .values_list("id", "name", "tag_override")
    )
    for account_id, name, tag in overrides.iterator(chunk_size=2000):
        parts = checker.parts(tag)
        if parts is not None and parts.get("industry") == before.name:
            stale.append(StaleTagOverride(account_id, name, tag))
    return stale


def _resegment_start(result: IndustryEditResult, *, user: AbstractBaseUser) -> None:
    try:
        framework = framework_get_active()
    except NoActiveFrameworkError as error:
        logger.warning(
            "Industry %s changed for %s accounts, which were not scored: %s",
            result.new_name,
            len(result.account_ids),
            error,
        )
        result.not_scored_reason = str(error)
        return
    ids = result.account_ids
    run = segmentation_run_create(
        framework=framework,
        kind=SegmentationRun.Kind.ACCOUNTS,
        total=len(ids),
        chunks=["selected"],
        triggered_by_id=user.pk,
        account_ids=ids,
    )
    result.run = run
    # Without a broker Celery runs tasks in the request anyway.
    result.in_request = (
        settings.CELERY_TASK_ALWAYS_EAGER or len(ids) <= settings.ICP_SEGMENTATION_BATCH_SIZE
    )
    logger.info(
        "Industry %s edited by user %s: re-segmenting %s accounts in run %s (%s)",
        result.new_name,
        user.pk,
        len(ids),
        run.pk,
        "in the request" if result.in_request else "in a Celery task",
    )
    if result.in_request:
        transaction.on_commit(partial(_segment_now, run.pk, ids))
    else:
        transaction.on_commit(partial(_segment_queue, run.pk, ids))


def _segment_now(run_id: int, account_ids: list[int]) -> None:
    run = SegmentationRun.objects.select_related("framework").get(pk=run_id)
    try:
        accounts_segment(account_ids=account_ids, run=run)
    except Exception:  # noqa: BLE001 - the edit is committed whatever scoring does
        # accounts_segment has marked the run failed with the error, which its page shows.
        logger.exception("Segmentation run %s after an industry edit failed", run_id)


def _segment_queue(run_id: int, account_ids: list[int]) -> None:
    from .tasks import accounts_selected_segment_task

    try:
        accounts_selected_segment_task.delay(run_id, account_ids)
    except (OperationalError, RedisError) as error:
        logger.exception("Could not queue segmentation run %s after an industry edit", run_id)
        segmentation_run_fail(run_id, error)
