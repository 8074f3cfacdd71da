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
from enrichment.models import Observation
from segmentation.engine import term_key
from segmentation.signals import auto_resegmentation_paused

from .edits import (
    MANUAL_SOURCE,
    NOTE_SIGNALS,
    NOTE_SOURCE_DETAIL,
    NoteResult,
    _note_signal_add,
    _segment,
    note_signal,
)

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


def _same_signals(signal: str) -> set[str]:
    """Return the signal names that mean the same as ``signal``: "funding" for "recent funding"."""
    return next((set(names) for names in NOTE_SIGNALS.values() if signal in names), {signal})


def _reports_signal(value: object, names: set[str]) -> bool:
    """Return whether an observed buying_signals value lists one of ``names``."""
    if not isinstance(value, list):
        return False
    return any(isinstance(item, str) and term_key(item) in names for item in value)


def _from_note(observation: Observation) -> bool:
    return observation.source == MANUAL_SOURCE and observation.source_detail == NOTE_SOURCE_DETAIL


def _listed(items: list[str]) -> str:
    """Join ``items`` as in a sentence: "a", "a and b", "a, b and c"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def signal_kept_reasons(account: Account, signal: str, note_pk: int) -> list[str] | None:
    """Return why ``account`` keeps ``signal`` when note ``note_pk`` no longer gives it.

    Returns None when the account does not have the signal or one that means the same.
    The reasons are other published notes that give it, observations of sources other
    than research notes that report it, and a signal that no research note added. An
    empty list means that research notes added the signal and none still gives it, so
    it can be taken off the account.
    """
    same = _same_signals(signal)
    recorded = account.buying_signals if isinstance(account.buying_signals, list) else []
    keys = {term_key(item) for item in recorded if isinstance(item, str)}
    if not keys & same:
        return None
    reasons = []
    kinds = [kind for kind, names in NOTE_SIGNALS.items() if same & set(names)]
    other_notes = (
        ResearchNote.objects.filter(
            account_id=account.pk, kind__in=kinds, status=ResearchNote.Status.PUBLISHED
        )
        .exclude(pk=note_pk)
        .order_by("pk")
    )
    giving = [str(other.pk) for other in other_notes if note_signal(other) in same]
    if len(giving) == 1:
        reasons.append(f"research note {giving[0]} still gives it")
    elif giving:
        reasons.append(f"research notes {_listed(giving)} still give it")
    observations = list(Observation.objects.filter(account_id=account.pk, field="buying_signals"))
    sources = sorted(
        {
            observation.source
            for observation in observations
            if not _from_note(observation) and _reports_signal(observation.value, same)
        }
    )
    if sources:
        verb = "reports" if len(sources) == 1 else "report"
        reasons.append(f"the source {_listed(sources)} {verb} it")
    if reasons:
        return reasons
    # NOTE: a signal that a note added and someone later set again through the admin or
    # the API records no observation, so it counts as the note's and is removed.
    added_by_note = term_key(signal) in keys and any(
        _from_note(observation) and _reports_signal(observation.value, {term_key(signal)})
        for observation in observations
    )
    return [] if added_by_note else ["no research note added it"]


def kept_signal_message(account: Account, signal: str, reasons: list[str]) -> str:
    """Return the warning that ``account`` keeps ``signal``, with the reasons.

    The signal is named as the account records it, such as "Funding" for "recent funding".
    """
    same = _same_signals(signal)
    recorded = account.buying_signals if isinstance(account.buying_signals, list) else []
    recorded_name = next(
        (item for item in recorded if isinstance(item, str) and term_key(item) in same), signal
    )
    return (
        f"The account keeps its buying signal \u201c{recorded_name}\u201d, because "
        f"{_listed(reasons)}."
    )


def note_delete_signal_notice(note: ResearchNote) -> str:
    """Return what deleting ``note`` would do to the buying signal it gives, or "" for nothing."""
    signal = note_signal(note)
    if not signal:
        return ""
    reasons = signal_kept_reasons(note.account, signal, note.pk)
    if reasons is None:
        return ""
    if reasons:
        return kept_signal_message(note.account, signal, reasons)
    return (
        f"Deleting it also removes its buying signal \u201c{signal}\u201d from the account, "
        "which is then scored again."
    )


def _note_signal_remove(
    *, account_id: int, note_pk: int, signal: str, user: AbstractBaseUser, change: str
) -> tuple[str, str]:
    """Take the signal that note ``note_pk`` gave off its account, unless something keeps it.

    Returns the removed signal ("" when the account keeps it) and the warning that
    explains why the account keeps it ("" when it does not have the signal). ``change``
    is the note's change, "edited" or "deleted", for the audit trail. The account is
    locked before the other notes are read, so that two notes changed at once do not
    both keep the signal because of each other. The caller scores the account again.
    """
    account = Account.objects.select_for_update().get(pk=account_id)
    reasons = signal_kept_reasons(account, signal, note_pk)
    if reasons is None:
        return "", ""
    if reasons:
        return "", kept_signal_message(account, signal, reasons)
    key = term_key(signal)
    account.buying_signals = [
        item
        for item in account.buying_signals
        if not (isinstance(item, str) and term_key(item) == key)
    ]
    account._history_user = user
    account._change_reason = f"Research note {note_pk} {change}"
    with auto_resegmentation_paused():
        account.save(update_fields=["buying_signals", "updated_at"])
    logger.info(
        "account %s: note %s %s, buying signal %r removed", account.pk, note_pk, change, signal
    )
    return signal, ""


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
    its buying signal as ``research_note_create`` does. A note that no longer gives its
    signal takes it off the account, as ``research_note_delete`` does.
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
        removed, kept_warning = "", ""
        if before and note_signal(locked) != before:
            removed, kept_warning = _note_signal_remove(
                account_id=locked.account_id,
                note_pk=locked.pk,
                signal=before,
                user=user,
                change="edited",
            )
    logger.info("account %s: user %s edited note %s", locked.account_id, user.pk, locked.pk)
    result = _note_signal_add(locked, user)
    result.removed_signal = removed
    if removed and not result.signal:
        # An added signal has scored the account already.
        result.warnings.extend(_segment(locked.account))
    if kept_warning:
        result.warnings.append(kept_warning)
    return result


def research_note_delete(
    *, note: ResearchNote, user: AbstractBaseUser, version: datetime | None = None
) -> NoteResult:
    """Delete a published note and take the buying signal it gave off its account.

    The account keeps the signal when another published note gives it, another source
    reports it, or no research note added it, and a warning in the result gives the reason. The
    deletion's history row keeps the note's values with the user, for the audit trail.
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
        removed, kept_warning = "", ""
        if before:
            removed, kept_warning = _note_signal_remove(
                account_id=locked.account_id,
                note_pk=note_id,
                signal=before,
                user=user,
                change="deleted",
            )
    logger.info("account %s: user %s deleted note %s", locked.account_id, user.pk, note_id)
    result = NoteResult(note=locked, removed_signal=removed)
    if removed:
        result.warnings.extend(_segment(locked.account))
    if kept_warning:
        result.warnings.append(kept_warning)
    return result
