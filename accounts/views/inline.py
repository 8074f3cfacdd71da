"""Inline edits on the account page: fields, tag and tier, fit, conflicts and notes.

Each view returns the fragment to swap in to htmx, and the fragment inside the page
layout to a plain request, so the forms also work without JavaScript. Validation
errors return 422 and a stale edit 409, with the form and its messages. An edit is
stale when someone changed a value that the form saves after it was rendered.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.views import View

from accounts import selectors, workspace
from accounts.forms import (
    INPUT_LABELS,
    OTHER_VALUE,
    SEGMENT_INPUTS,
    ConflictResolveForm,
    FeedCheckForm,
    FieldEditForm,
    FitValidationForm,
    FlagReviewForm,
    NoteForm,
    NoteReviewForm,
    SegmentEditForm,
    loaded_initial,
)
from accounts.models import Account, ResearchNote
from accounts.permissions import (
    can_add_note,
    can_research_account,
    can_review_account,
    can_validate_fit,
)
from accounts.workspace.flags import review_flag_mark_reviewed
from enrichment.services import account_feeds_check
from segmentation.tags import active_tag_checker
from segmentation.taxonomy import UNKNOWN_INDUSTRY

from .base import (
    AccountObjectMixin,
    AccountViewerRequiredMixin,
    add_errors,
    is_htmx,
    mark_invalid,
    render_fragment,
    trigger,
)
from .pages import account_permissions, field_rows, notes_context, segment_context

FIELD_ROW = "accounts/partials/_field_row.html"
FIELD_FORM = "accounts/partials/_field_form.html"
CONFLICT_FORM = "accounts/partials/_conflict_form.html"
SEGMENT = "accounts/partials/_account_segment.html"
SEGMENT_FORM = "accounts/partials/_segment_form.html"
FIT_FORM = "accounts/partials/_fit_form.html"
NOTES = "accounts/partials/_notes.html"
REVIEW_FLAGS = "accounts/partials/_review_flags.html"
STATUS = "accounts/partials/_account_status.html"

STALE_INPUT_LABELS = {**INPUT_LABELS, "tag": "Tag", "tier": "Tier"}


def stale_message(error: workspace.StaleEditError | None) -> str:
    """Return the notice of a rejected stale edit, naming the values someone changed."""
    if error is None:
        return ""
    labels = [STALE_INPUT_LABELS.get(name, name).lower() for name in error.inputs]
    changed_what = "this account"
    if len(labels) == 1:
        changed_what = f"the {labels[0]}"
    elif labels:
        changed_what = f"the {', '.join(labels[:-1])} and {labels[-1]}"
    return (
        f"Someone changed {changed_what} after you opened the form, so your change was not "
        "saved. Check their change below, then save again to apply yours."
    )


def stale_retry_data(
    request: HttpRequest, error: workspace.StaleEditError, inputs: tuple[str, ...]
) -> QueryDict:
    """Return what the person sent, with the account's current version and fingerprints.

    The rejected form keeps what the person typed, and saving it again applies their
    change on top of the one they were shown.
    """
    data = request.POST.copy()
    data["version"] = workspace.account_version(error.account)
    for name, fingerprint in loaded_initial(error.account, inputs).items():
        data[name] = fingerprint
    return data


def unchanged_message(label: str) -> str:
    """Return the notice for an edit saved without a change, which records nothing."""
    return f"Nothing changed: {label} is the same as before, so nothing was saved."


def saved_messages(
    request: HttpRequest, *, changed: bool, saved: str, label: str, warnings: list[str]
) -> None:
    """Queue the messages of a saved edit for the page a plain request is sent back to.

    ``saved`` is the success message, and an edit that changed nothing gets the
    unchanged notice of ``label`` instead.
    """
    if changed:
        messages.success(request, saved)
    else:
        messages.info(request, unchanged_message(label))
    for warning in warnings:
        messages.warning(request, warning)


def changed(response: HttpResponse, account: Account) -> HttpResponse:
    """Tell the page that the account changed, so that its sections load again.

    Open forms keep the version and fingerprints they were rendered with. A save compares
    only the values behind the form's own inputs, so another section's change does not
    reject it. A rejection lists the changes made since the form was opened.
    """
    return trigger(response, {"accountChanged": {"account": account.pk}})


def has_code(error: ValidationError, name: str, code: str) -> bool:
    """Return whether a service's ValidationError has an error with ``code`` on input ``name``."""
    errors = getattr(error, "error_dict", {}).get(name, [])
    return any(item.code == code for item in errors)


