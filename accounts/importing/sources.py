"""The rule for source names of imports, shared by the import page, the API and the CLI.

Verification counts every distinct source name as an independent source, and ranks the
sources by name (enrichment/verification.py). So a name is stored in one spelling: lower
case, of letters, digits, dots, dashes and underscores. The names that verification uses
for values people enter and for values without a source are rejected, because a file
under such a name would outrank every provider.
"""

from __future__ import annotations

import re

from accounts.models import ImportRun
from enrichment.verification import MANUAL_SOURCE, UNRECORDED_SOURCE

from .errors import ImportFileError

MAX_SOURCE_LENGTH = ImportRun._meta.get_field("source").max_length
SOURCE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]*")
RESERVED_SOURCE_NAMES = frozenset({MANUAL_SOURCE, UNRECORDED_SOURCE})
# Longer names are shortened in messages, because a form or request can send any length.
MAX_SHOWN_SOURCE_LENGTH = 80


def source_key(name: str) -> str:
    """Return the spelling in which a source name is stored: trimmed and lower case.

    Migration enrichment 0006 rewrites names stored before this rule the same way, with
    its own copy of the rule, so an old spelling such as HubSpot becomes the name that
    new imports store.
    """
    return name.strip().lower()


def source_name_normalize(name: str) -> str:
    """Return the stored form of a source name: trimmed and lower case.

    An empty name returns "", which means the detected layout names the source. Raises
    ImportFileError, with the value and the fix, for a name that is too long, has other
    characters than letters, digits, dots, dashes and underscores, or is reserved.
    """
    normalized = source_key(name)
    if not normalized:
        return ""
    quoted = (
        name if len(name) <= MAX_SHOWN_SOURCE_LENGTH else name[: MAX_SHOWN_SOURCE_LENGTH - 1] + "…"
    )
    if len(normalized) > MAX_SOURCE_LENGTH:
        raise ImportFileError(
            f"Source “{quoted}” is {len(normalized)} characters long, more than the "
            f"{MAX_SOURCE_LENGTH} allowed: use a shorter name such as hubspot."
        )
    if not SOURCE_NAME_RE.fullmatch(normalized):
        raise ImportFileError(
            f"Source “{quoted}” is invalid: use letters, digits, dots, dashes or underscores "
            "and start with a letter or digit, such as hubspot or trade-show-2026."
        )
    if normalized in RESERVED_SOURCE_NAMES:
        raise ImportFileError(
            f"Source “{quoted}” is reserved for values that people enter or that have no "
            "recorded source: name the system the file comes from, such as hubspot."
        )
    return normalized
