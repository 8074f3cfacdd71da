"""Services for people's research work on one account: tag and tier changes with a reason."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.text import capfirst

from audits.history import current_channel
from segmentation.models import ScoreRecord
from segmentation.tags import TagChecker, active_tag_checker

from .models import MAX_REASON_LENGTH, Account, SegmentOverride, Tier, VerificationStatus
from .normalizers.text import character_count, normalize_line_breaks
from .text_limits import StoredLengthValidator, stored_length

logger = logging.getLogger(__name__)

REASON_REQUIRED = "A reason is required when a person changes a tag or tier."
# Dimension of the explanation items that name a person's tag or tier.
MANUAL_DIMENSION = "manual"


def value_setter_override(account: Account, field_name: str, value: str) -> SegmentOverride | None:
    """Return the latest change by a person that set the account's tag or tier to ``value``.

    A template rewrite of the tag stands for the person's change it rewrote
    (``rewrite_of``), so the tag keeps its author after a new tag template is approved.
    Returns None when no recorded change set ``value``.
    """
    overrides = account.overrides.select_related("user", "rewrite_of__user").order_by(
        "-created_at", "-id"
    )
    override = (
        overrides.filter(**{f"new_{field_name}": value})
        .exclude(**{f"old_{field_name}": F(f"new_{field_name}")})
        .first()
    )
    if override is not None and override.kind == SegmentOverride.Kind.TEMPLATE_REWRITE:
        return override.rewrite_of
    return override


def _override_reason(account: Account, field_name: str, value: str) -> str:
    """Return who set the tag or tier ``value`` in force and why, from its latest override."""
    override = value_setter_override(account, field_name, value)
    if override is None or override.user is None:
        return "set by a person"
    name = override.user.get_full_name() or override.user.get_username()
    return f"set by {name}: {override.reason}"


def override_items(account: Account) -> list[dict]:
    """Build one explanation item per override in force: the tag's, then the tier's."""
    items = []
    for field_name, value in (("tag", account.tag_override), ("tier", account.tier_override)):
        if not value:
            continue
        label = field_name.capitalize()
        items.append(
            {
                "dimension": MANUAL_DIMENSION,
                "label": f"{label} override",
                "outcome": "override",
                "points": 0,
                "max_points": 0,
                "reason": f"{label} {value!r} {_override_reason(account, field_name, value)}",
            }
        )
    return items


def untagged_confirmation_message(account: Account) -> str:
    """Return why an account without a tag cannot be confirmed in a review, and what to do."""
    missing = ""
    if account.missing_fields:
        names = ", ".join(capfirst(str(name).replace("_", " ")) for name in account.missing_fields)
        missing = f" (missing for scoring: {names})"
    return (
        f"{account.name} has no tag{missing}, so it cannot be confirmed as correct. "
        "Correct it with a tag, or leave it undecided and send it back to its owner for "
        "enrichment: it stays in their queue under “Needs research” until it is tagged."
    )


def _route_for(account: Account, tier: str) -> str:
    """Return the route of ``tier`` on the account's framework.

    An account that needs enrichment or whose sources conflict gets none, whatever the
    tier a person sets, as segmentation.services._with_overrides decides on re-scoring.
    """
    if account.needs_enrichment or account.verification_status == VerificationStatus.CONFLICTING:
        return ""
    framework = account.framework
    if framework is None:
        return account.route
    routes = {
        Tier.HIGH: framework.high_tier_route,
        Tier.MEDIUM: framework.medium_tier_route,
        Tier.LOW: framework.low_tier_route,
    }
    return routes.get(tier, "")


@transaction.atomic
def account_segment_override(
    *,
    account: Account,
    user: AbstractBaseUser,
    kind: str,
    reason: str,
    tag: str | None = None,
    tier: str | None = None,
    tags: TagChecker | None = None,
) -> SegmentOverride:
    """Set an account's tag and/or tier by hand and record who did it and why.

    The new values are stored as overrides, which re-segmentation keeps, and a
    ScoreRecord is appended so the account's history and webhooks see the change. A
    confirmation (``tag`` and ``tier`` unchanged) records the decision without an override.

    The SegmentOverride row stores the channel of the change (page, API, task …) for the
    audit trail.
    Raises ValidationError when the reason is empty, the tier is not High, Medium or Low,
    or a review confirmation would leave the account without a tag, because a review
    counts a confirmation as a correct tag.

    A new ``tag`` must follow the active framework's tag template and is stored as the
    framework writes it (see segmentation.tags). ``tags`` is that check, for callers that
    change many accounts; without it the active framework is compiled here.
    """
    # Browsers send a textarea's line breaks as CRLF. Stored as LF, each counts once.
    reason = normalize_line_breaks(reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    reason_length = character_count(reason)
    if reason_length > MAX_REASON_LENGTH:
        raise ValidationError(
            {
                "reason": f"The reason is {reason_length} characters long, more than the "
                f"{MAX_REASON_LENGTH} allowed: shorten it."
            }
        )
    try:
        StoredLengthValidator(stored_length(MAX_REASON_LENGTH))(reason)
    except ValidationError as error:
        raise ValidationError({"reason": error.messages}) from error
    if tier is not None and tier not in Tier.values:
        raise ValidationError(
            {"tier": f"Tier {tier!r} is not valid: choose one of {', '.join(Tier.values)}."}
        )
    if tag is not None:
        tag = tag.strip()
        max_length = Account._meta.get_field("tag").max_length
        if not tag:
            raise ValidationError({"tag": "The tag is empty: enter a tag or keep the current one."})
        if len(tag) > max_length:
            raise ValidationError({"tag": f"The tag is longer than {max_length} characters."})

    # of=("self",): PostgreSQL cannot lock the nullable side of the framework outer join.
    locked = Account.objects.select_for_update(of=("self",)).select_related("framework")
    account = locked.get(pk=account.pk)
    if tag is not None and tag != account.tag:
        checker = tags or active_tag_checker()
        if checker is not None:
            tag = checker.clean(tag, tier=tier if tier is not None else account.tier)
    new_tag = tag if tag is not None else account.tag
    new_tier = tier if tier is not None else account.tier
    if kind == SegmentOverride.Kind.REVIEW_CONFIRMATION and not new_tag:
        raise ValidationError({"tag": untagged_confirmation_message(account)})
    override = SegmentOverride(
        account=account,
        kind=kind,
        old_tag=account.tag,
        new_tag=new_tag,
        old_tier=account.tier,
        new_tier=new_tier,
        reason=reason,
        user=user,
        rep=account.owner,
        channel=current_channel(),
    )
    if (new_tag, new_tier) == (account.tag, account.tier):
        override.save()
        logger.info("Account %s segment confirmed by user %s", account.pk, user.pk)
        return override

    # Only a changed value becomes an override, so a change of the tier alone leaves the
    # tag to the framework, which may move it when the account's data changes.
    if new_tag != account.tag:
        account.tag_override = new_tag
    if new_tier != account.tier:
        account.tier_override = new_tier
    account.tag = new_tag
    account.tier = new_tier
    account.route = _route_for(account, new_tier)
    account.save(
        update_fields=["tag", "tier", "tag_override", "tier_override", "route", "updated_at"]
    )
    # Saved after the account, so that the baseline row that the account's first recorded
    # change writes is dated before the override.
    override.save()

    latest = account.score_records.order_by("-created_at", "-id").first()
    # The overrides in force replace every earlier manual item, so a tier set again names
    # only its latest reason.
    explanation = [
        item
        for item in (latest.explanation if latest else [])
        if not (isinstance(item, dict) and item.get("dimension") == MANUAL_DIMENSION)
    ]
    explanation.extend(override_items(account))
    if account.framework_id is not None:
        ScoreRecord.objects.create(
            account=account,
            framework_id=account.framework_id,
            score=account.score,
            tier=new_tier,
            tag=new_tag,
            route=account.route,
            size_band=account.size_band,
            geography=account.geography,
            needs_enrichment=account.needs_enrichment,
            missing_fields=account.missing_fields,
            explanation=explanation,
        )
    logger.info(
        "Account %s segment changed by user %s (%s): %r/%s -> %r/%s",
        account.pk,
        user.pk,
        kind,
        override.old_tag,
        override.old_tier,
        new_tag,
        new_tier,
    )
    return override
