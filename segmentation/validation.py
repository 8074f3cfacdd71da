"""Checks of a framework version's settings, shared by model ``clean()`` and admin forms.

Each function takes plain values or unsaved model instances and returns error messages,
so admin forms can check what a person typed before anything is saved.
"""

from __future__ import annotations

import copy
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .engine import (
    CompiledFramework,
    FrameworkError,
    _CompiledCriterion,
    _SizeBand,
    caseless_key,
    term_key,
)
from .models import Dimension

if TYPE_CHECKING:
    from .models import Criterion, Framework, SizeBand

TAG_PLACEHOLDERS = ("industry", "size_band", "geography", "country", "tier")
# Characters that separate the parts of a tag, as in "SaaS – Mid-Market – APAC".
TAG_SEPARATORS = "–—|/·,;"
# A hyphen separates only with a space or the end of the template on each side, because
# band names such as Mid-Market contain one. The lookarounds leave the spaces in the
# parts, so "{industry} - - {tier}" has an empty part between its hyphens.
_SEPARATOR_PATTERN = re.compile(r"(?:(?<=\s)|^)-(?=\s|$)|[" + re.escape(TAG_SEPARATORS) + "]")
# Within the text between two placeholders, where a placeholder's value touches each end:
# a hyphen next to a value or another character, and a separator that is not one.
_BARE_HYPHEN = re.compile(r"(?<!\s)-|-(?!\s)")
_SPACED_SEPARATOR = re.compile(r"\s-\s|[" + re.escape(TAG_SEPARATORS) + "]")
MAX_SCORE = 100


# The Default_Ignorable_Code_Point ranges of DerivedCoreProperties.txt in Unicode 16.0.0,
# 4,174 code points, with adjacent lines merged. Text renderers draw these as nothing.
# Besides format characters (category Cf) they include U+034F COMBINING GRAPHEME JOINER,
# the variation selectors and the Hangul fillers, which are letters. A test compares the
# ranges with the regex package's \p{Default_Ignorable_Code_Point}.
DEFAULT_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER, HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ and AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORs, MONGOLIAN VOWEL SEPARATOR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE .. RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # LEFT-TO-RIGHT EMBEDDING .. RIGHT-TO-LEFT OVERRIDE
    (0x2060, 0x206F),  # WORD JOINER .. NOMINAL DIGIT SHAPES, with unassigned U+2065
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1 .. VARIATION SELECTOR-16
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE (byte order mark)
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # unassigned
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT LETTER OVERLAP .. SHORTHAND FORMAT UP STEP
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN BEAM .. MUSICAL SYMBOL END PHRASE
    (0xE0000, 0xE0FFF),  # LANGUAGE TAG, TAG characters, VARIATION SELECTOR-17..256
)
_DEFAULT_IGNORABLE = frozenset(
    code_point for low, high in DEFAULT_IGNORABLE_RANGES for code_point in range(low, high + 1)
)
# U+2800 BRAILLE PATTERN BLANK is not default-ignorable, but it prints as an empty cell
# that reads as a space, and no industry, band, region or route is named in Braille.
BLANK_CHARACTERS = frozenset({"\u2800"})


def is_invisible(char: str) -> bool:
    """Return whether ``char`` prints as nothing or as a blank that is not a space.

    That is a default-ignorable code point (DEFAULT_IGNORABLE_RANGES), any other format
    character (category Cf, such as U+0600 ARABIC NUMBER SIGN) or U+2800. Spaces other
    than U+0020 are checked by ``is_other_space``.
    """
    return (
        ord(char) in _DEFAULT_IGNORABLE
        or char in BLANK_CHARACTERS
        or unicodedata.category(char) == "Cf"
    )


def invisible_characters(value: str) -> list[str]:
    """Return the invisible characters (see ``is_invisible``) in ``value``, each once.

    They include U+200B..U+200D (zero-width space and joiners), U+2060 (word joiner),
    U+FEFF (byte order mark), the bidirectional controls U+202A..U+202E and
    U+2066..U+2069, U+034F (combining grapheme joiner) and U+3164 (Hangul filler). They
    print as nothing, so "SMB" followed by U+200B looks like "SMB" but is another name.
    """
    return list(dict.fromkeys(char for char in value if is_invisible(char)))


