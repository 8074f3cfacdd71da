"""Bulk actions on the ticked rows of the account list, each confirmed with its count."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from accounts import selectors, workspace
from accounts.exports import byte_order_mark_chunks
from accounts.forms import ACTION_LABELS, BulkActionForm
from accounts.models import Account, Tier
from enrichment.models import EnrichmentRun

from .base import (
    AccountViewerRequiredMixin,
    add_errors,
    is_htmx,
    mark_invalid,
    render_fragment,
    trigger,
)
from .pages import bulk_action_form

CONFIRM = "accounts/partials/_bulk_confirm.html"
RESULT = "accounts/partials/_bulk_result.html"
SKIPPED_SHOWN = 20


def _count(number: int) -> str:
    return f"{number:,} account{'s' if number != 1 else ''}"


def _owner_name(owner: Any) -> str:
    return (owner.get_full_name() or owner.get_username()) if owner else "nobody"


def confirmation_question(form: BulkActionForm, count: int) -> str:
    """Return the question of the confirmation, such as "Assign 37 accounts to Dana Okafor?"."""
    action = form.cleaned_data["action"]
    accounts = _count(count)
    if action == workspace.ASSIGN:
        if form.chosen_owner is None:
            return f"Unassign {accounts}?"
        return f"Assign {accounts} to {_owner_name(form.chosen_owner)}?"
    if action == workspace.TAKE:
        return f"Assign {accounts} to you? Only unowned accounts are assigned."
    if action == workspace.ENRICH:
        return f"Start enrichment of {accounts} with {form.cleaned_data['provider'].title()}?"
    if action == workspace.TAG:
        return f"Set {_segment_summary(form)} on {accounts}?"
    return f"Export {accounts} as CSV?"


def skipped_summary(skipped: list[Account]) -> str:
    """Return one sentence naming the skipped accounts, the first SKIPPED_SHOWN by name."""
    names = ", ".join(account.name for account in skipped[:SKIPPED_SHOWN])
    more = len(skipped) - SKIPPED_SHOWN
    if more > 0:
        names += f" and {more:,} more"
    sentence = f"Skipped {_count(len(skipped))} that you may not change: {names}"
    # A name such as "Acme Corp." already ends the sentence.
    return sentence if sentence.endswith(".") else f"{sentence}."


def stopped_early(run: EnrichmentRun) -> bool:
    """Return True for a run that its time budget stopped without a broker.

    Only the time budget sets the error of a run that finished without failing.
    """
    return run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS and bool(run.error)


def enrichment_outcome(run: EnrichmentRun, count: int) -> tuple[str, int]:
    """Return what happened to a run just started, and the message level to show it with.

    Without a broker the run finishes within the request that started it, so the
    message reports its result instead of saying that it started.
    """
    subject = f"enrichment run {run.pk} of {_count(count)} with {run.provider.title()}"
    counts = f"{run.looked_up:,} looked up, {run.found:,} found, {run.changed:,} changed"
    errors = f"{run.errors:,} error{'s' if run.errors != 1 else ''}"
    if run.status == EnrichmentRun.Status.SUCCEEDED:
        return f"Finished {subject}: {counts}.", messages.SUCCESS
    if stopped_early(run):
        return f"Stopped {subject} early: {counts}. {run.error}", messages.WARNING
    if run.status == EnrichmentRun.Status.FINISHED_WITH_ERRORS:
        return f"Finished {subject} with {errors}: {counts}.", messages.WARNING
    if run.status == EnrichmentRun.Status.FAILED:
        return f"The {subject} failed: {run.error or errors}", messages.ERROR
    return (
        f"Started {subject}. Values appear on the accounts as lookups finish.",
        messages.SUCCESS,
    )


def _segment_summary(form: BulkActionForm) -> str:
    parts = []
    tag = (form.cleaned_data.get("tag") or "").strip()
    tier = form.cleaned_data.get("tier")
    if tag:
        parts.append(f"the tag “{tag}”")
    if tier:
        parts.append(f"the tier {Tier(tier).label}")
    return " and ".join(parts)


class AccountBulkActionView(AccountViewerRequiredMixin, View):
    """Check a bulk action, ask for confirmation with the count, then run it.

    The first POST returns the confirmation with the accounts that will be skipped. The
    POST of the confirmation (``confirmed``) runs the action on the accounts that the user
    may change at that moment.
    """

    def post(self, request: HttpRequest) -> HttpResponse:
        requested = request.POST.get("action", "")
        if requested in workspace.ACTIONS and not workspace.may_use_action(request.user, requested):
            raise PermissionDenied(f"Your role may not use the bulk action {requested}.")
        form = bulk_action_form(request.user, request.POST)
        if not form.is_valid():
            return self.respond(form, CONFIRM, {"invalid": True}, status=422)
        action = form.cleaned_data["action"]
        try:
            selection = workspace.bulk_selection(
                user=request.user, action=action, account_ids=form.cleaned_data["account_ids"]
            )
        except ValidationError as error:
            add_errors(form, error)
            return self.respond(form, CONFIRM, {"invalid": True}, status=422)

        context = {
            "action": action,
            "action_label": ACTION_LABELS[action],
            "selection": selection,
            "skipped_shown": selection.skipped[:SKIPPED_SHOWN],
            "skipped_more": max(len(selection.skipped) - SKIPPED_SHOWN, 0),
            "next_url": self.next_url(),
        }
        if not form.cleaned_data["confirmed"] or not selection.allowed:
            context["question"] = confirmation_question(form, len(selection.allowed))
            if action == workspace.TAG:
                # As on the tag form: tagging them now is a skipped step in the audit.
                unconfirmed = [
                    account
                    for account in selection.allowed
                    if selectors.unconfirmed_mandatory_fields(account.field_status)
                ]
                context["unconfirmed"] = unconfirmed
                context["unconfirmed_shown"] = unconfirmed[:SKIPPED_SHOWN]
                context["unconfirmed_more"] = max(len(unconfirmed) - SKIPPED_SHOWN, 0)
            return self.respond(form, CONFIRM, context)
        if action == workspace.EXPORT:
            return self.export(selection)
        return self.run(form, selection, context)

    def run(
        self, form: BulkActionForm, selection: workspace.BulkSelection, context: dict[str, Any]
    ) -> HttpResponse:
        request = self.request
        action = form.cleaned_data["action"]
        try:
            if action == workspace.ASSIGN:
                changed = workspace.accounts_owner_assign(
                    selection=selection, owner=form.chosen_owner, user=request.user
                )
                done = f"Assigned {_count(changed)} to {_owner_name(form.chosen_owner)}."
                unchanged = len(selection.allowed) - changed
                if unchanged:
                    done += f" {_count(unchanged)} already had this owner."
            elif action == workspace.TAKE:
                changed = workspace.accounts_take(selection=selection, user=request.user)
                done = f"Assigned {_count(changed)} to you."
                unchanged = len(selection.allowed) - changed
                if unchanged:
                    done += f" {_count(unchanged)} already had an owner."
            elif action == workspace.ENRICH:
                run = workspace.accounts_enrichment_start(
                    selection=selection, provider=form.cleaned_data["provider"], user=request.user
                )
                # Without a broker the run has already happened in this request.
                run.refresh_from_db()
                done, level = enrichment_outcome(run, len(selection.allowed))
                if stopped_early(run):
                    return self.show_run(run, done, level, selection)
                context.update(
                    level=level,
                    done_url=reverse("accounts:enrichment-run-detail", args=[run.pk]),
                    done_link=f"See enrichment run {run.pk}",
                )
            else:
                tag = (form.cleaned_data.get("tag") or "").strip() or None
                changed = workspace.accounts_tag_override(
                    selection=selection,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    tag=tag,
                    tier=form.cleaned_data.get("tier") or None,
                )
                done = f"Set {_segment_summary(form)} on {_count(changed)}."
        except workspace.EnrichmentUnavailable as error:
            context.update(error=str(error))
            return self.respond(form, RESULT, context, status=200)
        except ValidationError as error:
            add_errors(form, error)
            context["question"] = confirmation_question(form, len(selection.allowed))
            return self.respond(form, CONFIRM, context, status=422)

        context.update(done=done)
        response = self.respond(form, RESULT, context)
        return trigger(response, {"accountsChanged": {}})

    def show_run(
        self, run: EnrichmentRun, done: str, level: int, selection: workspace.BulkSelection
    ) -> HttpResponse:
        """Send the user to the run's page, where Resume looks the accounts not reached up."""
        messages.add_message(self.request, level, done)
        if selection.skipped:
            messages.warning(self.request, skipped_summary(selection.skipped))
        run_url = reverse("accounts:enrichment-run-detail", args=[run.pk])
        if is_htmx(self.request):
            # htmx loads the page named by HX-Redirect in place of swapping the body.
            response = HttpResponse()
            response["HX-Redirect"] = run_url
            return response
        return redirect(run_url)

    def export(self, selection: workspace.BulkSelection) -> StreamingHttpResponse:
        accounts = Account.objects.filter(pk__in=selection.allowed_ids).order_by("name", "id")
        # The byte order mark makes Excel read the file as UTF-8, so the tags' en dashes and
        # accented names are not garbled. The API's CSV, read by programs, has none.
        lines = byte_order_mark_chunks(workspace.accounts_csv_lines(accounts))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="accounts-{stamp}.csv"'
        return response

    def next_url(self) -> str:
        candidate = self.request.POST.get("next") or ""
        if url_has_allowed_host_and_scheme(
            candidate,
            allowed_hosts={self.request.get_host()},
            require_https=self.request.is_secure(),
        ):
            return candidate
        return reverse("accounts:account-list")

    def respond(
        self,
        form: BulkActionForm,
        template_name: str,
        context: dict[str, Any],
        *,
        status: int = 200,
    ) -> HttpResponse:
        if not is_htmx(self.request) and template_name == RESULT:
            if context.get("error"):
                level, text = messages.ERROR, context["error"]
            else:
                level, text = context.get("level", messages.SUCCESS), context.get("done")
            if context.get("done_url"):
                link = format_html('<a href="{}">{}</a>', context["done_url"], context["done_link"])
                text = format_html("{} {}.", text, link)
            messages.add_message(self.request, level, text)
            skipped = context["selection"].skipped
            if skipped:
                messages.warning(self.request, skipped_summary(skipped))
            return redirect(context["next_url"])
        context = {**context, "form": mark_invalid(form)}
        context.setdefault("next_url", self.next_url())
        return render_fragment(
            self.request, template_name, context, status=status, title="Bulk action"
        )
