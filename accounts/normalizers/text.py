"""Text cleanup shared by the normalizers.

- ``normalize_line_breaks`` turns CR and CRLF line endings into ``\\n``, so a text's
  length counts each line break once.
- ``character_count`` counts user-perceived characters (extended grapheme clusters), so a
  flag, an emoji with a skin tone or an accent typed as a combining mark counts once.
- ``clean_text`` accepts any string (or None). It strips surrounding whitespace, turns CR and
  CRLF line endings into ``\\n`` and removes ASCII control characters other than newline and
  tab. Emoji, accents and right-to-left text pass through unchanged.
- ``strip_footnotes`` removes Wikipedia footnote markers such as ``[2]``, ``[a]``,
  ``[note 1]`` and ``[citation needed]``.
- ``industry_key`` turns an industry name or path (``Technology -> Software``) into the key
  used to match industry synonyms.
- ``is_missing`` recognizes the placeholders that exports write for "no value" (``-``,
  ``n/a``, ``#N/A``, ``null``, ``unknown`` …).
- ``decode_character_references`` decodes HTML character references that end with ``;``
  (``&amp;``, ``&#38;``, ``&#x26;``), so ``AT&amp;T`` from an export that escaped its
  text reads as ``AT&T``, as it does from HTML.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from html.entities import html5 as HTML5_ENTITIES

import regex

from .errors import UnparsedValue

# C0 control characters, DEL and the byte order mark, except tab (0x09) and newline (0x0A).
# CR is converted to newline first.
_CONTROL_CHARACTER_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]")
_LINE_ENDING_RE = re.compile(r"\r\n?")
_FOOTNOTE_RE = re.compile(
    r"\s*\[(?:\d{1,3}|[a-z]|(?:note|nb|n)\s?\d{1,3}|citation needed|clarification needed"
    r"|when\?|who\?|which\?|according to whom\?|better source needed)\]",
    re.IGNORECASE,
)
_WHITESPACE_RE = re.compile(r"\s+")
# A numeric or named HTML character reference with its semicolon.
_CHARACTER_REFERENCE_RE = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});"
)
_PATH_SEPARATOR_RE = re.compile(r"->|→|⟶|›|»|>")

# Compared after casefolding and collapsing whitespace.
MISSING_VALUE_TOKENS: frozenset[str] = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "–",
        "—",
        "?",
        ".",
        "n/a",
        "n.a.",
        "n.a",
        "na",
        "#n/a",
        "none",
        "null",
        "nil",
        "nan",
        "unknown",
        "not available",
        "not disclosed",
        "undisclosed",
    }
)

# Casefolding never shortens text, so text longer than this after collapsing whitespace
# is never a placeholder.
_MAX_MISSING_TOKEN_LENGTH = max(len(token) for token in MISSING_VALUE_TOKENS)

# Deleted outright, so "Women's" becomes "womens" and "U.S." becomes "us".
_DELETED_PUNCTUATION = frozenset(".'’‘`´ʼ")

# Combining Diacritical Marks block. Marks outside it (Japanese dakuten, Indic vowel signs)
# change the letter and are kept.
_LATIN_DIACRITICS = range(0x0300, 0x0370)
_LETTER_REPLACEMENTS = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "đ": "d", "Đ": "D",
     "ł": "l", "Ł": "L", "ı": "i", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D"}
)  # fmt: skip


def is_missing(value: str | None) -> bool:
    """Return True for None, blank text and the placeholders in MISSING_VALUE_TOKENS."""
    if value is None:
        return True
    # str.split() and the regex \s both split on the characters for which str.isspace()
    # is true, so this equals substituting _WHITESPACE_RE and stripping.
    text = " ".join(value.split())
    if len(text) > _MAX_MISSING_TOKEN_LENGTH:
        return False
    return text.casefold() in MISSING_VALUE_TOKENS


# One extended grapheme cluster of Unicode Standard Annex #29, as the regex package
# matches it with \X.
_GRAPHEME_RE = regex.compile(r"\X")


def character_count(value: str) -> int:
    """Count the user-perceived characters (extended grapheme clusters) of a text.

    The counter of static/js/portal.js counts the same clusters with the browser's
    Intl.Segmenter, unless the browser follows another Unicode version than the regex
    package. A line break, LF or CRLF, is one character.
    """
    return sum(1 for _match in _GRAPHEME_RE.finditer(value))


def normalize_line_breaks(value: str) -> str:
    """Turn CRLF and CR line breaks into LF, as browsers send a textarea's breaks as CRLF."""
    return _LINE_ENDING_RE.sub("\n", value)