# Everyday names of common control characters (category Cc), which have no character
# name in the Unicode character database.
_CONTROL_CHARACTER_NAMES = {
    "\x00": "a NUL character",
    "\b": "a backspace",
    "\t": "a tab character",
    "\n": "a line break",
    "\v": "a vertical tab",
    "\f": "a form feed",
    "\r": "a carriage return",
    "\x1b": "an escape character",
    "\x7f": "a delete character",
    "\x85": "a next line character",
}


def _character_name(char: str) -> str:
    """Return "U+3164 HANGUL FILLER", "a tab character (U+0009)" or "U+2065 <unassigned>".

    Control characters get their everyday name (``_CONTROL_CHARACTER_NAMES``) or "a
    control character (U+0001)", each with the code point.
    """
    code_point = f"U+{ord(char):04X}"
    if unicodedata.category(char) == "Cc":
        name = _CONTROL_CHARACTER_NAMES.get(char, "a control character")
        return f"{name} ({code_point})"
    return f"{code_point} {unicodedata.name(char, '<unassigned>')}"


def _visible_repr(value: str) -> str:
    """Return ``repr(value)`` with every invisible character written as an escape.

    ``repr`` escapes format characters but prints letters and marks such as U+3164 and
    U+034F as they are, which shows nothing.
    """
    parts = []
    for char in repr(value):
        if not is_invisible(char):
            parts.append(char)
        elif ord(char) > 0xFFFF:
            parts.append(f"\\U{ord(char):08x}")
        else:
            parts.append(f"\\u{ord(char):04x}")
    return "".join(parts)


def invisible_character_error(value: str | None, value_name: str) -> str:
    """Return why ``value`` is rejected for its invisible characters, or "" without any.

    ``value_name`` names the value, such as "The size band name".
    """
    characters = invisible_characters(value or "")
    if not characters:
        return ""
    names = ", ".join(_character_name(char) for char in characters)
    return (
        f"{value_name} {_visible_repr(value or '')} contains invisible characters ({names}), "
        "so it looks like another value but does not match it: delete them, or type the "
        "text again."
    )


def is_other_space(char: str) -> bool:
    """Return whether ``char`` is whitespace other than U+0020 SPACE.

    That is what ``str.isspace`` accepts: the space separators (category Zs, such as
    U+00A0 NO-BREAK SPACE and U+2009 THIN SPACE), U+2028 and U+2029, and the controls
    tab, line feed, vertical tab, form feed, carriage return, U+001C..U+001F and U+0085.
    Names, labels and values are single lines, and in them a no-break space prints like
    a plain one but makes another tag part and filter value.
    """
    return char != " " and char.isspace()


def other_space_error(value: str | None, value_name: str) -> str:
    """Return why ``value`` is rejected for spaces other than U+0020, or "" without any.

    The message names each such character with its position, counted in characters from 1.
    """
    found = [
        f"{_character_name(char)} at character {position}"
        for position, char in enumerate(value or "", start=1)
        if is_other_space(char)
    ]
    if not found:
        return ""
    return (
        f"{value_name} {_visible_repr(value or '')} contains {', '.join(found)}, which "
        "looks like a plain space but does not match one: type a plain space instead."
    )


def repeated_space_error(value: str | None, value_name: str) -> str:
    """Return why ``value`` is rejected for two or more spaces in a row, or "" without any.

    A page shows a run of spaces as one, so "SaaS  –  SMB" looks like "SaaS – SMB" but is
    another tag. The message gives the position of each run, counted in characters from 1.
    """
    text = value or ""
    positions = [str(run.start() + 1) for run in re.finditer(" {2,}", text)]
    if not positions:
        return ""
    where = f"character{'s' if len(positions) > 1 else ''} {', '.join(positions)}"
    return (
        f"{value_name} {_visible_repr(text)} contains two or more spaces in a row at {where}, "
        "which a page shows as one space: type one space."
    )


def hidden_character_error(value: str | None, value_name: str) -> str:
    """Return why ``value`` is rejected for hidden characters, or "" without any.

    Hidden characters are invisible ones (``is_invisible``) and spaces other than U+0020
    (``is_other_space``). Either makes a value look like another that it does not match.
    Every name of a framework and the taxonomy, and every value that ends up in a tag, a
    route or a criterion's match, goes through this check, so the rule lives in one place.
    """
    messages = [
        invisible_character_error(value, value_name),
        other_space_error(value, value_name),
    ]
    return " ".join(message for message in messages if message)


