"""The account list with its bulk actions, and the account page with its sections."""

from __future__ import annotations

from typing import Any

from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views import View
from django.views.generic import DetailView, ListView
from rest_framework.exceptions import ValidationError

from accounts import selectors, workspace
from accounts.api.pagination import (
    account_sort_keys,
    cursor_decode,
    cursor_encode,
    has_row_form,
    keyset_before_queryset,
    keyset_queryset,
)
from accounts.filtersets import AccountFilterSet, misspelt_filters
from accounts.forms import BulkActionForm, FeedCheckForm, NoteForm
from accounts.list_titles import account_list_title
from accounts.models import Account, ResearchNote
from accounts.permissions import (
    can_add_note,
    can_change_note,
    can_research_account,
    can_review_account,
    can_validate_fit,
)
from accounts.tables import (
    ACCOUNT_COLUMNS,
    DEFAULT_ORDERING,
    PAGE_SIZES,
    header_cells,
    page_size_from,
)
from enrichment.services import FEEDS_PER_CHECK, account_feed_urls
from icp_portal.pagination import nearest_page

from .base import RESULTS_TARGET, AccountViewerRequiredMixin, is_results_request

# Query parameters of the Next and Previous links: the sort keys of the last row of the
# previous page, or of the first row of the next page (accounts.api.pagination cursors).
AFTER_PARAM = "after"
BEFORE_PARAM = "before"
ORDERING_PARAM = "ordering"
# Query parameters of the account list that are not filters.
LIST_PARAMETERS = frozenset({AFTER_PARAM, BEFORE_PARAM, ORDERING_PARAM, "page", "page_size"})


def bulk_action_form(user: Any, data: Any = None) -> BulkActionForm:
    """Return the bulk action form with the actions, owners and providers the user may use."""
    actions = [action for action in workspace.ACTIONS if workspace.may_use_action(user, action)]
    owners = selectors.assignable_owners() if workspace.ASSIGN in actions else []
    providers = workspace.enrichment_providers() if workspace.ENRICH in actions else []
    return BulkActionForm(data, actions=actions, owners=owners, providers=providers)


