"""The exception that every normalizer raises for a non-empty value it cannot interpret."""

from __future__ import annotations

import json
import unicodedata

# Longer values are shortened in the message. The full value stays on the exception.
_MAX_DISPLAYED_VALUE_LENGTH = 120

# Escapes of the control characters that Python writes with a letter.
_CONTROL_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible_controls(text: str) -> str:
    """Return ``text`` with each control character (category Cc) written as an escape.

    A tab becomes ``\\t``, a line break ``\\n``, a carriage return ``\\r`` and another
    control character ``\\x1b`` or ``\\x85``, as Python writes them. Messages quote values
    and column names through it, so "Extra<tab>Column" reads "Extra\\tColumn" and not as
    two words. A backslash in the text is kept as it is, so a literal ``\\t`` reads the same.
    """
    parts = []
    for char in text:
        if unicodedata.category(char) != "Cc":
            parts.append(char)
        elif char in _CONTROL_ESCAPES:
            parts.append(_CONTROL_ESCAPES[char])
        else:
            # Every control character is below U+00A0, so two hex digits are enough.
            parts.append(f"\\x{ord(char):02x}")
    return "".join(parts)


class UnparsedValue(ValueError):
    """A non-empty input value that a normalizer could not interpret.

    Importers keep the raw value and flag the row for review instead of rejecting it.
    ``field`` names the kind of value (for example ``"employee count"``), ``value`` is the
    raw input as text and ``hint`` says what was expected or how to fix the value.
    """

    def __init__(self, field: str, value: str, hint: str) -> None:
        self.field = field
        self.value = value
        self.hint = hint
        displayed_value = visible_controls(value)
        if len(displayed_value) > _MAX_DISPLAYED_VALUE_LENGTH:
            displayed_value = displayed_value[: _MAX_DISPLAYED_VALUE_LENGTH - 1] + "…"
        super().__init__(f'{field} "{displayed_value}" could not be parsed: {hint}')

    def __reduce__(self) -> tuple[type[UnparsedValue], tuple[str, str, str]]:
        # The default pickling passes only the message to __init__, which takes three arguments.
        return (type(self), (self.field, self.value, self.hint))


def sentence_end(hint: str) -> str:
    """Return a hint as the end of a sentence, with exactly one final period.

    Hints end with a period or not, so "… is invalid: {hint}." could end with two.
    """
    return hint.rstrip(" .") + "."


def sentence_start(text: str) -> str:
    """Return ``text`` with an upper-case first letter, to start a sentence with it."""
    return text[:1].upper() + text[1:]


def raw_text(raw: object) -> str:
    """Return a raw value that is not text as JSON writes it, such as true or ["a"].

    Values of JSON imports reach the normalizers as Python objects, whose str() is
    Python's spelling (True, ['a']), which the person who reads the flag did not write.
    """
    if isinstance(raw, str):
        return raw
    if raw is None or isinstance(raw, bool | list | dict):
        return json.dumps(raw, ensure_ascii=False)
    return str(raw)