def tag_text_error(value: str | None, value_name: str) -> str:
    """Return why text that tags and routes show as typed is rejected, or "" when it is not.

    Such text, a band name or a geography label, also rejects runs of spaces, which a page
    shows as one. Names that are looked up by ``name_key`` collapse them instead.
    """
    messages = [
        hidden_character_error(value, value_name),
        repeated_space_error(value, value_name),
    ]
    return " ".join(message for message in messages if message)


def name_key(value: str) -> str:
    """Return the key under which two names are the same (``engine.caseless_key``).

    Case and Unicode normalization are ignored, any run of whitespace, a no-break space
    (U+00A0) included, counts as one space, and invisible characters (see
    ``is_invisible``) are dropped. So "Target industry" with a no-break space repeats
    "Target industry". ``hidden_character_error`` rejects such names on their own, but
    versions saved before that rule may still contain them.
    """
    visible = "".join(char for char in value if not is_invisible(char))
    return caseless_key(" ".join(visible.split()))


def normalization_note(first: str, second: str) -> str:
    """Return a sentence saying how two spellings of one name differ in code points, or "".

    "Café" typed with U+00E9 and "Café" typed as "e" followed by U+0301 print alike, so
    a message that quotes both would otherwise show two identical values. Returns "" when
    neither spelling changes under Unicode normalization form C.
    """
    if first == second:
        return ""
    if all(unicodedata.normalize("NFC", name) == name for name in (first, second)):
        return ""
    return (
        f" They look alike but differ in Unicode normalization, written as {ascii(first)} "
        f"and {ascii(second)}: one writes an accented letter as one character, the other as "
        "a letter followed by a combining mark."
    )


# The framework fields that name a route.
ROUTE_FIELDS = ("high_tier_route", "medium_tier_route", "low_tier_route")


def route_errors(routes: dict[str, str | None]) -> dict[str, list[str]]:
    """Check route names, by field name, for hidden characters."""
    errors: dict[str, list[str]] = {}
    for field, route in routes.items():
        message = tag_text_error(route, "The route")
        if message:
            errors[field] = [message]
    return errors


def geography_row_errors(
    country: str, region: str, label: str, *, line_number: int | None = None
) -> list[str]:
    """Check a geography map row's fields for hidden characters.

    The label is part of the tag of every account in the country, and criteria match the
    region and the label. ``line_number`` names the line of the admin's map text. Without
    it, messages name the row by its country, as for a saved row.
    """
    errors = []
    for field_name, value in (("country code", country), ("region", region), ("tag label", label)):
        if line_number is not None:
            value_name = f"Line {line_number}: the {field_name}"
        else:
            value_name = f"The geography map's {field_name} for {country.strip()}"
        message = tag_text_error(value, value_name)
        if message:
            errors.append(message)
    return errors


def geography_label_errors(
    labels: Iterable[tuple[str, str]], unmapped_label: str = ""
) -> list[str]:
    """Return one message per geography label that repeats an earlier one in another spelling.

    ``labels`` pairs each label with where it is, such as "line 3" of the admin's map text
    or "the row for SG" of a saved map. Labels are compared by ``name_key``. Tags show a
    label as stored, so "APAC" next to "apac" would make two tags for one geography,
    while criteria and the tag editor, which ignore case, take them for one label.
    ``unmapped_label``, the framework's label for countries the map does not list, is
    compared first, so a map label in another spelling of it is reported too.
    """
    errors = []
    first_spellings: dict[str, tuple[str, str]] = {}
    if unmapped_label:
        first_spellings[name_key(unmapped_label)] = (
            unmapped_label,
            "the unmapped geography label",
        )
    for label, where in labels:
        key = name_key(label)
        if key not in first_spellings:
            first_spellings[key] = (label, where)
            continue
        first_label, first_where = first_spellings[key]
        if label == first_label:
            continue
        errors.append(
            f"{where[:1].upper()}{where[1:]} has the tag label {label!r}, but {first_where} "
            f"spells it {first_label!r}, so their accounts would get tags in two spellings "
            "that criteria and the tag editor take for one label: write "
            f"{first_label!r} on both, or give them distinct labels."
            + normalization_note(first_label, label)
        )
    return errors