class AccountListView(AccountViewerRequiredMixin, ListView):
    """The account table with the shared filters, sortable headers, pagination and bulk actions.

    Every filter, the ordering, the page and the page size live in the query string, so
    a URL reproduces the view. Invalid filter values show their errors and no rows.
    """

    model = Account
    template_name = "accounts/account_list.html"
    # The results table, with the title and heading that name its filters.
    partial_template_name = "accounts/partials/_account_results_response.html"
    context_object_name = "accounts"
    paginator_class = selectors.CappedCountPaginator

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.filterset, self.ordering_errors = self.build_filterset(request)
        response = super().get(request, *args, **kwargs)
        patch_vary_headers(response, ["HX-Request", "HX-Target"])
        return response

    def build_filterset(self, request: HttpRequest) -> tuple[AccountFilterSet, list[str]]:
        """Return the filter set of the request and the errors of an invalid ordering.

        An invalid ordering, such as ``?ordering=colour`` from an old bookmark, is dropped
        so that the list shows its rows in the default order, with the errors above them.
        Invalid filter values still show no rows, because they change which rows match.
        ``list_query`` contains the query parameters that the page's links start from, without the
        dropped ordering.
        """
        base = selectors.account_list_base(user=request.user)
        self.list_query = request.GET
        filterset = AccountFilterSet(data=request.GET, queryset=base, request=request)
        if filterset.is_valid() or ORDERING_PARAM not in filterset.errors:
            return filterset, []
        errors = list(filterset.errors[ORDERING_PARAM])
        self.list_query = request.GET.copy()
        self.list_query.pop(ORDERING_PARAM)
        return AccountFilterSet(data=self.list_query, queryset=base, request=request), errors

    def get_queryset(self) -> QuerySet[Account]:
        self.sort_keys = None
        if not self.filterset.is_valid():
            return self.filterset.queryset.none()
        ordering = self.filterset.form.cleaned_data.get("ordering") or ["name"]
        keys = account_sort_keys(",".join(ordering))
        if not has_row_form(keys):
            return self.filterset.qs
        # Ordered by the keys' row forms, the same order as the filter set's, so that a
        # page can start after a row with one index range.
        self.sort_keys = keys
        return keyset_queryset(self.filterset.qs, keys, None)

    def get_paginate_by(self, queryset: QuerySet[Account]) -> int:
        return page_size_from(self.request.GET.get("page_size"))

    def unsupported_page_size(self) -> str:
        """Return the requested page size when the list does not offer it, else ""."""
        raw = (self.request.GET.get("page_size") or "").strip()
        if raw and raw not in {str(size) for size in PAGE_SIZES}:
            return raw[:20]
        return ""

    def get_paginator(
        self, queryset: QuerySet[Account], per_page: int, **kwargs: Any
    ) -> selectors.CappedCountPaginator:
        aliases = [key.alias for key in self.sort_keys or []]
        return self.paginator_class(queryset, per_page, key_aliases=aliases, **kwargs)

    def paginate_queryset(
        self, queryset: QuerySet[Account], page_size: int
    ) -> tuple[Paginator, Page, Any, bool]:
        # nearest_page() turns a missing, invalid or too large page number into the nearest
        # valid page instead of a 404, because page links outlive filter changes. The
        # count stops at selectors.LIST_COUNT_CAP rows, and so do the pages.
        paginator = self.get_paginator(queryset, page_size)
        page = self.keyset_page(paginator) or nearest_page(
            paginator, self.request.GET.get(self.page_kwarg)
        )
        return paginator, page, page.object_list, page.has_other_pages()

    def keyset_page(self, paginator: selectors.CappedCountPaginator) -> Page | None:
        """Return the page that an ``after`` or ``before`` link of a neighbouring page requests.

        Next and Previous links carry the sort keys of the row next to the page, so the
        database starts at that row instead of skipping every row before the page with
        OFFSET. Returns None when the request has no such link, when its cursor is
        invalid or belongs to another ordering, or when the page has no rows because
        the data changed. The view then shows the numbered page.
        """
        if self.sort_keys is None:
            return None
        for param, reverse in ((AFTER_PARAM, False), (BEFORE_PARAM, True)):
            cursor = self.request.GET.get(param)
            if not cursor:
                continue
            try:
                number = paginator.validate_number(self.request.GET.get(self.page_kwarg))
                position = cursor_decode(self.sort_keys, cursor)
            except (InvalidPage, ValidationError):
                return None
            base = self.filterset.qs
            if reverse:
                queryset = keyset_before_queryset(base, self.sort_keys, position)
            else:
                queryset = keyset_queryset(base, self.sort_keys, position)
            page = paginator.page_from(queryset, number, reverse=reverse)
            return page if page.object_list else None
        return None

    def neighbour_cursors(self, page: Page) -> dict[str, str | None]:
        """Return the cursors of the Next and Previous links; None means a numbered link.

        The link to page 1 stays numbered, since it skips no rows.
        """
        cursors: dict[str, str | None] = {"next_cursor": None, "previous_cursor": None}
        if self.sort_keys is None:
            return cursors
        if page.has_next() and page.last_position is not None:
            cursors["next_cursor"] = cursor_encode(self.sort_keys, page.last_position)
        if page.number > 2 and page.first_position is not None:
            cursors["previous_cursor"] = cursor_encode(self.sort_keys, page.first_position)
        return cursors

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        ordering = []
        if self.filterset.is_valid():
            ordering = self.filterset.form.cleaned_data.get("ordering") or []
        misspelt = misspelt_filters(self.request.GET, self.filterset.filters, LIST_PARAMETERS)
        # The export link carries only the filters and the ordering, which the API reads too.
        # The API rejects a misspelt filter or a page parameter such as offset or cursor with
        # 400, and the export contains every matching row, so the link leaves those out.
        export_query = QueryDict(mutable=True)
        for name in self.filterset.filters:
            if name in self.list_query:
                export_query.setlist(name, self.list_query.getlist(name))
        context.update(
            filterset=self.filterset,
            filter_form=self.filterset.form,
            list_title=account_list_title(self.filterset),
            headers=header_cells(ACCOUNT_COLUMNS, ordering),
            current_ordering=",".join(ordering),
            ordering_errors=self.ordering_errors,
            misspelt_filters=misspelt,
            export_query=export_query,
            default_ordering=DEFAULT_ORDERING,
            list_query=self.list_query,
            page_size=self.get_paginate_by(self.object_list),
            page_sizes=PAGE_SIZES,
            requested_page_size=self.unsupported_page_size(),
            results_target=RESULTS_TARGET,
            has_filters=any(
                self.request.GET.get(name) for name in self.filterset.filters if name != "ordering"
            ),
        )
        if context.get("page_obj") is not None:
            context.update(self.neighbour_cursors(context["page_obj"]))
        # The legend of the "by hand" mark shows only on a page that has one.
        context["has_hand_set"] = any(
            account.tag_override or account.tier_override for account in context["accounts"]
        )
        if not is_results_request(self.request):
            context["bulk_form"] = bulk_action_form(self.request.user)
        return context

    def get_template_names(self) -> list[str]:
        if is_results_request(self.request):
            return [self.partial_template_name]
        return [self.template_name]


