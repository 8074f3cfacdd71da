"""Length limits of texts that people type, such as reasons and notes.

A limit counts user-perceived characters (extended grapheme clusters), as the page's
counter in static/js/portal.js does, so a flag or an emoji with a skin tone counts once.
One such character can contain many code points, so the column that stores a text has
room for CODE_POINTS_PER_CHARACTER code points per counted character, and a longer text
is rejected before it reaches the database.
"""

from __future__ import annotations

from django.core.validators import MaxLengthValidator
from django.utils.deconstruct import deconstructible

from accounts.normalizers.text import character_count

# Code points stored per counted character. A family emoji with skin tones has 11, and a
# flag of a region such as Scotland has 7.
CODE_POINTS_PER_CHARACTER = 12


def stored_length(max_characters: int) -> int:
    """Return the column length, in code points, of a text of ``max_characters``."""
    return max_characters * CODE_POINTS_PER_CHARACTER


@deconstructible
class CharacterLengthValidator(MaxLengthValidator):
    """Reject a text of more than ``limit_value`` user-perceived characters.

    Its code stays "max_length", so a field's own max_length message replaces the
    default one, with the character count as ``show_value``.
    """

    def clean(self, x: str) -> int:
        return character_count(x)


@deconstructible
class StoredLengthValidator(MaxLengthValidator):
    """Reject a text whose code points do not fit its column, ``limit_value`` long."""

    code = "max_code_points"
    message = (
        "The text has %(show_value)d code points, more than the %(limit_value)d that can be "
        "stored, because some characters are made of many combining marks: remove them."
    )


def character_limit_validators(max_characters: int) -> list[MaxLengthValidator]:
    """Return the validators of a text of at most ``max_characters`` characters."""
    return [
        CharacterLengthValidator(max_characters),
        StoredLengthValidator(stored_length(max_characters)),
    ]
