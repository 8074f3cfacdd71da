"""Edit and delete a published research note on the account page.

The notes section shows the edit form, or the deletion's confirmation, in place of the
note. htmx swaps the whole section, and a plain request gets the section inside the page
layout, so both work without JavaScript. A saved change redirects a plain request to the
account page with a message.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.views import View

from accounts import workspace
from accounts.forms import NoteDeleteForm, NoteEditForm
from accounts.models import Account, ResearchNote
from accounts.permissions import can_change_note, note_change_denied_message

from .base import AccountObjectMixin, AccountViewerRequiredMixin, add_errors, is_htmx
from .inline import (
    note_messages,
    note_saved_notice,
    notes_message_response,
    notes_response,
    saved_messages,
    unchanged_message,
)

NOTE_STALE_MESSAGE = (
    "Someone changed this note after you opened the form, so your change was not saved. "
    "Check their change, then save again to apply yours."
)
NOTE_DELETE_STALE_MESSAGE = (
    "Someone changed this note after you opened the confirmation, so it was not deleted. "
    "Check their change, then confirm again to delete it."
)


def note_gone_message(note_pk: int) -> str:
    return f"Note {note_pk} was deleted by someone else, so nothing was changed."


class ResearchNoteChangeMixin(AccountObjectMixin, AccountViewerRequiredMixin):
    """Load the URL's note of the URL's account for a user who may change it, or 404/403.

    A subclass sets ``verb`` and ``title`` and defines ``render_change``.
    """

    verb: str
    title: str

    def get_note(self) -> ResearchNote:
        account = self.get_account()
        note = get_object_or_404(
            ResearchNote.objects.select_related("author"),
            pk=self.kwargs["note_pk"],
            account=account,
        )
        note.account = account
        self.require(
            can_change_note(self.request.user, note),
            note_change_denied_message(self.request.user, note),
        )
        return note

    def render_change(
        self, note: ResearchNote, form: Any, *, status: int = 200, stale: bool = False
    ) -> HttpResponse:
        raise NotImplementedError

    def reject(self, account: Account, message: str) -> HttpResponse:
        """Return the account page with ``message`` for a note that cannot change."""
        return notes_message_response(self.request, account, error=message, status=422)

    def render_notes(self, note: ResearchNote, status: int, **context: Any) -> HttpResponse:
        """Return the notes section with ``note`` replaced by its form (``context``)."""
        return notes_response(
            self.request, note.account, status=status, title=self.title, change=context
        )

    def stale_data(self, current: ResearchNote) -> QueryDict:
        """Return what the person sent, with the current note's version."""
        data = self.request.POST.copy()
        data["version"] = workspace.note_version(current)
        return data


class ResearchNoteEditView(ResearchNoteChangeMixin, View):
    """Change a published note's kind, text, source link and date."""

    verb = "edit"
    title = "Edit note"

    def render_change(
        self, note: ResearchNote, form: NoteEditForm, *, status: int = 200, stale: bool = False
    ) -> HttpResponse:
        return self.render_notes(
            note,
            status,
            changing_note=note,
            note_edit_form=form,
            note_stale_message=NOTE_STALE_MESSAGE if stale else "",
        )

    def get(self, request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
        note = self.get_note()
        error_message = workspace.note_change_error(note, self.verb)
        if error_message:
            return self.reject(note.account, error_message)
        initial = {
            "kind": note.kind,
            "text": note.text,
            "source_url": note.source_url,
            "happened_on": note.happened_on,
            "version": workspace.note_version(note),
        }
        return self.render_change(note, NoteEditForm(initial=initial, note_pk=note.pk))

    def post(self, request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
        note = self.get_note()
        account = note.account
        form = NoteEditForm(request.POST, note_pk=note.pk)
        if not form.is_valid():
            return self.render_change(note, form, status=422)
        try:
            result = workspace.research_note_update(
                note=note,
                user=request.user,
                values=form.values(),
                version=form.cleaned_data["version"],
            )
        except ResearchNote.DoesNotExist:
            return self.reject(account, note_gone_message(note.pk))
        except ValidationError as error:
            add_errors(form, error)
            return self.render_change(note, form, status=422)
        except workspace.NoteStaleError as error:
            current = error.note
            current.account = account
            stale_form = NoteEditForm(self.stale_data(current), note_pk=current.pk)
            stale_form.is_valid()
            return self.render_change(current, stale_form, status=409, stale=True)

        saved = note_saved_notice("Note saved.", result)
        if not is_htmx(request):
            saved_messages(
                request,
                changed=result.changed,
                saved=saved,
                label="the note",
                warnings=result.warnings,
            )
            return redirect(account)
        notice = saved if result.changed else unchanged_message("the note")
        return notes_response(request, account, result=result, notice=notice)


class ResearchNoteDeleteView(ResearchNoteChangeMixin, View):
    """Delete a published note: GET shows the confirmation, and its POST deletes the note."""

    verb = "delete"
    title = "Delete note"

    def render_change(
        self, note: ResearchNote, form: NoteDeleteForm, *, status: int = 200, stale: bool = False
    ) -> HttpResponse:
        return self.render_notes(
            note,
            status,
            changing_note=note,
            note_delete_form=form,
            note_stale_message=NOTE_DELETE_STALE_MESSAGE if stale else "",
            note_signal_notice=workspace.note_delete_signal_notice(note),
        )

    def get(self, request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
        note = self.get_note()
        error_message = workspace.note_change_error(note, self.verb)
        if error_message:
            return self.reject(note.account, error_message)
        form = NoteDeleteForm(initial={"version": workspace.note_version(note)})
        return self.render_change(note, form)

    def post(self, request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
        note = self.get_note()
        account = note.account
        form = NoteDeleteForm(request.POST)
        if not form.is_valid():
            return self.render_change(note, form, status=422)
        try:
            result = workspace.research_note_delete(
                note=note, user=request.user, version=form.cleaned_data["version"]
            )
        except ResearchNote.DoesNotExist:
            return self.reject(account, note_gone_message(note.pk))
        except ValidationError as error:
            # Only a note that is not published is rejected this way.
            return self.reject(account, " ".join(error.messages))
        except workspace.NoteStaleError as error:
            current = error.note
            current.account = account
            stale_form = NoteDeleteForm(self.stale_data(current))
            stale_form.is_valid()
            return self.render_change(current, stale_form, status=409, stale=True)

        if not is_htmx(request):
            note_messages(request, result, "Note deleted.")
            return redirect(account)
        notice = note_saved_notice("Note deleted.", result)
        return notes_response(request, account, result=result, notice=notice)