def sum_points(explanation: list[dict[str, Any]], key: str) -> int | float:
    """Add up a numeric key of the explanation rows, skipping rows where it is not a number."""
    total: int | float = 0
    for row in explanation:
        value = row.get(key) if isinstance(row, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            total += value
    return total


def explanation_context(account: Account) -> dict[str, Any]:
    """Return the latest score record and its explanation rows with their totals."""
    history = getattr(account, "recent_score_records", None)
    if history is None:
        history = list(
            account.score_records.select_related("framework").order_by("-created_at", "-id")[
                : selectors.SCORE_HISTORY_LIMIT
            ]
        )
    latest = history[0] if history else None
    explanation = latest.explanation if latest and isinstance(latest.explanation, list) else []
    return {
        "latest_record": latest,
        "explanation": explanation,
        "explanation_points": sum_points(explanation, "points"),
        "explanation_max_points": sum_points(explanation, "max_points"),
        "score_history": history,
        "score_history_limit": selectors.SCORE_HISTORY_LIMIT,
    }


def account_permissions(user: Any, account: Account) -> dict[str, bool]:
    """Return what the user may do on the account page, for the templates."""
    return {
        "can_research": can_research_account(user, account),
        "can_add_note": can_add_note(user, account),
        "can_validate_fit": can_validate_fit(user, account),
        "can_resolve": can_review_account(user, account),
        "can_take": account.owner_id is None and workspace.may_use_action(user, workspace.TAKE),
    }


def field_rows(account: Account) -> dict[str, dict[str, Any]]:
    """Return the context of each editable field row: its spec and provenance."""
    provenance = selectors.account_provenance(account)
    return {
        name: {"spec": spec, "provenance": provenance.get(spec.status_key)}
        for name, spec in workspace.EDITABLE_FIELDS.items()
    }


def notes_context(
    account: Account,
    *,
    user: Any,
    every: bool = False,
    feed_urls: list[str] | None = None,
) -> dict[str, Any]:
    """Return the timeline's notes (the newest NOTES_LIMIT unless ``every``), whether
    older ones were left out, the ids of the notes ``user`` may edit and delete, and the
    feeds to read (read from the database unless given).
    """
    if feed_urls is None:
        feed_urls = account_feed_urls(account)
    notes = selectors.account_notes(account, every=every)
    more = not every and len(notes) > selectors.NOTES_LIMIT
    if more:
        notes = notes[: selectors.NOTES_LIMIT]
    return {
        "notes": notes,
        "changeable_note_ids": changeable_note_ids(user, account, notes),
        "notes_limit": selectors.NOTES_LIMIT,
        "notes_more": more,
        "feed_urls": feed_urls[:FEEDS_PER_CHECK],
        "feed_form": FeedCheckForm(),
    }


def changeable_note_ids(user: Any, account: Account, notes: list[ResearchNote]) -> set[int]:
    """Return the ids of the published ``notes`` that ``user`` may edit and delete."""
    changeable = set()
    for note in notes:
        note.account = account
        if note.status == ResearchNote.Status.PUBLISHED and can_change_note(user, note):
            changeable.add(note.pk)
    return changeable


def observed_feed_urls(observations: list[selectors.FieldObservations]) -> list[str]:
    """Return the feed URLs of the newest feed_urls observation, as
    enrichment.services.account_feed_urls does, from observations already read.
    """
    rows = [row for group in observations if group.field == "feed_urls" for row in group.latest]
    newest = max(rows, key=lambda row: (row.observed_at, row.pk), default=None)
    if newest is None or not isinstance(newest.value, list):
        return []
    return [str(url) for url in newest.value if url]


def segment_context(user: Any, account: Account) -> dict[str, Any]:
    return {
        "account": account,
        "perms": account_permissions(user, account),
        "version": workspace.account_version(account),
        # Shown on the tag and fit forms: tagging now is a skipped step in the audit.
        "unconfirmed_fields": selectors.unconfirmed_field_texts(account.field_status),
    }


class AccountDetailView(AccountViewerRequiredMixin, DetailView):
    """One account: editable fields with provenance, tag and score, notes and history."""

    model = Account
    template_name = "accounts/account_detail.html"
    context_object_name = "account"

    def get_queryset(self) -> QuerySet[Account]:
        return selectors.account_workspace_queryset(user=self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        account: Account = self.object
        context.update(explanation_context(account))
        observations = selectors.observation_summary(account)
        context.update(
            identifiers=list(account.identifiers.all()),
            observations_by_field=observations,
            perms=account_permissions(self.request.user, account),
            fields=field_rows(account),
            version=workspace.account_version(account),
            **notes_context(
                account, user=self.request.user, feed_urls=observed_feed_urls(observations)
            ),
            history=selectors.account_history(account),
            history_limit=selectors.HISTORY_LIMIT,
            note_form=NoteForm(),
        )
        return context


class AccountSectionView(AccountViewerRequiredMixin, View):
    """One section of the account page, re-read after an edit changed the account."""

    SECTIONS = {
        "segment": "accounts/partials/_account_segment.html",
        "explanation": "accounts/partials/_explanation.html",
        "history": "accounts/partials/_history.html",
        "notes": "accounts/partials/_notes.html",
        "signals": "accounts/partials/_signals.html",
        "status": "accounts/partials/_account_status.html",
        "derived": "accounts/partials/_derived_rows.html",
        "observations": "accounts/partials/_observations.html",
        "identifiers": "accounts/partials/_identifiers.html",
        "review-flags": "accounts/partials/_review_flags.html",
    }

    def get(self, request: HttpRequest, pk: int, section: str) -> HttpResponse:
        template_name = self.SECTIONS.get(section)
        if template_name is None:
            raise Http404(f"The account page has no section {section!r}.")
        account = get_object_or_404(selectors.account_workspace_queryset(user=request.user), pk=pk)
        context: dict[str, Any] = segment_context(request.user, account)
        if section == "explanation":
            context.update(explanation_context(account))
        elif section == "history":
            context.update(
                history=selectors.account_history(account), history_limit=selectors.HISTORY_LIMIT
            )
        elif section == "observations":
            context.update(observations_by_field=selectors.observation_summary(account))
        elif section == "identifiers":
            context.update(identifiers=list(account.identifiers.all()))
        elif section == "notes":
            every = request.GET.get("notes") == "all"
            context.update(
                notes_context(account, user=request.user, every=every), note_form=NoteForm()
            )
        return render(request, template_name, context)


class AccountFieldObservationsView(AccountViewerRequiredMixin, View):
    """Every observation of one field of an account, newest first, 50 per page."""

    template_name = "accounts/account_observations.html"

    def get(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        account = get_object_or_404(selectors.account_list_base(user=request.user), pk=pk)
        paginator = Paginator(
            selectors.field_observations(account, field), selectors.OBSERVATIONS_PAGE_SIZE
        )
        if paginator.count == 0:
            raise Http404(f"The account has no observations of the field {field!r}.")
        try:
            page = paginator.page(request.GET.get("page") or 1)
        except InvalidPage as error:
            raise Http404(f"Invalid page {request.GET.get('page')!r}: {error}") from error
        page.object_list = list(page.object_list)
        selectors.observation_texts_set(page.object_list, account)
        context = {"account": account, "field": field, "page_obj": page}
        return render(request, self.template_name, context)
