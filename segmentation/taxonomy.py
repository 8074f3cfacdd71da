"""Map source industry labels to the canonical taxonomy through stored synonyms.

Every label of the taxonomy, an industry's name or a synonym, maps one lookup key
(``industry_key``) to one industry. ``industry_name_conflict`` and
``synonym_value_conflict`` keep it that way: a label whose key another industry's label
already has is rejected, because imports and criteria could not tell the two apart.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from accounts.normalizers.text import industry_key
from accounts.permissions import can_manage_taxonomy

from .models import Industry, IndustrySynonym
from .validation import hidden_character_error

# Appended to conflict messages so that a reader knows which differences do not count.
_IGNORED_DIFFERENCES = "ignoring case, spacing and punctuation"


class IndustryResolver:
    """An in-memory copy of the synonym table, loaded once per import or run.

    A label matches when its ``industry_key`` equals a synonym's key or the key of a
    canonical industry name. Unmatched labels return None and are kept raw by callers.
    """

    def __init__(self, key_to_industry_id: dict[str, int]) -> None:
        self._key_to_industry_id = key_to_industry_id

    @classmethod
    def load(cls) -> IndustryResolver:
        mapping = dict(IndustrySynonym.objects.values_list("key", "industry_id"))
        # Names are written last, so a canonical name maps to its own industry even where
        # a synonym of another industry has the same key (saved before such synonyms were
        # rejected). Of two names with one key, the older industry (lower id) wins.
        names = Industry.objects.order_by("-id").values_list("id", "name")
        mapping.update((industry_key(name), industry_id) for industry_id, name in names)
        return cls(mapping)

    def resolve(self, raw: str | None) -> int | None:
        """Return the canonical industry id for a source label, or None when unmapped."""
        if not raw:
            return None
        return self._key_to_industry_id.get(industry_key(raw))

    def resolve_first(self, labels: list[str]) -> tuple[int | None, str]:
        """Resolve the most specific label that maps, trying ``labels`` in order.

        Returns the industry id (or None) and the label that matched, or the first
        non-empty label when none matched, so callers keep the raw value.
        """
        first_label = ""
        for label in labels:
            if not label:
                continue
            first_label = first_label or label
            industry_id = self.resolve(label)
            if industry_id is not None:
                return industry_id, label
        return None, first_label


# Code of the ValidationError for a label that matches no industry or synonym, so that a
# form can offer to keep such a label unmapped.
UNKNOWN_INDUSTRY = "unknown_industry"


def unknown_industry_message(label: str, user: AbstractBaseUser | None) -> str:
    """Return the error for an industry the taxonomy lacks, with a fix the user can make.

    Only staff users who manage the taxonomy can open its admin page, so only they are
    sent there.
    """
    message = (
        f"Industry {label!r} matches no industry or synonym. Pick one of the listed values "
        f"or enter an industry name such as SaaS. To use {label!r} itself, "
    )
    if user is not None and user.is_staff and can_manage_taxonomy(user):
        return f"{message}add it as a synonym in the admin under Segmentation > Industries."
    return f"{message}ask Sales Ops to add it as a synonym of an industry."


def unknown_industry_api_message(label: str) -> str:
    """Return the API's error for an industry label that matches no industry or synonym.

    It lists the industries, which the account page's industry input suggests, and names
    ``allow_unmapped``, the API's counterpart of the page's "Save as unmapped anyway".
    """
    names = ", ".join(Industry.objects.order_by("name").values_list("name", flat=True))
    return (
        f"Industry {label!r} matches no industry or synonym. Send the name or a synonym of "
        f"an industry ({names or 'none defined'}), or its industry_id. To keep {label!r} "
        "without an industry until Sales Ops maps it, send allow_unmapped: true with it."
    )


def industry_label_resolve(label: str, *, user: AbstractBaseUser | None) -> int:
    """Return the id of the industry whose name or synonym a person typed as ``label``.

    Labels match by lookup key, so case, spacing and punctuation do not count. Raises
    ValidationError with code UNKNOWN_INDUSTRY, naming the label and the fix that
    ``user`` can make, when no industry or synonym matches.
    """
    industry_id = IndustryResolver.load().resolve(label)
    if industry_id is None:
        raise ValidationError(unknown_industry_message(label, user), code=UNKNOWN_INDUSTRY)
    return industry_id


def _industry_with_key(key: str, *, exclude_pk: int | None) -> Industry | None:
    """Return the industry other than ``exclude_pk`` whose name has the lookup key ``key``."""
    industries = Industry.objects.exclude(pk=exclude_pk) if exclude_pk else Industry.objects
    # Keys are computed in Python (NFKC, casefolding, punctuation), so every name is read.
    # The loaded taxonomy has 28 industries.
    for industry in industries.order_by("id").only("id", "name"):
        if industry_key(industry.name) == key:
            return industry
    return None


def industry_name_conflict(name: str, *, industry_pk: int | None) -> str | None:
    """Return why ``name`` cannot name the industry ``industry_pk``, or None when it can.

    ``industry_pk`` is None for a new industry. The name must have letters or digits, and
    its lookup key must differ from the names of the other industries and from their
    synonyms. The industry's own synonyms are not checked here: one with the same key is
    redundant but maps to the same industry.
    """
    hidden = hidden_character_error(name, "The industry name")
    if hidden:
        return hidden
    key = industry_key(name)
    if not key:
        return f"The name {name!r} has no letters or digits: enter an industry name."
    other = _industry_with_key(key, exclude_pk=industry_pk)
    if other is not None:
        return (
            f"{name!r} is the name of the industry {other.name!r}, "
            f"{_IGNORED_DIFFERENCES}, so criteria and imports could not tell the two apart. "
            f"Edit {other.name!r} instead, or choose another name."
        )
    synonyms = IndustrySynonym.objects.filter(key=key).select_related("industry")
    if industry_pk is not None:
        synonyms = synonyms.exclude(industry_id=industry_pk)
    synonym = synonyms.first()
    if synonym is not None:
        owner = synonym.industry.name
        return (
            f"{name!r} is already a synonym of the industry {owner!r} (as {synonym.value!r}, "
            f"{_IGNORED_DIFFERENCES}), so imports map it to {owner!r}. To make it an "
            f"industry of its own, first delete that synonym from {owner!r}. Otherwise "
            "choose another name."
        )
    return None


def synonym_value_conflict(
    value: str,
    *,
    industry: Industry,
    synonym_pk: int | None,
    reject_own_name: bool,
) -> str | None:
    """Return why ``value`` cannot be a synonym of ``industry``, or None when it can.

    ``synonym_pk`` is None for a new synonym. The lookup key must differ from every other
    synonym and from the names of the other industries. With ``reject_own_name``, a value
    with the key of the industry's own name is rejected too, because it adds nothing.
    ``industry.name`` is read from the instance, so an unsaved rename counts.
    """
    hidden = hidden_character_error(value, "The synonym")
    if hidden:
        return hidden
    key = industry_key(value)
    if not key:
        return f"The synonym {value!r} has no letters or digits: enter an industry name."
    clashes = IndustrySynonym.objects.filter(key=key).select_related("industry")
    if synonym_pk is not None:
        clashes = clashes.exclude(pk=synonym_pk)
    clash = clashes.first()
    if clash is not None:
        return (
            f"{value!r} matches the existing synonym {clash.value!r} of {clash.industry}: "
            "edit or delete that synonym instead."
        )
    other = _industry_with_key(key, exclude_pk=industry.pk)
    if other is not None:
        return (
            f"{value!r} is the name of the industry {other.name!r}, {_IGNORED_DIFFERENCES}, "
            f"so it cannot be a synonym of {industry.name!r}: imports map it to "
            f"{other.name!r}. To map it to {industry.name!r}, first rename or delete the "
            f"industry {other.name!r}."
        )
    if reject_own_name and industry_key(industry.name or "") == key:
        return (
            f"{value!r} is already the name of the industry {industry.name!r}, "
            f"{_IGNORED_DIFFERENCES}, so imports map it to {industry.name!r} without a "
            "synonym: remove this row."
        )
    return None