def clean_text(value: str | None, max_length: int | None = None) -> str:
    """Strip the value and remove ASCII control characters except newline and tab.

    CR and CRLF line endings become ``\\n`` and byte order marks are removed. None becomes
    ``""``. Raises UnparsedValue(field="text") when the cleaned text is longer than
    ``max_length`` characters (Unicode code points).
    """
    if value is None:
        return ""
    if value.isprintable():
        # Printable text has no CR, control character or byte order mark to replace.
        text = value.strip()
    else:
        text = _LINE_ENDING_RE.sub("\n", value)
        text = _CONTROL_CHARACTER_RE.sub("", text).strip()
    if max_length is not None and len(text) > max_length:
        raise UnparsedValue(
            "text",
            value,
            f"it has {len(text)} characters after cleaning, but at most {max_length} "
            "characters are allowed. Shorten the text.",
        )
    return text


def decode_character_references(text: str) -> str:
    """Decode the HTML character references in ``text`` that end with a semicolon.

    A named reference counts only when the HTML5 entity table has it, so ``&foo;`` stays
    as written. Unlike html.unescape, references without a semicolon stay too, because
    html.unescape would read the ``&not`` of ``Ham&nothing`` as ``¬``.
    """
    if "&" not in text:
        return text
    return _CHARACTER_REFERENCE_RE.sub(_decoded_reference, text)


def _decoded_reference(reference: re.Match[str]) -> str:
    text = reference.group()
    if text[1] != "#" and text[1:] not in HTML5_ENTITIES:
        return text
    # html.unescape applies HTML's rules for numeric references, such as U+FFFD for an
    # invalid code point and Windows-1252 for &#150;.
    return html.unescape(text)


def strip_footnotes(text: str) -> str:
    """Remove Wikipedia footnote markers and the whitespace just before each one."""
    if "[" not in text:
        return text
    return _FOOTNOTE_RE.sub("", text)


def collapse_whitespace(text: str) -> str:
    """Replace each run of whitespace, including non-breaking spaces, with one space and strip."""
    return " ".join(text.split())


def remove_accents(text: str) -> str:
    """Fold Latin accents and ligature letters (``Estée`` -> ``Estee``, ``Ø`` -> ``O``).

    Marks outside the Combining Diacritical Marks block stay, because removing them would
    change the letter in other scripts (``ガ`` would become ``カ``).
    """
    text = text.translate(_LETTER_REPLACEMENTS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(char for char in decomposed if ord(char) not in _LATIN_DIACRITICS)
    return unicodedata.normalize("NFC", kept)


def replace_punctuation(text: str, keep: str = "") -> str:
    """Delete periods and apostrophes and replace other punctuation and symbols with spaces.

    Letters, digits, combining marks, whitespace and the characters in ``keep`` stay.
    Emoji and other symbols count as punctuation. The result is not whitespace-collapsed.
    """
    if text.isascii():
        return text.translate(_ascii_punctuation_table(keep))
    return _replace_punctuation_slowly(text, keep)


def _replace_punctuation_slowly(text: str, keep: str) -> str:
    characters: list[str] = []
    for char in text:
        if char in keep or char.isspace():
            characters.append(char)
        elif char in _DELETED_PUNCTUATION:
            continue
        elif unicodedata.category(char)[0] in "LNM":
            characters.append(char)
        else:
            characters.append(" ")
    return "".join(characters)


@lru_cache(maxsize=64)
def _ascii_punctuation_table(keep: str) -> dict[int, str]:
    """Return the str.translate table that replace_punctuation applies to ASCII text."""
    return {
        code: _replace_punctuation_slowly(chr(code), keep)
        for code in range(128)
        if _replace_punctuation_slowly(chr(code), keep) != chr(code)
    }


@lru_cache(maxsize=8192)
def industry_key(raw: str) -> str:
    """Build the lookup key for industry synonyms.

    Decodes HTML character references (``&amp;``), applies NFKC and casefolding, turns
    ``&`` into ``and`` and turns path separators (``->``, ``>``, ``→``, ``›``, ``»``)
    into `` > ``. Periods and apostrophes are deleted,
    other punctuation becomes a space, whitespace is collapsed and empty path segments are
    dropped. ``"Tech & Media -> Software/SaaS"`` gives ``"tech and media > software saas"``.
    """
    text = unicodedata.normalize("NFKC", decode_character_references(raw))
    text = text.casefold().replace("&", " and ")
    text = _PATH_SEPARATOR_RE.sub(">", text)
    text = replace_punctuation(text, keep=">")
    segments = (collapse_whitespace(segment) for segment in text.split(">"))
    return " > ".join(segment for segment in segments if segment)
