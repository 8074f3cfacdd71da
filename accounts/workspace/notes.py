"""Changes to a published research note: edits and deletions by a person.

Only published notes change this way. A proposed note is published or dismissed with
``research_note_review``. django-simple-history records every edit and deletion with
the user, so the audit trail shows who changed or deleted a note, when, and its text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Account, ResearchNote
from accounts.permissions import can_change_note
from segmentation.engine import term_key

from .edits import NOTE_SIGNALS, NoteResult, _note_signal_add, note_signal

logger = logging.getLogger(__name__)

# The fields of a note that its author can change. Its status, account and author stay.
NOTE_EDIT_FIELDS = ("kind", "text", "source_url", "happened_on")


class NoteStaleError(Exception):
    """The note changed after the form was rendered, so the change was not saved.

    ``note`` is the current row.
    """

    def __init__(self, note: ResearchNote) -> None:
        self.note = note
        super().__init__(
            f"note {note.pk} changed after the form was opened: check the change and save again."
        )


@dataclass
class NoteValues:
    """The values a person enters for a note, as NoteForm cleans them."""

    kind: str
    text: str
    source_url: str = ""
    happened_on: date | None = None


def note_version(note: ResearchNote) -> str:
    """Return the version an edit or deletion form sends back: updated_at in ISO 8601."""
    return note.updated_at.isoformat() if note.updated_at else ""


# The past participle of each change, for messages.
CHANGE_PARTICIPLES = {"edit": "edited", "delete": "deleted"}


def note_change_error(note: ResearchNote, verb: str) -> str:
    """Return why ``note`` cannot be changed with ``verb`` (edit, delete), or "" when it can."""
    done = CHANGE_PARTICIPLES[verb]
    if note.status == ResearchNote.Status.PROPOSED:
        return (
            f"Note {note.pk} is proposed by enrichment, so it cannot be {done}: publish or "
            "dismiss it first."
        )
    if note.status != ResearchNote.Status.PUBLISHED:
        return (
            f"Note {note.pk} is {note.get_status_display().lower()}, so it cannot be {done}: "
            "reload the page."
        )
    return ""


def _locked_note(note: ResearchNote, user: AbstractBaseUser, verb: str) -> ResearchNote:
    """Lock the note's row and check that ``user`` may change it and that it is published.

    Raises ResearchNote.DoesNotExist when the note was deleted in the meantime.
    """
    locked = (
        ResearchNote.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=note.pk)
    )
    if not can_change_note(user, locked):
        raise PermissionDenied(f"{user} may not {verb} note {locked.pk}.")
    error_message = note_change_error(locked, verb)
    if error_message:
        raise ValidationError(error_message)
    return locked


def _check_version(note: ResearchNote, version: datetime | None) -> None:
    """Raise NoteStaleError when ``version`` is given and is not the note's updated_at."""
    if version is not None and version != note.updated_at:
        raise NoteStaleError(note)


def kept_signal_warning(before: str, account: Account, after: ResearchNote | None) -> str:
    """Return a warning that the account keeps a signal a note may have added, or "".

    ``before`` is the signal the note gave before it changed (see ``note_signal``), and
    ``after`` the note as saved, or None once deleted.
    """
    if not before or (after is not None and note_signal(after) == before):
        return ""
    same = next((set(names) for names in NOTE_SIGNALS.values() if before in names), {before})
    recorded = account.buying_signals if isinstance(account.buying_signals, list) else []
    if not any(term_key(item) in same for item in recorded if isinstance(item, str)):
        return ""
    # NOTE: a note's signal is stored on the account, as an observation with no link to
    # the note, so an edit or a deletion leaves the signal and the score that counts it.
    return (
        f"The account keeps its buying signal \u201c{before}\u201d, and its score still "
        "counts it: editing or deleting a note leaves the account's signals as they are."
    )


def research_note_update(
    *,
    note: ResearchNote,
    user: AbstractBaseUser,
    values: NoteValues,
    version: datetime | None = None,
) -> NoteResult:
    """Change a published note's kind, text, source link and date.

    ``version`` is the note's updated_at when the form was rendered, and None applies the
    change to the current note. Raises PermissionDenied, ValidationError for invalid
    values or a note that is not published, and NoteStaleError when the note changed
    after ``version``. An edit that changes nothing saves nothing and returns
    ``changed`` False. A note that now has a recent funding, hire or expansion date adds
    its buying signal as ``research_note_create`` does.
    """
    with transaction.atomic():
        locked = _locked_note(note, user, "edit")
        _check_version(locked, version)
        before = note_signal(locked)
        new_values = {
            "kind": values.kind,
            "text": values.text.strip(),
            "source_url": values.source_url.strip(),
            "happened_on": values.happened_on,
        }
        if all(getattr(locked, name) == value for name, value in new_values.items()):
            return NoteResult(note=locked, changed=False)
        for name, value in new_values.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked._history_user = user
        locked.save(update_fields=[*NOTE_EDIT_FIELDS, "updated_at"])
    logger.info("account %s: user %s edited note %s", locked.account_id, user.pk, locked.pk)
    result = _note_signal_add(locked, user)
    locked.account.refresh_from_db(fields=["buying_signals"])
    warning = kept_signal_warning(before, locked.account, locked)
    if warning:
        result.warnings.append(warning)
    return result


def research_note_delete(
    *, note: ResearchNote, user: AbstractBaseUser, version: datetime | None = None
) -> list[str]:
    """Delete a published note and return warnings for the person.

    The deletion's history row keeps the note's values with the user, for the audit trail.
    Raises as ``research_note_update`` does.
    """
    with transaction.atomic():
        locked = _locked_note(note, user, "delete")
        _check_version(locked, version)
        before = note_signal(locked)
        note_id = locked.pk
        locked._history_user = user
        # NOTE: the monthly audit reads the notes table, so an audit of a past month run
        # after this deletion no longer counts the note as research done in that month.
        locked.delete()
    logger.info("account %s: user %s deleted note %s", locked.account_id, user.pk, note_id)
    warning = kept_signal_warning(before, locked.account, None)
    return [warning] if warning else []
