"""Rewrite people's tag overrides when an approval changes the tag template.

A tag override keeps the spelling of the template it was set under. Without a rewrite,
approving a new template splits a segment in two: the framework's tags follow the new
template and the overrides keep the old one, which the tag editor no longer accepts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account, SegmentOverride, Tier
from accounts.research import value_setter_override

from .engine import CompiledFramework
from .models import Framework
from .tags import TagChecker

logger = logging.getLogger(__name__)

_TIER_LABELS = {value: str(label) for value, label in Tier.choices}
# Accounts named one by one in a rewrite's summary. The others are counted.
ACCOUNTS_LISTED = 10
_MAX_REASON_LENGTH = SegmentOverride._meta.get_field("reason").max_length


@dataclass(frozen=True)
class OverrideRewrite:
    """One account's tag override and its spelling under the new template."""

    account_id: int
    account_name: str
    old_tag: str
    new_tag: str


@dataclass(frozen=True)
class OverrideNotRewritten:
    """A tag override that cannot be read under the old template or written in the new one."""

    account_id: int
    account_name: str
    tag: str
    reason: str


@dataclass
class OverrideRewritePlan:
    """The tag overrides that approving ``target`` rewrites, and those it cannot."""

    old_template: str
    new_template: str
    rewrites: list[OverrideRewrite] = field(default_factory=list)
    not_rewritten: list[OverrideNotRewritten] = field(default_factory=list)

    def summary(self, *, done: bool = False) -> str:
        """Describe the counts and the overrides that stay, for pages, messages and logs.

        ``done`` describes an approval that has rewritten them, rather than a preview.
        """
        if done:
            text = (
                f"The tag template changed from {self.old_template!r} to "
                f"{self.new_template!r}: {len(self.rewrites):,} tag overrides set by people "
                f"were rewritten in the new template, and {len(self.not_rewritten):,} could "
                "not be and keep their spelling."
            )
        else:
            text = (
                f"The tag template changes from {self.old_template!r} to "
                f"{self.new_template!r}: {len(self.rewrites):,} tag overrides set by people "
                f"will be rewritten in the new template, and {len(self.not_rewritten):,} "
                "cannot be and keep their spelling."
            )
        if self.not_rewritten:
            listed = "; ".join(
                f"{item.account_name} (id {item.account_id}): {item.reason}"
                for item in self.not_rewritten[:ACCOUNTS_LISTED]
            )
            more = len(self.not_rewritten) - ACCOUNTS_LISTED
            text += f" Not rewritten: {listed}" + (f"; and {more:,} more." if more > 0 else ".")
        return text


def tag_override_rewrite_plan(source: Framework, target: Framework) -> OverrideRewritePlan | None:
    """Return how approving ``target`` after ``source`` changes people's tag overrides.

    Returns None when the two versions have the same tag template. Each override is read
    under ``source``'s template and values, its parts are written in ``target``'s template,
    and the result must be a tag that ``target`` accepts. A ``{tier}`` part is the
    account's tier in effect, and the approval's run writes the tier that ``target``
    gives into the account's tag. Raises FrameworkError when a version cannot compile.
    """
    if source.tag_template == target.tag_template:
        return None
    old_checker = TagChecker(CompiledFramework.compile(source), source.tag_template)
    new_checker = TagChecker(CompiledFramework.compile(target), target.tag_template)
    plan = OverrideRewritePlan(old_template=source.tag_template, new_template=target.tag_template)
    accounts = (
        Account.objects.exclude(tag_override="")
        .order_by("id")
        .values_list("id", "name", "tag_override", "tier_override", "tier")
    )
    for account_id, name, tag, tier_override, tier in accounts.iterator(chunk_size=2000):
        account_tier = tier_override or tier
        rewritten, reason = _rewrite(tag, old_checker, new_checker, account_tier)
        if reason:
            plan.not_rewritten.append(OverrideNotRewritten(account_id, name, tag, reason))
        elif rewritten != tag:
            plan.rewrites.append(OverrideRewrite(account_id, name, tag, rewritten))
    return plan


