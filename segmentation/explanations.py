"""Score record explanations, stored once per distinct item.

A full re-segmentation appends one score record per account, and most of its explanation
repeats between accounts: the same criterion gives the same sentence. Bulk writes
therefore store each item once, as an ``ExplanationItem`` named by a key computed from its
text, and a record stores only the keys and its own numbers::

    {"items": [key, ...], "count": "1,200", "revenue": "$75.3M", "extra": [item, ...]}

``count`` and ``revenue`` replace the marks that an item's text has where a head count
or revenue goes. ``extra`` contains items that are not shared, such as conflicting sources.
Records saved one by one store the plain list of items, and ``expand`` returns either
form as that list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

# Control characters that mark where a record's own head count and revenue go in an
# item's text. JSON writes them as escapes, which stay ASCII, so the text keeps Python's
# compact one-byte form.
COUNT_MARK = "\x01"
MONEY_MARK = "\x02"
COUNT_MARK_JSON = json.dumps(COUNT_MARK)[1:-1]
MONEY_MARK_JSON = json.dumps(MONEY_MARK)[1:-1]
# Item texts kept in memory by key. Keys name fixed texts, so entries never go stale.
# Past this size, texts are read from the database each time.
TEXT_CACHE_SIZE = 50_000
_texts: dict[int, str] = {}

MISSING_ITEM = {
    "dimension": "",
    "label": "Missing item",
    "outcome": "unknown",
    "points": 0,
    "max_points": 0,
    "reason": "This part of the explanation was not found in the database.",
}


def item_key(item_json: str) -> int:
    """Return the key of an item's JSON text: 8 bytes of its BLAKE2b digest, signed.

    Two different texts share a key with a chance of 1 in 2^64 (1.8 x 10^19) per pair.
    """
    digest = hashlib.blake2b(item_json.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def fill_marks(item_json: str, count_text: str, money_text: str) -> str:
    """Put a record's head count and revenue texts where an item's JSON has their marks."""
    if count_text:
        item_json = item_json.replace(COUNT_MARK_JSON, count_text)
    if money_text:
        item_json = item_json.replace(MONEY_MARK_JSON, money_text)
    return item_json


def stored_form(
    key_texts: Iterable[str], count_text: str, money_text: str, extra: Sequence[str]
) -> str:
    """Return a record's stored explanation as JSON text.

    ``key_texts`` are the item keys as decimal text and ``extra`` the JSON texts of the
    items that are not shared.
    """
    parts = ['{"items":[', ",".join(key_texts), "]"]
    if count_text:
        parts.append(f',"count":"{count_text}"')
    if money_text:
        parts.append(f',"revenue":"{money_text}"')
    if extra:
        parts.append(f',"extra":[{",".join(extra)}]')
    parts.append("}")
    return "".join(parts)


def _load_texts(keys: set[int]) -> dict[int, str]:
    from .models import ExplanationItem

    texts = {key: _texts[key] for key in keys if key in _texts}
    missing = keys - texts.keys()
    if missing:
        for key, text in ExplanationItem.objects.filter(key__in=missing).values_list("key", "text"):
            texts[key] = text
            if len(_texts) < TEXT_CACHE_SIZE:
                _texts[key] = text
    return texts


def expand(value: Any) -> Any:
    """Return a stored explanation as its list of items.

    A plain list, and any other value, is returned as it is.
    """
    if not isinstance(value, dict) or "items" not in value:
        return value
    keys = value.get("items") or []
    texts = _load_texts(set(keys))
    count_text = value.get("count", "")
    money_text = value.get("revenue", "")
    items = []
    for key in keys:
        text = texts.get(key)
        if text is None:
            items.append(dict(MISSING_ITEM))
        else:
            items.append(json.loads(fill_marks(text, count_text, money_text)))
    return items + list(value.get("extra") or [])
