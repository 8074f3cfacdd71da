"""Recognize a form sent twice (reload, back button, double click) by an id it carries.

Each rendered form carries a new id. The view stores which object the id created in the
session, so a second request with the same id finds that object instead of creating
another one.
"""

from __future__ import annotations

from typing import Any

# Form ids kept per session key. Older ids are forgotten, so the session stays small.
MAX_REMEMBERED_FORMS = 20


def created_object_id(session: Any, key: str, form_id: str) -> int | None:
    """Return the id of the object that the form ``form_id`` created, or None."""
    if not form_id:
        return None
    return session.get(key, {}).get(form_id)


def created_object_remember(session: Any, key: str, form_id: str, object_id: int) -> None:
    """Store that the form ``form_id`` created the object ``object_id``."""
    if not form_id:
        return
    created = session.get(key, {})
    created[form_id] = object_id
    session[key] = dict(list(created.items())[-MAX_REMEMBERED_FORMS:])