def cutoff_errors(high_tier_min_score: int | None, medium_tier_min_score: int | None) -> dict:
    """Check that 0 < Medium cut-off < High cut-off <= 100."""
    errors: dict[str, list[str]] = {}
    if high_tier_min_score is None or medium_tier_min_score is None:
        return errors
    if high_tier_min_score > MAX_SCORE:
        errors.setdefault("high_tier_min_score", []).append(
            f"The High cut-off {high_tier_min_score} is above the maximum score {MAX_SCORE}: "
            f"enter a value from 1 to {MAX_SCORE}."
        )
    if medium_tier_min_score < 1:
        errors.setdefault("medium_tier_min_score", []).append(
            "The Medium cut-off is 0, so every scored account would be at least Medium: "
            "enter a value of 1 or more."
        )
    if medium_tier_min_score >= high_tier_min_score:
        errors.setdefault("medium_tier_min_score", []).append(
            f"The Medium cut-off {medium_tier_min_score} is not below the High cut-off "
            f"{high_tier_min_score}: the cut-offs must rise from Medium to High."
        )
    return errors


def tag_template_errors(template: str) -> list[str]:
    """Check the tag template for unknown placeholders and empty parts."""
    template = template or ""
    hidden = hidden_character_error(template, "The tag template")
    if hidden:
        return [hidden]
    if not template.strip():
        return [
            "The tag template is empty: enter one such as {industry} – {size_band} – {geography}."
        ]
    repeated = repeated_space_error(template, "The tag template")
    if repeated:
        return [repeated]
    errors = []
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        return [
            f"The tag template {template!r} is invalid ({error}): write placeholders as "
            "{industry} and a literal brace as {{ or }}."
        ]
    for _literal, name, format_spec, conversion in parsed:
        if name is None:
            continue
        if name not in TAG_PLACEHOLDERS:
            placeholder = "{" + name + "}" if name else "{}"
            errors.append(
                f"The tag template uses unknown placeholder {placeholder}: use only "
                + ", ".join("{" + known + "}" for known in TAG_PLACEHOLDERS)
                + "."
            )
        elif format_spec or conversion:
            errors.append(
                f"The placeholder {{{name}}} has a format or conversion: write it as {{{name}}}."
            )
        names.append(name)
    if not names:
        errors.append(
            f"The tag template {template!r} has no placeholder, so every tag would be the same: "
            "add {industry}, {size_band} or {geography}."
        )
    parts = _SEPARATOR_PATTERN.split(template)
    if len(parts) > 1 and any(not part.strip() for part in parts):
        errors.append(
            f"The tag template {template!r} has an empty part between separators: remove the "
            "extra separator or put a placeholder between them."
        )
    errors += _adjacent_placeholder_errors(template, parsed)
    errors += _repeated_placeholder_errors(template, names)
    return errors


def _adjacent_placeholder_errors(template: str, parsed: list[tuple]) -> list[str]:
    """Return an error for each two placeholders without a separator between them.

    In {industry}{size_band} their values would run together, such as "SaaSMid-Market".
    Industries and bands contain spaces, so a space alone does not show where one value
    ends either, and band names such as Mid-Market contain hyphens, so a hyphen without a
    space on each side does not either: "SaaS-Mid-Market-US" cannot be split into parts.
    """
    errors = []
    previous = None
    for literal, name, _format_spec, _conversion in parsed:
        if previous is not None and name is not None:
            if not literal.strip():
                errors.append(
                    f"The tag template puts {{{previous}}} and {{{name}}} next to each other: "
                    f"put a separator between them, as in {{{previous}}} – {{{name}}}."
                )
            elif _BARE_HYPHEN.search(literal) and not _SPACED_SEPARATOR.search(literal):
                errors.append(_bare_hyphen_message(template, previous, name))
        if name is None:
            break
        previous = name
    return errors


def _bare_hyphen_message(template: str, previous: str, name: str) -> str:
    return (
        f"The tag template {template!r} separates {{{previous}}} and {{{name}}} with a "
        "hyphen that has no space on each side, but band names such as Mid-Market contain "
        "hyphens, so tags such as 'SaaS-Mid-Market-US' could not be split into parts: put a "
        f"space on each side of the hyphen ({{{previous}}} - {{{name}}}) or use an en dash "
        f"({{{previous}}} – {{{name}}})."
    )


def _repeated_placeholder_errors(template: str, names: list[str]) -> list[str]:
    """Return an error for each placeholder that the template uses more than once."""
    repeated = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    return [
        f"The tag template {template!r} uses {{{name}}} {names.count(name)} times, so its "
        f"tags repeat a value: use {{{name}}} once."
        for name in repeated
    ]


