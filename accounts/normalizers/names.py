"""Company names: a display form and a key for duplicate detection.

``company_name_key`` accepts any company name and never raises. Two names get the same key
when they differ only in case, accents, punctuation, quotes, emoji, whitespace, ``&`` versus
``and``, a leading or inverted ``The``, share-class notes (``Class A``, ``ADR``,
``Common Stock``), footnote markers or trailing legal-form suffixes (``Inc.``, ``LLC``,
``GmbH``, ``S.A.``, ``Pty Ltd`` …).

Words that distinguish companies stay in the key: ``Holdings``, ``Group``, ``Technologies``,
``Companies`` and every other word, so ``Anvil Peak`` and ``Anvil Labs`` differ, and so do
``Lowe's`` and ``Lowe's Companies``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .text import (
    clean_text,
    collapse_whitespace,
    decode_character_references,
    remove_accents,
    replace_punctuation,
    strip_footnotes,
)

# Legal-form suffixes as tokens after punctuation removal, so "L.L.C." is "llc" and
# "S. A." is the two tokens "s a" (joined before the lookup).
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "llc",
        "ltd",
        "limited",
        "plc",
        "lp",
        "llp",
        "lllp",
        "pllc",
        "pc",
        "sa",
        "ag",
        "gmbh",
        "mbh",
        "kg",
        "kgaa",
        "nv",
        "bv",
        "oy",
        "oyj",
        "ab",
        "as",
        "asa",
        "aps",
        "spa",
        "srl",
        "sas",
        "sarl",
        "sl",
        "ltda",
        "pty",
        "pte",
        "pvt",
        "bhd",
        "kk",
        "se",
        "tbk",
        "jsc",
        "pjsc",
    }
)

# Multi-word suffixes that are stripped only as a whole, because "private" or "and" alone
# can be part of a name.
_LEGAL_SUFFIX_PHRASES: tuple[tuple[str, ...], ...] = (
    ("private", "limited"),
    ("private", "ltd"),
    ("sdn", "bhd"),
    ("and", "co"),
    ("and", "company"),
    ("class", "a"),
    ("class", "b"),
    ("class", "c"),
    ("cl", "a"),
    ("cl", "b"),
    ("cl", "c"),
    ("common", "stock"),
    ("ordinary", "shares"),
)
_SHARE_CLASS_TOKENS = frozenset({"adr", "ads", "the"})

# _LEGAL_SUFFIX_PHRASES by their last token, in their order. Only phrases that end with a
# name's last token can match it.
_PHRASES_BY_LAST_TOKEN: dict[str, tuple[tuple[str, ...], ...]] = {
    last: tuple(phrase for phrase in _LEGAL_SUFFIX_PHRASES if phrase[-1] == last)
    for last in {phrase[-1] for phrase in _LEGAL_SUFFIX_PHRASES}
}

_INVERTED_ARTICLE_RE = re.compile(r"(?P<name>.+?)\s*(?:,\s*the|\(\s*the\s*\))", re.IGNORECASE)
# Zero-width space and word joiner. ZWJ and ZWNJ stay because emoji sequences and Persian
# text need them.
_ZERO_WIDTH_RE = re.compile(r"[\u200b\u2060]")


def clean_company_name(name: str) -> str:
    """Clean a company name for display.

    Strips surrounding whitespace, collapses inner whitespace (including non-breaking
    spaces and line breaks), removes control characters, zero-width spaces and Wikipedia
    footnote markers, and moves an
    inverted article to the front (``Estée Lauder Companies (The)`` becomes
    ``The Estée Lauder Companies``). Case, accents and emoji are kept. HTML character
    references are decoded, so ``Johnson &amp; Johnson`` becomes ``Johnson & Johnson``.
    """
    text = clean_text(decode_character_references(name))
    if not text.isascii():
        text = _ZERO_WIDTH_RE.sub("", text)
    text = collapse_whitespace(strip_footnotes(text))
    # The inverted article ends the name with "the" or ")". An ASCII last character
    # matches the pattern's last letter only when it is "e", "E" or ")".
    if text and (not text[-1].isascii() or text[-1] in "eE)"):
        inverted = _INVERTED_ARTICLE_RE.fullmatch(text)
        if inverted is not None:
            text = "The " + inverted["name"].rstrip(" ,")
    return text


@lru_cache(maxsize=65536)
def company_name_key(name: str) -> str:
    """Return the duplicate-detection key of a company name.

    Decodes HTML character references, so ``Johnson &amp; Johnson`` and ``Johnson &
    Johnson`` have one key. Applies NFKC, casefolding and Latin accent folding, removes
    quotes, punctuation and symbols, turns ``&`` into ``and``, and then removes a leading
    ``the`` and trailing
    legal-form suffixes and share-class notes until none is left. A name that would become
    empty (``Inc.``) returns its casefolded form without punctuation instead. A name made
    only of symbols or emoji returns its casefolded NFKC form, so the key is empty only
    for a blank name.
    """
    text = decode_character_references(name)
    text = unicodedata.normalize("NFKC", strip_footnotes(text)).casefold()
    folded = remove_accents(text).replace("&", " and ")
    tokens = collapse_whitespace(replace_punctuation(folded)).split()
    if not tokens:
        return collapse_whitespace(text)
    fallback = " ".join(tokens)

    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    while tokens:
        removed = _count_trailing_suffix_tokens(tokens)
        if removed == 0:
            break
        tokens = tokens[:-removed]
    return " ".join(tokens) or fallback


def _count_trailing_suffix_tokens(tokens: list[str]) -> int:
    """Return how many trailing tokens form one legal suffix or share-class note (0 if none)."""
    # Phrases come first, so "& Co." goes as a whole and leaves no dangling "and".
    last = tokens[-1]
    for phrase in _PHRASES_BY_LAST_TOKEN.get(last, ()):
        if tuple(tokens[-len(phrase) :]) == phrase:
            return len(phrase)
    if last in LEGAL_SUFFIXES or last in _SHARE_CLASS_TOKENS:
        return 1
    # Abbreviations written with spaced periods ("S. A.", "L. L. C.") arrive as a run of
    # single letters. The longest tail of that run that spells a suffix is removed.
    run_length = 0
    while run_length < len(tokens) and len(tokens[-1 - run_length]) == 1:
        run_length += 1
    for length in range(run_length, 1, -1):
        if "".join(tokens[-length:]) in LEGAL_SUFFIXES:
            return length
    return 0