def field_row_context(request: HttpRequest, account: Account, field_name: str) -> dict[str, Any]:
    return {
        "account": account,
        "field": field_rows(account)[field_name],
        "perms": account_permissions(request.user, account),
        "version": workspace.account_version(account),
    }


class AccountFieldMixin(AccountObjectMixin, AccountViewerRequiredMixin):
    """Resolve the editable field of the URL, or 404."""

    def field_spec(self) -> workspace.EditableField:
        spec = workspace.EDITABLE_FIELDS.get(self.kwargs["field"])
        if spec is None:
            raise Http404(f"Field {self.kwargs['field']!r} cannot be edited on the account page.")
        return spec


class AccountFieldView(AccountFieldMixin, View):
    """One field row of the account page, as displayed (the Cancel of an edit)."""

    def get(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        spec = self.field_spec()
        account = self.get_account()
        return render(request, FIELD_ROW, field_row_context(request, account, spec.name))


class AccountFieldUpdateView(AccountFieldMixin, View):
    """Edit one field in place: the form, validation next to the inputs, and the save."""

    def render_form(
        self,
        form: FieldEditForm,
        account: Account,
        *,
        status: int = 200,
        stale: workspace.StaleEditError | None = None,
    ) -> HttpResponse:
        context = {
            "account": account,
            "form": mark_invalid(form),
            "spec": form.spec,
            "stale": stale,
            "stale_message": stale_message(stale),
        }
        return render_fragment(
            self.request, FIELD_FORM, context, status=status, title=f"Edit {form.spec.label}"
        )

    def get(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        spec = self.field_spec()
        account = self.get_account()
        self.require(can_research_account(request.user, account), "You may not edit this account.")
        initial = {
            **workspace.field_initial(account, spec.name),
            **loaded_initial(account, spec.inputs),
            "version": workspace.account_version(account),
        }
        return self.render_form(FieldEditForm(initial=initial, field_name=spec.name), account)

    def post(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        spec = self.field_spec()
        account = self.get_account()
        self.require(can_research_account(request.user, account), "You may not edit this account.")
        form = FieldEditForm(request.POST, field_name=spec.name)
        if not form.is_valid():
            return self.render_form(form, account, status=422)
        try:
            result = workspace.account_field_update(
                account=account,
                field_name=spec.name,
                data=form.values(),
                user=request.user,
                version=workspace.parse_version(form.cleaned_data["version"]),
                loaded=form.loaded_fingerprints(),
                allow_unmapped=form.allows_unmapped,
            )
        except ValidationError as error:
            add_errors(form, error)
            form.unknown_industry = has_code(error, "industry_raw", UNKNOWN_INDUSTRY)
            return self.render_form(form, account, status=422)
        except workspace.StaleEditError as error:
            data = stale_retry_data(request, error, spec.inputs)
            stale_form = FieldEditForm(data, field_name=spec.name)
            stale_form.is_valid()
            return self.render_form(stale_form, error.account, status=409, stale=error)

        if not is_htmx(request):
            saved_messages(
                request,
                changed=result.changed,
                saved=f"{spec.label} saved.",
                label=spec.label,
                warnings=result.warnings,
            )
            return redirect(result.account)
        account = get_object_or_404(
            selectors.account_workspace_queryset(user=request.user), pk=account.pk
        )
        context = field_row_context(request, account, spec.name)
        if not result.changed:
            # The version is unchanged too, so open forms need no accountChanged event.
            context["unchanged_message"] = unchanged_message(spec.label)
            return render(request, FIELD_ROW, context)
        context.update(saved=True, warnings=result.warnings)
        return changed(render(request, FIELD_ROW, context), account)


class AccountConflictResolveView(AccountFieldMixin, View):
    """Resolve a conflicting field: pick a source's value or enter one, with a reason."""

    def status_key(self) -> str:
        spec = self.field_spec()
        if spec.status_key not in ("industry", "company_size", "revenue", "country"):
            raise Http404(f"{spec.label} has no conflicts to resolve.")
        return spec.status_key

    def options(self, account: Account, status_key: str) -> list[tuple[str, str]]:
        from enrichment.services import comparison_context
        from enrichment.verification import VERIFIED_FIELDS, display_value

        values = ((account.field_status or {}).get(status_key) or {}).get("values") or {}
        context = comparison_context()
        choices = []
        for option in selectors.conflict_options(account, VERIFIED_FIELDS[status_key]):
            # field_status shows each source's newest value, and the others are written
            # the same way, except industries, whose names it looked up.
            if option.is_newest:
                display = values.get(option.source_id)
            elif status_key == "industry":
                display = option.display_text
            else:
                display = display_value(status_key, option.value, context)
            display = display or option.raw_value or option.value
            label = f"{option.source}: {display}"
            origin = []
            if option.line is not None:
                origin.append(f"line {option.line}")
            if option.import_run_id is not None:
                origin.append(f"import #{option.import_run_id}")
            if origin:
                label = f"{label} ({', '.join(origin)})"
            choices.append((str(option.observation_id), label))
        return choices

    def load(self, request: HttpRequest) -> Account:
        account = get_object_or_404(
            selectors.account_workspace_queryset(user=request.user), pk=self.kwargs["pk"]
        )
        self.require(
            can_review_account(request.user, account),
            "Only a Sales Manager of the account's team may resolve conflicts.",
        )
        return account

    def render_form(
        self, form: ConflictResolveForm, account: Account, status: int = 200
    ) -> HttpResponse:
        context = {"account": account, "form": mark_invalid(form), "spec": self.field_spec()}
        return render_fragment(self.request, CONFLICT_FORM, context, status=status, title="Resolve")

    def get(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        status_key = self.status_key()
        account = self.load(request)
        form = ConflictResolveForm(options=self.options(account, status_key))
        return self.render_form(form, account)

    def post(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        from enrichment.services import field_conflict_resolve

        status_key = self.status_key()
        account = self.load(request)
        form = ConflictResolveForm(request.POST, options=self.options(account, status_key))
        if not form.is_valid():
            return self.render_form(form, account, status=422)
        choice = form.cleaned_data["choice"]
        arguments: dict[str, Any] = (
            {"value": form.cleaned_data["value"]}
            if choice == OTHER_VALUE
            else {"observation_id": int(choice)}
        )
        try:
            field_conflict_resolve(
                account=account,
                field=status_key,
                user=request.user,
                reason=form.cleaned_data["reason"],
                **arguments,
            )
        except ValidationError as error:
            target = "value" if choice == OTHER_VALUE else None
            for message in error.messages:
                form.add_error(target, message)
            return self.render_form(form, account, status=422)
        if not is_htmx(request):
            messages.success(request, f"{self.field_spec().label} resolved.")
            return redirect(account)
        account = self.load(request)
        context = field_row_context(request, account, self.field_spec().name)
        context["saved"] = True
        return changed(render(request, FIELD_ROW, context), account)


def tag_error_add(form: SegmentEditForm, account: Account) -> None:
    """Add the tag's template error to a form that failed on other fields.

    account_segment_edit checks the tag only once the form is valid, so without this a
    form with a bad tag and an empty reason would report the reason alone.
    """
    tag = form.cleaned_data.get("tag")
    if not tag:
        return
    tags = active_tag_checker()
    if tags is None:
        return
    new_tag, _new_tier = workspace.changed_segment(account, tag, "", tags)
    if new_tag is None:
        return
    tier = form.cleaned_data.get("tier") or account.tier
    try:
        tags.clean(new_tag, tier=tier)
    except ValidationError as error:
        add_errors(form, error)


class SegmentDecisionMixin:
    """Shared POST handling of the forms that set an account's tag or tier.

    A subclass sets ``form_class`` and ``saved_message`` and defines ``render_form`` and
    ``save``. An invalid form or a rejected save returns 422. An edit that someone else's
    change made stale returns 409, with the form filled in from the request.
    """

    form_class: type[SegmentEditForm] | type[FitValidationForm]
    saved_message: str

    def invalid_form(self, form, account: Account) -> None:
        """Add errors that the form's own validation cannot find."""

    def save(self, form, account: Account) -> None:
        raise NotImplementedError

    def save_decision(self, account: Account) -> HttpResponse:
        request = self.request
        form = self.form_class(request.POST)
        if not form.is_valid():
            self.invalid_form(form, account)
            return self.render_form(form, account, status=422)
        try:
            self.save(form, account)
        except ValidationError as error:
            add_errors(form, error)
            return self.render_form(form, account, status=422)
        except workspace.StaleEditError as error:
            stale_form = self.form_class(stale_retry_data(request, error, SEGMENT_INPUTS))
            stale_form.is_valid()
            return self.render_form(stale_form, error.account, status=409, stale=error)
        account.refresh_from_db()
        if not is_htmx(request):
            messages.success(request, self.saved_message)
            return redirect(account)
        context = {**segment_context(request.user, account), "saved": True}
        return changed(render(request, SEGMENT, context), account)


class AccountSegmentUpdateView(
    SegmentDecisionMixin, AccountObjectMixin, AccountViewerRequiredMixin, View
):
    """Set the tag and tier by hand with a reason (a manual_tag override)."""

    form_class = SegmentEditForm
    saved_message = "Tag and tier saved."

    def render_form(
        self,
        form: SegmentEditForm,
        account: Account,
        *,
        status: int = 200,
        stale: workspace.StaleEditError | None = None,
    ) -> HttpResponse:
        context = {
            **segment_context(self.request.user, account),
            "form": mark_invalid(form),
            "stale": stale,
            "stale_message": stale_message(stale),
        }
        return render_fragment(self.request, SEGMENT_FORM, context, status=status, title="Edit tag")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.require(can_research_account(request.user, account), "You may not tag this account.")
        form = SegmentEditForm(
            initial={
                "tag": account.tag,
                "tier": account.tier,
                "version": workspace.account_version(account),
                **loaded_initial(account, SEGMENT_INPUTS),
            }
        )
        return self.render_form(form, account)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.require(can_research_account(request.user, account), "You may not tag this account.")
        return self.save_decision(account)

    def invalid_form(self, form: SegmentEditForm, account: Account) -> None:
        tag_error_add(form, account)

    def save(self, form: SegmentEditForm, account: Account) -> None:
        workspace.account_segment_edit(
            account=account,
            user=self.request.user,
            tag=form.cleaned_data["tag"],
            tier=form.cleaned_data["tier"],
            reason=form.cleaned_data["reason"],
            version=workspace.parse_version(form.cleaned_data["version"]),
            loaded=form.loaded_fingerprints(),
        )


class AccountFitValidateView(
    SegmentDecisionMixin, AccountObjectMixin, AccountViewerRequiredMixin, View
):
    """An AE's fit decision: confirm the segment or refine it, with a reason."""

    form_class = FitValidationForm
    saved_message = "Fit decision saved."

    def render_form(
        self,
        form: FitValidationForm,
        account: Account,
        status: int = 200,
        stale: workspace.StaleEditError | None = None,
    ) -> HttpResponse:
        context = {
            **segment_context(self.request.user, account),
            "form": mark_invalid(form),
            "stale": stale,
            "stale_message": stale_message(stale),
            "confirm_refusal": workspace.fit_confirm_refusal(account),
        }
        return render_fragment(self.request, FIT_FORM, context, status=status, title="Validate fit")

    def allowed(self, account: Account) -> None:
        self.require(
            can_validate_fit(self.request.user, account),
            "Only the account's AE or their manager may validate its fit.",
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.allowed(account)
        decision = request.GET.get("decision")
        if decision not in (workspace.FIT_CONFIRM, workspace.FIT_REFINE):
            decision = workspace.FIT_CONFIRM
        form = FitValidationForm(
            initial={
                "decision": decision,
                "tier": account.tier,
                "version": workspace.account_version(account),
                **loaded_initial(account, SEGMENT_INPUTS),
            }
        )
        return self.render_form(form, account)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.allowed(account)
        return self.save_decision(account)

    def save(self, form: FitValidationForm, account: Account) -> None:
        workspace.account_fit_validate(
            account=account,
            user=self.request.user,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
            tag=form.cleaned_data["tag"],
            tier=form.cleaned_data["tier"],
            version=workspace.parse_version(form.cleaned_data["version"]),
            loaded=form.loaded_fingerprints(),
        )


def notes_response(
    request: HttpRequest,
    account: Account,
    form: NoteForm | None = None,
    *,
    status: int = 200,
    error: str = "",
    result: workspace.NoteResult | None = None,
    notice: str = "",
    warnings: list[str] | None = None,
    title: str = "Research notes",
    change: dict[str, Any] | None = None,
) -> HttpResponse:
    """Render the notes section. ``change`` shows a note's edit form or the confirmation
    of its deletion in place of the note (see accounts.views.notes).
    """
    if result is not None and result.signals_changed:
        account.refresh_from_db()
    timeline = notes_context(account, user=request.user)
    if change and change["changing_note"] not in timeline["notes"]:
        # An older note is listed only with every note, as "show all" lists it.
        timeline = notes_context(account, user=request.user, every=True)
    context = {
        **segment_context(request.user, account),
        **timeline,
        "note_form": mark_invalid(form) if form is not None else NoteForm(),
        "notes_error": error,
        "notes_notice": notice or note_notice(result),
        "notes_warnings": warnings or (result.warnings if result else []),
    }
    if change:
        for value in change.values():
            if isinstance(value, Form):
                mark_invalid(value)
        context.update(change)
    response = render_fragment(request, NOTES, context, status=status, title=title)
    if result is not None and result.signals_changed:
        # The signals, score and history sections read the account again.
        return changed(response, account)
    return response


def notes_message_response(
    request: HttpRequest,
    account: Account,
    *,
    notice: str = "",
    error: str = "",
    warnings: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Return the notes section with a notice, an error or warnings.

    A plain request is redirected to the account page, which shows them as messages.
    """
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        if notice:
            messages.success(request, notice)
        for warning in warnings or []:
            messages.warning(request, warning)
        return redirect(account)
    return notes_response(
        request, account, status=status, error=error, notice=notice, warnings=warnings
    )


def note_notice(result: workspace.NoteResult | None) -> str:
    """Return the notice of the buying signals a note's change added and removed, or ""."""
    if result is None or not result.signals_changed:
        return ""
    changes = []
    if result.signal:
        changes.append(f"Buying signal \u201c{result.signal}\u201d added to the account")
    if result.removed_signal:
        removed = f"buying signal \u201c{result.removed_signal}\u201d removed from the account"
        changes.append(removed if changes else capfirst(removed))
    return f"{' and '.join(changes)}, which was scored again."


def note_saved_notice(saved: str, result: workspace.NoteResult) -> str:
    """Return ``saved`` followed by the notice of the buying signals the change affected."""
    return " ".join(filter(None, [saved, note_notice(result)]))


def note_messages(request: HttpRequest, result: workspace.NoteResult, saved: str) -> None:
    """Queue the messages of a saved note for the page a full request is sent back to."""
    messages.success(request, note_saved_notice(saved, result))
    for warning in result.warnings:
        messages.warning(request, warning)


class ResearchNoteCreateView(AccountObjectMixin, AccountViewerRequiredMixin, View):
    """Add a research note to the account's timeline."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.require(can_add_note(request.user, account), "You may not add notes to this account.")
        form = NoteForm(request.POST)
        if not form.is_valid():
            return notes_response(request, account, form, status=422)
        try:
            result = workspace.research_note_create(
                account=account,
                user=request.user,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                source_url=form.cleaned_data["source_url"],
                happened_on=form.cleaned_data["happened_on"],
            )
        except ValidationError as error:
            add_errors(form, error)
            return notes_response(request, account, form, status=422)
        if not is_htmx(request):
            note_messages(request, result, "Note added.")
            return redirect(account)
        return notes_response(request, account, result=result)


class ResearchFeedsReadView(AccountObjectMixin, AccountViewerRequiredMixin, View):
    """Read the company's news feeds and propose notes from their items."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.require(can_add_note(request.user, account), "You may not add notes to this account.")
        form = FeedCheckForm(request.POST)
        if not form.is_valid():
            error = " ".join(form.errors["feed_url"])
            return notes_message_response(request, account, error=error, status=422)
        entered = form.cleaned_data["feed_url"]
        check = account_feeds_check(account=account, feed_urls=[entered] if entered else None)
        if not check.feed_urls:
            return notes_message_response(
                request,
                account,
                error="No news feed is known for this account. Run a website enrichment to "
                "find the company's feeds, or enter a feed address.",
                status=422,
            )
        failures = [f"{url} could not be read: {message}" for url, message in check.failures]
        read = len(check.feed_urls) - len(check.failures)
        if not read:
            return notes_message_response(request, account, error=" ".join(failures), status=422)
        notice = feed_check_notice(read, len(check.proposed))
        return notes_message_response(request, account, notice=notice, warnings=failures)


def feed_check_notice(feeds_read: int, proposed: int) -> str:
    """Return what a feed check found, in words."""
    feeds_text = "1 feed" if feeds_read == 1 else f"{feeds_read} feeds"
    if not proposed:
        return f"Read {feeds_text}: nothing new to propose."
    notes_text = "1 note" if proposed == 1 else f"{proposed} notes"
    return f"Read {feeds_text}: {notes_text} proposed below. Publish or dismiss each one."


class ResearchNoteReviewView(AccountObjectMixin, AccountViewerRequiredMixin, View):
    """Publish or dismiss a note that enrichment proposed."""

    def post(self, request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
        account = self.get_account()
        self.require(
            can_add_note(request.user, account), "You may not review notes of this account."
        )
        note = get_object_or_404(ResearchNote, pk=note_pk, account=account)
        form = NoteReviewForm(request.POST)
        if not form.is_valid():
            return HttpResponse("Choose publish or dismiss.", status=422)
        try:
            result = workspace.research_note_review(
                note=note, user=request.user, status=form.cleaned_data["status"]
            )
        except ValidationError as error:
            return notes_message_response(
                request, account, error=" ".join(error.messages), status=422
            )
        if not is_htmx(request):
            if result.note.status == ResearchNote.Status.PUBLISHED:
                note_messages(request, result, "Note published.")
            return redirect(account)
        return notes_response(request, account, result=result)


class AccountFlagReviewView(AccountObjectMixin, AccountViewerRequiredMixin, View):
    """Mark one review flag reviewed: the value is right as it is, or was fixed elsewhere."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.require(can_research_account(request.user, account), "You may not edit this account.")
        form = FlagReviewForm(request.POST)
        error = ""
        if not form.is_valid():
            error = "The review flag in the form is invalid: reload the page and try again."
        else:
            try:
                account = review_flag_mark_reviewed(
                    account=account,
                    user=request.user,
                    field=form.cleaned_data["field"],
                    value=form.cleaned_data["value"],
                )
            except ValidationError as invalid:
                error = " ".join(invalid.messages)
        if not is_htmx(request):
            if error:
                messages.error(request, error)
            else:
                messages.success(request, "Review flag marked reviewed.")
            return redirect(account)
        context = {
            "account": account,
            "perms": account_permissions(request.user, account),
            "flag_error": error,
        }
        response = render(request, REVIEW_FLAGS, context, status=422 if error else 200)
        return response if error else changed(response, account)


class AccountTakeView(AccountObjectMixin, AccountViewerRequiredMixin, View):
    """Assign an unowned account to the SDR or AE who opens it."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.get_account()
        self.require(
            workspace.may_use_action(request.user, workspace.TAKE),
            "Only SDRs and AEs assign accounts to themselves.",
        )
        # Taking an account that someone owns is a manager's reassignment, so it is denied.
        if account.owner_id not in (None, request.user.pk):
            owner = selectors.user_label(account.owner)
            self.require(
                False, f"{account.name} is owned by {owner}: ask their manager to reassign it."
            )
        try:
            account = workspace.account_take(account=account, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(account)
        if not is_htmx(request):
            messages.success(request, "The account is assigned to you.")
            return redirect(account)
        account = get_object_or_404(
            selectors.account_workspace_queryset(user=request.user), pk=account.pk
        )
        response = render(request, STATUS, segment_context(request.user, account))
        return changed(response, account)