def max_reachable_score(criteria: Iterable[Criterion]) -> int:
    """Return the highest score any account can get under these criteria.

    Scores are points over the maximum of the criteria that apply, so an account matching
    every scoring criterion gets 100. Disqualifiers and criteria of weight 0 earn nothing,
    so without any other criterion no account gets a score.
    """
    scoring = [c for c in criteria if not c.is_disqualifier and (c.weight or 0) > 0]
    return MAX_SCORE if scoring else 0


def reachability_errors(
    criteria: Sequence[Criterion],
    high_tier_min_score: int | None,
    medium_tier_min_score: int | None,
) -> list[str]:
    """Check that the criteria's weights can reach the High and Medium cut-offs."""
    reachable = max_reachable_score(criteria)
    errors = []
    for tier, cutoff in (("High", high_tier_min_score), ("Medium", medium_tier_min_score)):
        if cutoff is not None and reachable < cutoff:
            errors.append(
                f"No account can reach the {tier} cut-off {cutoff}: the maximum reachable "
                f"score is {reachable}, because no criterion other than a disqualifier has a "
                "weight above 0. Give at least one scoring criterion a weight."
            )
    return errors


def framework_errors(
    *,
    high_tier_min_score: int | None,
    medium_tier_min_score: int | None,
    tag_template: str,
    criteria: Sequence[Criterion] | None = None,
    routes: dict[str, str | None] | None = None,
    unmapped_geography_label: str | None = None,
) -> dict[str, list[str]]:
    """Check a framework's cut-offs, tag template and, when given, its criteria's weights.

    ``routes`` maps route field names, such as ``high_tier_route``, to their values.
    ``unmapped_geography_label``, which tags show for countries that the map does not
    list, is checked for hidden characters.
    """
    errors = cutoff_errors(high_tier_min_score, medium_tier_min_score)
    template = tag_template_errors(tag_template)
    if template:
        errors["tag_template"] = template
    errors.update(route_errors(routes or {}))
    unmapped = tag_text_error(unmapped_geography_label, "The unmapped geography label")
    if unmapped:
        errors["unmapped_geography_label"] = [unmapped]
    if criteria is not None and not errors:
        reach = reachability_errors(criteria, high_tier_min_score, medium_tier_min_score)
        if reach:
            errors["__all__"] = reach
    return errors


def size_band_range_errors(band: SizeBand) -> dict[str, list[str]]:
    """Check that a band has bounds, a visible name and no minimum above its maximum."""
    errors: dict[str, list[str]] = {}
    hidden = tag_text_error(band.name, "The size band name")
    if hidden:
        errors["name"] = [hidden]
    bounds = (band.min_employees, band.max_employees, band.min_revenue_usd, band.max_revenue_usd)
    if all(bound is None for bound in bounds):
        errors["__all__"] = [
            f"Size band {band.name!r} has no bounds: enter an employee or revenue range."
        ]
    low, high = band.min_employees, band.max_employees
    if high == 0:
        # Imports store a head count of 0 as unknown, so no account has one.
        errors["max_employees"] = [
            f"Size band {band.name!r} has a maximum of 0 employees, so it matches no "
            "account: a head count of 0 means unknown. Enter a maximum of 1 or more, or "
            "leave it empty for no upper bound."
        ]
    elif low is not None and high is not None and low > high:
        errors["max_employees"] = [
            f"The maximum employees {high:,} is below the minimum {low:,}: swap or fix them."
        ]
    low_revenue, high_revenue = band.min_revenue_usd, band.max_revenue_usd
    if high_revenue is not None and high_revenue <= 0:
        errors["max_revenue_usd"] = [
            f"Size band {band.name!r} has a maximum revenue of {high_revenue:,.0f}, which is "
            "exclusive, so it matches no account: enter a maximum above 0, or leave it empty "
            "for no upper bound."
        ]
    elif low_revenue is not None and high_revenue is not None and low_revenue >= high_revenue:
        errors["max_revenue_usd"] = [
            f"The maximum revenue {high_revenue:,.0f} is not above the minimum "
            f"{low_revenue:,.0f}: the maximum is exclusive, so it must be larger."
        ]
    return errors