def _rewrite(
    tag: str, old_checker: TagChecker, new_checker: TagChecker, tier: str
) -> tuple[str, str]:
    """Return (the tag in the new template, "") or ("", why it cannot be rewritten)."""
    parts = old_checker.parts(tag)
    if parts is None:
        return "", f"{tag!r} does not follow the old template {old_checker.template!r}"
    # The tier part of a tag override names the tier in effect (see
    # CompiledFramework.tag_override_with_tier), so it is the account's tier here too.
    if tier in _TIER_LABELS:
        parts["tier"] = _TIER_LABELS[tier]
    try:
        candidate = new_checker.template.format_map(parts)
    except KeyError as error:
        return "", f"{tag!r} has no value for {{{error.args[0]}}} of the new template"
    try:
        return new_checker.clean(candidate, tier=tier or None), ""
    except ValidationError as error:
        return "", " ".join(error.messages)


# The start of the history reason of every rewritten account, which the monthly audit
# reads to tell the rewrite from a person's change. The history's reason column has 100
# characters, so the reason names the version only.
REWRITE_HISTORY_REASON = "Tag override rewritten in the tag template of framework v"


def _setter_text(override: SegmentOverride | None) -> str:
    """Return who set the rewritten tag, when and why, so the rewrite's reason keeps it."""
    if override is None or override.user is None:
        return "Set by a person whose change was not recorded."
    name = override.user.get_full_name() or override.user.get_username()
    when = timezone.localtime(override.created_at).strftime("%Y-%m-%d")
    return f"Set by {name} on {when}: {override.reason}"


def tag_overrides_rewrite(
    plan: OverrideRewritePlan, *, framework: Framework, user: AbstractBaseUser
) -> int:
    """Apply the plan's rewrites, each with a SegmentOverride row and a history reason.

    Call inside the approval's transaction. An account whose override changed since the
    plan was made is skipped. Only ``tag_override`` changes here: the approval's run then
    writes the new tag, so the run counts these accounts as moved with their tags gained
    and lost, as the impact preview does. Returns the number of accounts rewritten.

    ``user`` is the approver. The rewrite is the system's step, not the approver's change
    of the tag: its SegmentOverride row has no user, kind TEMPLATE_REWRITE and
    ``rewrite_of`` the person's change that set the tag, and its history row has no
    user. So the account page and the monthly audit keep naming that person.
    """
    rewritten = 0
    by_id = {item.account_id: item for item in plan.rewrites}
    approver = user.get_full_name() or user.get_username()
    accounts = Account.objects.select_for_update(of=("self",)).filter(pk__in=list(by_id))
    for account in accounts.order_by("id"):
        item = by_id[account.pk]
        if account.tag_override != item.old_tag:
            continue
        setter = value_setter_override(account, "tag", item.old_tag)
        reason = (
            f"Rewritten in the tag template {plan.new_template!r} of framework "
            f"v{framework.version}, approved by {approver}. {_setter_text(setter)}"
        )[:_MAX_REASON_LENGTH]
        account.tag_override = item.new_tag
        account._change_reason = f"{REWRITE_HISTORY_REASON}{framework.version}"
        account._history_user = None
        account.save(update_fields=["tag_override", "updated_at"])
        SegmentOverride.objects.create(
            account=account,
            kind=SegmentOverride.Kind.TEMPLATE_REWRITE,
            old_tag=account.tag,
            new_tag=item.new_tag,
            old_tier=account.tier,
            new_tier=account.tier,
            reason=reason,
            user=None,
            rep=account.owner,
            rewrite_of=setter,
        )
        rewritten += 1
    logger.info(
        "Framework v%s approval by user %s rewrote %s tag overrides in the new template, "
        "%s not rewritten (first account ids %s)",
        framework.version,
        user.pk,
        rewritten,
        len(plan.not_rewritten),
        [item.account_id for item in plan.not_rewritten[:ACCOUNTS_LISTED]],
    )
    return rewritten
