"""Display helpers for account pages: tier badges, ranges, field labels and flags."""

from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from accounts.models import (
    REVIEW_FLAG_IMPORT_KEY,
    REVIEW_FLAG_LINES_KEY,
    Account,
    SegmentOverride,
    Tier,
)
from accounts.normalizers.errors import visible_controls
from accounts.normalizers.text import character_count
from accounts.observation_text import buying_signal_label, observation_text
from accounts.roles import ALL_ROLES
from accounts.selectors import OVERRIDES_LIMIT
from enrichment.models import Observation
from enrichment.verification import CONFLICTING, source_label
from segmentation.models import Dimension

register = template.Library()


@register.filter(name="character_count")
def character_count_filter(value: Any) -> int:
    """Return the user-perceived characters of a text, as the counters of the pages count."""
    return character_count(str(value or ""))


TIER_LABELS = dict(Tier.choices)
DIMENSION_LABELS = dict(Dimension.choices)


def employee_range_label(account: Account) -> str:
    """Return the head count as a range label such as "201–500", "10,001+" or "500".

    Falls back to the best single estimate, then to the raw source text, and returns an
    empty string when nothing is known.
    """
    low, high = account.employee_min, account.employee_max
    if low is not None and high is not None:
        return f"{low:,}" if low == high else f"{low:,}–{high:,}"
    if low is not None:
        return f"{low:,}+"
    if account.employee_count is not None:
        return f"{account.employee_count:,}"
    return account.employee_raw


@register.filter
def employee_range(account: Account) -> str:
    return employee_range_label(account)


@register.simple_tag
def tier_badge(tier: str) -> SafeString:
    """Render a tier as a coloured badge, or a dash for an unscored account."""
    if not tier:
        return format_html('<span class="text-body-secondary">{}</span>', "—")
    label = TIER_LABELS.get(tier, tier)
    return format_html('<span class="badge tier-badge tier-{}">{}</span>', tier, label)


@register.simple_tag
def hand_set_mark(field_label: str, stacked: bool = False) -> SafeString:
    """Render the mark of a tag or tier that a person set by hand rather than the framework.

    ``field_label`` is "Tag" or "Tier". Screen readers read "<field_label> set by hand" in
    place of the visible "by hand". A ``stacked`` mark sits on its own line under the
    value, so that it does not widen a narrow column such as the tier's.
    """
    return format_html(
        '<span class="badge hand-set-badge{1}" data-testid="hand-set" title="{0} set by hand. '
        'Re-scoring keeps it until it is cleared or changed.">'
        '<span aria-hidden="true">by hand</span>'
        '<span class="visually-hidden">{0} set by hand</span></span>',
        field_label,
        " hand-set-stacked" if stacked else "",
    )


@register.simple_tag
def fit_validation_badge(account: Account) -> SafeString | str:
    """Render who last validated the account's fit in discovery, and when, or nothing.

    The account page prefetches the newest overrides (``recent_overrides``), so it needs
    no query unless all of them are other kinds and more exist.
    """
    fit = SegmentOverride.Kind.FIT_VALIDATION
    recent = getattr(account, "recent_overrides", None)
    override = None
    if recent is not None:
        override = next((item for item in recent if item.kind == fit), None)
    if override is None and (recent is None or len(recent) >= OVERRIDES_LIMIT):
        override = (
            SegmentOverride.objects.filter(account_id=account.pk, kind=fit)
            .select_related("user")
            .order_by("-created_at", "-id")
            .first()
        )
    if override is None:
        return ""
    changed = (override.old_tag, override.old_tier) != (override.new_tag, override.new_tier)
    user = override.user
    name = (user.get_full_name() or user.get_username()) if user is not None else "a deleted user"
    when = date_format(timezone.localtime(override.created_at), "j M Y")
    return format_html(
        '<span class="badge text-bg-light border" data-testid="fit-validated" title="{}">'
        "Fit {} by {}, {}</span>",
        override.reason,
        "refined" if changed else "confirmed",
        name,
        when,
    )


@register.filter
def role_summary(roles: frozenset[str]) -> str:
    """Return the role names joined in the order of ``ALL_ROLES``."""
    return ", ".join(role for role in ALL_ROLES if role in roles)


@register.filter
def field_label(name: str) -> str:
    """Return the verbose name of an Account field, or the name made readable."""
    try:
        verbose_name = Account._meta.get_field(name).verbose_name
    except FieldDoesNotExist:
        verbose_name = name.replace("_", " ")
    return capfirst(str(verbose_name))


# Missing field of a score -> the field_status entry that verifies it.
MISSING_FIELD_STATUS_KEYS = {
    "industry": "industry",
    "company_size": "company_size",
    "geography": "country",
}


@register.filter
def sources_conflict(field_status: Any, missing_field: str) -> bool:
    """Return whether a missing field of the score is missing because its sources conflict."""
    statuses = field_status if isinstance(field_status, dict) else {}
    entry = statuses.get(MISSING_FIELD_STATUS_KEYS.get(missing_field, missing_field)) or {}
    return entry.get("status") == CONFLICTING