def _overlap(
    first: tuple[Decimal | int | None, Decimal | int | None],
    second: tuple[Decimal | int | None, Decimal | int | None],
    *,
    max_inclusive: bool,
) -> bool:
    """Return whether two ranges share a value. None is an open bound."""
    (low_a, high_a), (low_b, high_b) = first, second
    if low_a is None and high_a is None or low_b is None and high_b is None:
        return False

    def below(high, low) -> bool:
        # True when every value up to ``high`` is below ``low``.
        if high is None or low is None:
            return False
        return high < low if max_inclusive else high <= low

    return not (below(high_a, low_b) or below(high_b, low_a))


def size_band_overlaps(bands: Sequence[SizeBand]) -> list[str]:
    """Return one message per pair of bands whose employee or revenue ranges overlap."""
    errors = []
    measures = (
        ("employee", _employee_bounds, _employee_range_text, True),
        ("revenue", _revenue_bounds, _revenue_range_text, False),
    )
    for index, first in enumerate(bands):
        for second in bands[index + 1 :]:
            for measure, bounds, describe, max_inclusive in measures:
                if not _overlap(bounds(first), bounds(second), max_inclusive=max_inclusive):
                    continue
                errors.append(
                    f"Size bands {first.name!r} ({describe(*bounds(first))}) and "
                    f"{second.name!r} ({describe(*bounds(second))}) have overlapping "
                    f"{measure} ranges: an account would fit both. Make one band end below "
                    "where the other starts."
                )
    return errors


def _employee_bounds(band: SizeBand) -> tuple[int | None, int | None]:
    return band.min_employees, band.max_employees


def _revenue_bounds(band: SizeBand) -> tuple[Decimal | None, Decimal | None]:
    return band.min_revenue_usd, band.max_revenue_usd


def _employee_range_text(low: int | None, high: int | None) -> str:
    """Describe an employee range whose maximum is inclusive, such as "201–1,500 employees"."""
    if high is None:
        return f"{low:,}+ employees"
    if low is None:
        return f"up to {high:,} employees"
    return f"{low:,}–{high:,} employees"


def _revenue_range_text(low: Decimal | None, high: Decimal | None) -> str:
    """Describe a revenue range whose maximum is exclusive, such as "$10,000,000 to under …"."""
    if high is None:
        return f"${low:,.0f}+ revenue"
    if low is None:
        return f"under ${high:,.0f} revenue"
    return f"${low:,.0f} to under ${high:,.0f} revenue"


def size_band_name_errors(bands: Sequence[SizeBand]) -> list[str]:
    """Return one message per band whose name repeats an earlier band's, ignoring case.

    Criteria and the tag editor look bands up ignoring case and Unicode normalization, so
    "SMB" and "smb" would be one name to them and only one of the two bands would match.
    Names are compared by ``name_key``.
    """
    errors = []
    first_names: dict[str, str] = {}
    for band in bands:
        if not band.name:
            continue
        key = name_key(band.name)
        if key in first_names:
            errors.append(
                f"Size bands {first_names[key]!r} and {band.name!r} have the same name "
                "ignoring case, and criteria and tags name bands ignoring case: rename one."
                + normalization_note(first_names[key], band.name)
            )
        else:
            first_names[key] = band.name
    return errors


def size_band_gaps(bands: Sequence[SizeBand]) -> list[str]:
    """Return one warning per head-count range that no employee band covers.

    That is a range between two bands, below the first band (from 1 employee) or above
    the last one. A gap is allowed, because a framework may leave some sizes out on
    purpose, but the accounts in it get no size band and so no tag.
    """
    ranges = sorted(
        (band.min_employees or 0, band.max_employees, band.name)
        for band in bands
        if band.min_employees is not None or band.max_employees is not None
    )
    if not ranges:
        return []
    consequence = "accounts of that size get no size band and no tag"
    warnings = []
    first_low, _first_high, first_name = ranges[0]
    if first_low > 1:
        below = "1 employee" if first_low == 2 else f"1 to {first_low - 1:,} employees"
        warnings.append(
            f"No size band covers {below}, below {first_name!r}: {consequence}. Start "
            f"{first_name!r} at 1 if that is not intended."
        )
    for (_low, high, name), (next_low, _next_high, next_name) in zip(
        ranges, ranges[1:], strict=False
    ):
        if high is not None and next_low > high + 1:
            warnings.append(
                f"No size band covers {high + 1:,} to {next_low - 1:,} employees, between "
                f"{name!r} and {next_name!r}: {consequence}. Move a band's bound if that is "
                "not intended."
            )
    highest = max(ranges, key=lambda item: float("inf") if item[1] is None else item[1])
    if highest[1] is not None:
        warnings.append(
            f"No size band covers more than {highest[1]:,} employees, above {highest[2]!r}: "
            f"{consequence}. Leave the maximum of {highest[2]!r} empty if that is not "
            "intended."
        )
    return warnings


