"""Check a tag that a person types against the tag template of a framework version.

A tag follows the template when each placeholder contains a value of the framework:
an industry of the taxonomy, a size band, a geography label, a country code or a tier. Case,
Unicode normalization, the dash and spaces between the parts, and the dashes inside a value
and the spaces around them may differ. The tag is then stored as the framework would write
it, so "saas - mid-market - apac" becomes "SaaS – Mid-Market – APAC" and a typo
cannot start a tag of its own.
"""

from __future__ import annotations

import re
import string
import unicodedata

from django.core.exceptions import ValidationError

from accounts.models import Tier

from .engine import CompiledFramework, caseless_key
from .selectors import NoActiveFrameworkError, framework_get_active

# Dashes that people type between the parts of a tag: hyphen-minus, en dash, em dash.
_DASHES = "-–—"
_DASHES_AS_HYPHEN = str.maketrans(_DASHES, "-" * len(_DASHES))
_SPACED_DASH = re.compile(rf"\s*([{_DASHES}])\s*")
_TIER_LABELS = {value: str(label) for value, label in Tier.choices}


def _literal_pattern(text: str) -> str:
    """Match the text between placeholders, with any dash and any spaces around dashes."""
    parts = []
    for character in text:
        if character in _DASHES:
            parts.append(rf"\s*[{_DASHES}]\s*")
        elif character.isspace():
            parts.append(r"\s*")
        else:
            parts.append(re.escape(character))
    return "".join(parts)


def _value_pattern(name: str) -> str:
    """Match a known value as typed, with any dash and any spaces around each dash in it."""
    parts = []
    for character in _SPACED_DASH.sub(r"\1", name):
        if character in _DASHES:
            parts.append(rf"\s*[{_DASHES}]\s*")
        else:
            parts.append(re.escape(character))
    return "".join(parts)


class TagChecker:
    """The tag template of one framework version, compiled to a pattern of known values."""

    def __init__(self, compiled: CompiledFramework, template: str) -> None:
        self.version = compiled.version
        self.template = template
        self._values: dict[str, dict[str, str]] = {
            "industry": _by_key(compiled.industry_names.values()),
            "size_band": _by_key(band.name for band in compiled.size_bands),
            "geography": _by_key([*compiled.geography_labels(), compiled.unmapped_label]),
            "country": _by_key(compiled.countries()),
            "tier": _by_key(_TIER_LABELS.values()),
        }
        self._fields: list[str] = []
        pattern = []
        for literal, field_name, _spec, _conversion in string.Formatter().parse(template):
            pattern.append(_literal_pattern(literal))
            if field_name is None:
                continue
            values = self._values.get(field_name, {})
            # Longer values first, so that "Mid-Market" is tried before a shorter prefix.
            names = sorted(
                (unicodedata.normalize("NFC", name) for name in values.values()),
                key=len,
                reverse=True,
            )
            pattern.append("(" + "|".join(_value_pattern(name) for name in names) + ")")
            self._fields.append(field_name)
        self._pattern = re.compile("".join(pattern), re.IGNORECASE)

    def parts(self, tag: str) -> dict[str, str] | None:
        """Return the value of each placeholder in the tag, as the framework writes it.

        Returns None when the tag does not follow the template.
        """
        match = self._pattern.fullmatch(unicodedata.normalize("NFC", tag.strip()))
        if match is None:
            return None
        found: dict[str, str] = {}
        for field_name, value in zip(self._fields, match.groups(), strict=True):
            # The pattern's IGNORECASE also matches letters whose casefold differs,
            # such as a dotless ı for I, so a match may name no known value.
            spelled = self._values[field_name].get(_value_key(value))
            # A placeholder used twice must contain the same value both times.
            if spelled is None or found.setdefault(field_name, spelled) != spelled:
                return None
        return found

    def clean(self, tag: str, *, tier: str | None = None) -> str:
        """Return the tag as the framework writes it, or raise ValidationError naming the fix.

        ``tier`` is the tier the account will have (high, medium, low). When the template
        has a ``{tier}`` part, the tag must name that tier, so the tag and the tier cannot
        disagree. The error is keyed by the ``tag`` field, as forms and the API report it.
        """
        found = self.parts(tag)
        if found is None:
            message = (
                f"Tag {tag!r} does not follow the tag template {self.template!r} of framework "
                f"v{self.version}: {self._hint()}"
            )
            raise ValidationError({"tag": ValidationError(message, code="tag_template")})
        expected = _TIER_LABELS.get(tier or "")
        if "tier" in found and expected and found["tier"] != expected:
            message = (
                f"Tag {tag!r} names the tier {found['tier']}, but the tier it gets is "
                f"{expected}: write {expected} in the tag, or set the tier to {found['tier']}."
            )
            raise ValidationError({"tag": ValidationError(message, code="tag_tier")})
        return self.template.format_map(found)

    def with_tier(self, tag: str, tier: str) -> str:
        """Return the tag with its ``{tier}`` part naming ``tier`` (high, medium, low).

        A tag without that part, one that does not follow the template, or an unknown
        ``tier`` is returned unchanged.
        """
        label = _TIER_LABELS.get(tier)
        found = self.parts(tag)
        if label is None or found is None or "tier" not in found or found["tier"] == label:
            return tag
        found["tier"] = label
        return self.template.format_map(found)

    def spelling(self, tag: str) -> str:
        """Return the tag as the framework writes it, or stripped when it does not fit."""
        try:
            return self.clean(tag)
        except ValidationError:
            return tag.strip()

    def _hint(self) -> str:
        """Return the values that the template's placeholders accept, in template order."""
        descriptions = {
            "industry": "an industry of the taxonomy (such as SaaS)",
            "size_band": f"a size band ({self._listed('size_band')})",
            "geography": f"a geography ({self._listed('geography')})",
            "country": "a two-letter country code of the framework's map (such as US)",
            "tier": f"a tier ({self._listed('tier')})",
        }
        parts = [descriptions[name] for name in dict.fromkeys(self._fields)]
        if not parts:
            return "use the template's text as it is."
        if len(parts) > 1:
            parts[-2:] = [f"{parts[-2]} and {parts[-1]}"]
        return f"use {', '.join(parts)}."

    def _listed(self, field_name: str) -> str:
        names = list(self._values[field_name].values())
        if field_name == "geography":
            names.sort()
        return ", ".join(names) or "none defined"


def _value_key(value: str) -> str:
    """Return the key of a value in a tag: ``caseless_key``, with every dash a hyphen-minus.

    Spaces around a dash are dropped, so "Small-Medium" and "Small - Medium" share a key.
    """
    return _SPACED_DASH.sub("-", caseless_key(value).translate(_DASHES_AS_HYPHEN))


def _by_key(names) -> dict[str, str]:
    return {_value_key(name): name for name in names if name}


def active_tag_checker() -> TagChecker | None:
    """Return the checker of the active framework's template, or None when none is approved."""
    try:
        framework = framework_get_active()
    except NoActiveFrameworkError:
        return None
    return TagChecker(CompiledFramework.compile(framework), framework.tag_template)