@register.filter
def duration(seconds: float) -> str:
    """Return a number of seconds in words: "30 seconds", "10 minutes", "1.5 hours"."""
    seconds = float(seconds)
    if seconds < 120:
        amount, unit = seconds, "second"
    elif seconds < 2 * 3600:
        amount, unit = seconds / 60, "minute"
    else:
        amount, unit = seconds / 3600, "hour"
    amount = round(amount, 1)
    text = f"{amount:g}"
    return f"{text} {unit}" if amount == 1 else f"{text} {unit}s"


@register.filter(name="source_label")
def source_label_filter(source: str) -> str:
    """Return a source's display name, such as "S&P 500" for sp500."""
    return source_label(source)


@register.filter
def dimension_label(dimension: str) -> str:
    return DIMENSION_LABELS.get(dimension, dimension.replace("_", " ").capitalize())


@register.filter
def outcome_label(outcome: Any) -> str:
    return str(outcome or "").replace("_", " ").capitalize()


@register.filter
def item_text(item: Any) -> SafeString | str:
    """Render one entry of a JSON list field: a string as is, a mapping as key: value pairs.

    Review flags, technologies and buying signals may be stored either way depending on
    the source, so the page shows both forms without dropping keys.
    """
    if isinstance(item, dict):
        return format_html_join(
            "; ",
            '<span class="text-body-secondary">{}:</span> {}',
            ((capfirst(str(key).replace("_", " ")), value) for key, value in item.items()),
        )
    return str(item)


# Keys of a review flag that review_flag_text renders in its sentence.
_REVIEW_FLAG_SENTENCE_KEYS = {
    "field",
    "value",
    "message",
    REVIEW_FLAG_LINES_KEY,
    REVIEW_FLAG_IMPORT_KEY,
}


@register.filter
def review_flag_text(flag: Any) -> SafeString | str:
    """Render a review flag as one sentence: field, value, file lines, import and message.

    Keys other than those are appended as key: value pairs, so no stored key is hidden.
    """
    if not isinstance(flag, dict):
        return str(flag)
    field_label = capfirst(str(flag.get("field", "")).replace("_", " "))
    text = format_html("<strong>{}</strong>", field_label)
    if flag.get("value") not in (None, ""):
        # The stored value keeps its tabs and line breaks, and the page shows them as escapes.
        text = format_html("{} “{}”", text, visible_controls(str(flag["value"])))
    origin = []
    lines = flag.get(REVIEW_FLAG_LINES_KEY)
    if isinstance(lines, list) and lines:
        numbers = [str(line) for line in lines]
        if len(numbers) == 1:
            origin.append(format_html("file line {}", numbers[0]))
        else:
            listed = f"{', '.join(numbers[:-1])} and {numbers[-1]}"
            origin.append(format_html("file lines {}", listed))
    import_id = flag.get(REVIEW_FLAG_IMPORT_KEY)
    if isinstance(import_id, int):
        url = reverse("accounts:import-detail", args=[import_id])
        origin.append(format_html('<a href="{}">import {}</a>', url, import_id))
    if origin:
        text = format_html(
            "{} ({})", text, format_html_join(", ", "{}", ((part,) for part in origin))
        )
    if flag.get("message"):
        text = format_html("{}: {}", text, flag["message"])
    extra = {key: value for key, value in flag.items() if key not in _REVIEW_FLAG_SENTENCE_KEYS}
    if extra:
        text = format_html("{}; {}", text, item_text(extra))
    return text


@register.filter
def json_value(value: Any) -> SafeString | str:
    """Render a JSON value stored by a source: lists item by item, empty values as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, list):
        return format_html_join(", ", "{}", ((item_text(item),) for item in value))
    return item_text(value)


@register.filter
def observation_value(observation: Observation) -> str:
    """Render an observation's value as a person reads it, such as "11–50 employees".

    Uses ``display_text`` when ``accounts.selectors.observation_texts_set`` set it, which
    also names the industries.
    """
    text = getattr(observation, "display_text", None)
    if text is None:
        text = observation_text(observation.field, observation.value, {})
    return text


@register.filter
def buying_signal(signal: Any) -> SafeString | str:
    """Render one buying signal: a slug by its label, a mapping as key: value pairs."""
    if isinstance(signal, dict):
        return item_text(signal)
    return buying_signal_label(signal)


@register.filter
def http_url(url: str) -> str:
    """Return the URL when it uses http or https, else an empty string.

    Imported websites are untrusted text, and a ``javascript:`` URL in a link would run
    script when clicked.
    """
    candidate = (url or "").strip()
    if candidate.lower().startswith(("http://", "https://")):
        return candidate
    return ""


@register.filter
def closing_period(text: Any) -> str:
    """Return the period that ends a sentence after ``text``, or "" when it ends with one.

    A list of names such as "Acme Corp." already ends the sentence.
    """
    return "" if str(text or "").rstrip().endswith(".") else "."