def placement_warnings(framework: Framework) -> list[str]:
    """Return warnings about saved settings that leave accounts without a band or geography.

    A version without size bands gives no account a size band, so every account loses
    its tag and route and needs enrichment. A version without a geography map gives every
    account the unmapped geography label. Otherwise the size band gaps are listed. Like a
    gap, neither blocks submission, because a version may intend it.
    """
    warnings = []
    bands = list(framework.size_bands.all())
    if bands:
        warnings += size_band_gaps(bands)
    else:
        warnings.append(
            f"Framework v{framework.version} has no size bands, so no account gets a size "
            "band: every account loses its tag and route and is flagged as needing "
            "enrichment. Add size bands if that is not intended."
        )
    if not framework.geography_mappings.exists():
        uses = (
            ", and every tag that uses {geography} shows it"
            if "{geography}" in framework.tag_template
            else ""
        )
        warnings.append(
            f"Framework v{framework.version} has no geography map, so every account's "
            f"geography is the unmapped label {framework.unmapped_geography_label!r}{uses}. "
            "Add the geography map (one country per line) if that is not intended."
        )
    return warnings


def _industry_names(framework: Framework) -> dict[int, str]:
    """Return the canonical industries, read once per framework instance.

    The admin checks every criterion form of a page against the same parent instance,
    so the page reads the industries once rather than once per criterion.
    """
    from .models import Industry

    cached = getattr(framework, "_industry_names", None)
    if cached is None:
        cached = dict(Industry.objects.values_list("id", "name"))
        framework._industry_names = cached
    return cached


def compiled_context(
    framework: Framework,
    *,
    bands: Sequence[SizeBand] | None = None,
    geography: Iterable[tuple[str, str, str]] | None = None,
) -> CompiledFramework:
    """Build a CompiledFramework without criteria, for checking criteria one by one.

    ``bands`` and ``geography`` (country, region, label) default to the saved ones.
    """
    if bands is None:
        bands = list(framework.size_bands.all()) if framework.pk else []
    if geography is None:
        geography = (
            framework.geography_mappings.values_list("country", "region", "label")
            if framework.pk
            else []
        )
    # The tag template is checked on its own, so a bad one must not fail criteria checks.
    settings_only = copy.copy(framework)
    settings_only.tag_template = "{industry}"
    return CompiledFramework(
        settings_only,
        industry_names=_industry_names(framework),
        size_bands=[
            _SizeBand(
                name=band.name,
                min_employees=band.min_employees,
                max_employees=band.max_employees,
                min_revenue=None if band.min_revenue_usd is None else float(band.min_revenue_usd),
                max_revenue=None if band.max_revenue_usd is None else float(band.max_revenue_usd),
            )
            for band in bands
        ],
        geography={country.upper(): (label, region) for country, region, label in geography},
        criteria=[],
    )


def value_match_key(value: str, dimension: str) -> str:
    """Return a criterion value as the engine compares it.

    The engine compares values ignoring case, and technologies and buying signals also with
    ``-`` and ``_`` read as spaces (engine.term_key).
    """
    if dimension in (Dimension.TECHNOLOGY, Dimension.BUYING_SIGNALS):
        return term_key(value)
    return caseless_key(value.strip())


def canonical_criterion_values(criterion: Criterion, context: CompiledFramework) -> list[Any]:
    """Return the criterion's values in the spelling that their source uses.

    Industries take the taxonomy's name ("fintech" becomes FinTech) and size bands the
    band's name. Geography values take the spelling of the geography map's label or
    region, or of the unmapped label, and other two-letter values are country codes in
    upper case. Technologies and buying signals have no canonical list and are returned
    as typed. Call it only for a criterion that ``criterion_errors`` accepts, because an
    unknown value raises FrameworkError.
    """
    values = criterion.values
    if criterion.operator == criterion.Operator.RANGE or not isinstance(values, list):
        return values
    owner = f"Criterion {criterion.label!r}"
    if criterion.dimension == Dimension.INDUSTRY:
        return [
            context.industry_names[context.industry_ids_for([str(value)], owner)[0]]
            for value in values
        ]
    if criterion.dimension == Dimension.COMPANY_SIZE:
        return context.band_names_for([str(value) for value in values], owner)
    if criterion.dimension == Dimension.GEOGRAPHY:
        return [_canonical_geography(str(value), context) for value in values]
    return values


def _canonical_geography(value: str, context: CompiledFramework) -> str:
    expected = caseless_key(value)
    places = [context.geography_of(country) for country in context.countries()]
    for name in [label for label, _region in places] + [region for _label, region in places]:
        if caseless_key(name) == expected:
            return name
    if expected == caseless_key(context.unmapped_label):
        return context.unmapped_label
    if len(value) == 2 and value.isalpha():
        return value.upper()
    return value


def _repeated_values(values: Any, dimension: str) -> list[str]:
    """Return one message per value that repeats an earlier one as the engine compares them.

    A repeat (see ``value_match_key``) adds nothing and usually hides a typing slip.
    """
    if not isinstance(values, list):
        return []
    first: dict[str, str] = {}
    messages = []
    for value in values:
        if not isinstance(value, str):
            continue
        key = value_match_key(value, dimension)
        if key in first:
            messages.append(
                f"The value {value!r} is the same as {first[key]!r} for matching: keep one."
                + normalization_note(first[key], value)
            )
        else:
            first[key] = value
    return messages


def hidden_value_errors(values: Any) -> list[str]:
    """Return one message per criterion value that contains hidden characters.

    Criteria match values against industries, size bands, geography labels, technologies
    and buying signals, so "SaaS" followed by U+200B, or "North America" with a no-break
    space, would match no account.
    """
    if not isinstance(values, list):
        return []
    messages = []
    for value in values:
        message = hidden_character_error(value, "The value") if isinstance(value, str) else ""
        if message:
            messages.append(message)
    return messages


def criterion_errors(
    criterion: Criterion,
    *,
    framework: Framework,
    context: CompiledFramework | None = None,
    check_names: bool = True,
) -> dict[str, list[str]]:
    """Check one criterion's operator and values, such as industries that do not exist.

    ``context`` supplies the size bands and geography map to check names against, by
    default the saved ones. Without ``check_names`` size band and geography names are
    not checked.
    """
    errors: dict[str, list[str]] = {}
    hidden = hidden_character_error(criterion.label, "The label")
    if hidden:
        errors["label"] = [hidden]
    if (
        criterion.min_value is not None
        and criterion.max_value is not None
        and criterion.min_value > criterion.max_value
    ):
        errors["max_value"] = [
            f"The maximum {criterion.max_value:,} is below the minimum {criterion.min_value:,}: "
            "swap or fix them."
        ]
    for field, label in (("min_value", "minimum"), ("max_value", "maximum")):
        value = getattr(criterion, field)
        if value is not None and value < 0:
            errors.setdefault(field, []).append(
                f"The {label} {value:,} is negative: head counts and revenue start at 0, "
                "so enter 0 or more."
            )
    hidden_values = hidden_value_errors(criterion.values)
    if hidden_values:
        errors.setdefault("values", []).extend(hidden_values)
    repeated = _repeated_values(criterion.values, criterion.dimension)
    if repeated:
        errors.setdefault("values", []).extend(repeated)
    if criterion.is_disqualifier and criterion.is_must_have:
        errors["is_must_have"] = [
            "A criterion cannot be both a must-have and a disqualifier: clear one of them."
        ]
    named_dimensions = (Dimension.COMPANY_SIZE, Dimension.GEOGRAPHY)
    if hidden_values:
        # Compiling would also report each such value as unknown, a second message.
        return errors
    if (
        not check_names
        and criterion.dimension in named_dimensions
        and criterion.operator != criterion.Operator.RANGE
    ):
        return errors
    try:
        if context is None and not check_names:
            context = compiled_context(framework, bands=[], geography=[])
        elif context is None:
            context = compiled_context(framework)
        _CompiledCriterion(criterion, context)
    except FrameworkError as error:
        message = str(error)
        if " operator " in message:
            field = "operator"
        elif "range without bounds" in message:
            field = "min_value"
        else:
            field = "values"
        errors.setdefault(field, []).append(message)
    return errors
