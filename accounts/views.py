"""Browser pages for accounts: the filterable list and the account page."""

from itertools import groupby
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.generic import DetailView, ListView

from . import selectors
from .filtersets import AccountFilterSet
from .models import Account
from .permissions import can_view_accounts
from .tables import ACCOUNT_COLUMNS, PAGE_SIZES, header_cells, page_size_from

# Id of the element that htmx replaces when the table is sorted, paged or filtered.
RESULTS_TARGET = "account-results"


class AccountViewerRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Redirect anonymous users to the login page and return 403 to users without a role."""

    def test_func(self) -> bool:
        return can_view_accounts(self.request.user)


def is_results_request(request: HttpRequest) -> bool:
    """Return True for an htmx request that replaces only the results table.

    A history restore after a cache miss needs the whole page, so it is excluded.
    """
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Target") == RESULTS_TARGET
    )


class AccountListView(AccountViewerRequiredMixin, ListView):
    """The account table with the shared filters, sortable headers and pagination.

    Every filter, the ordering, the page and the page size live in the query string, so
    a URL reproduces the view. Invalid filter values show their errors and no rows.
    """

    model = Account
    template_name = "accounts/account_list.html"
    partial_template_name = "accounts/partials/_account_results.html"
    context_object_name = "accounts"
    paginator_class = selectors.DeferredJoinPaginator

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.filterset = AccountFilterSet(
            data=request.GET,
            queryset=selectors.account_list_base(user=request.user),
            request=request,
        )
        response = super().get(request, *args, **kwargs)
        patch_vary_headers(response, ["HX-Request", "HX-Target"])
        return response

    def get_queryset(self) -> QuerySet[Account]:
        if not self.filterset.is_valid():
            return self.filterset.queryset.none()
        return self.filterset.qs

    def get_paginate_by(self, queryset: QuerySet[Account]) -> int:
        return page_size_from(self.request.GET.get("page_size"))

    def paginate_queryset(
        self, queryset: QuerySet[Account], page_size: int
    ) -> tuple[Paginator, Page, Any, bool]:
        # get_page() turns a missing, invalid or too large page number into the nearest
        # valid page instead of a 404, because page links outlive filter changes.
        # NOTE: the paginator runs COUNT(*) over the filtered rows on every request. Cache
        # or estimate the count if that becomes slow on large tables.
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        ordering = []
        if self.filterset.is_valid():
            ordering = self.filterset.form.cleaned_data.get("ordering") or []
        context.update(
            filterset=self.filterset,
            filter_form=self.filterset.form,
            headers=header_cells(ACCOUNT_COLUMNS, ordering),
            current_ordering=",".join(ordering),
            page_size=self.get_paginate_by(self.object_list),
            page_sizes=PAGE_SIZES,
            results_target=RESULTS_TARGET,
            has_filters=any(
                self.request.GET.get(name) for name in self.filterset.filters if name != "ordering"
            ),
        )
        return context

    def get_template_names(self) -> list[str]:
        if is_results_request(self.request):
            return [self.partial_template_name]
        return [self.template_name]


class AccountDetailView(AccountViewerRequiredMixin, DetailView):
    """One account: its fields by group, latest score explanation, history and sources."""

    model = Account
    template_name = "accounts/account_detail.html"
    context_object_name = "account"

    def get_queryset(self) -> QuerySet[Account]:
        return selectors.account_detail_queryset(user=self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        account: Account = self.object
        history = account.recent_score_records
        latest = history[0] if history else None
        explanation = latest.explanation if latest and isinstance(latest.explanation, list) else []
        observations_by_field = [
            (field, list(rows))
            for field, rows in groupby(account.observations.all(), key=lambda row: row.field)
        ]
        context.update(
            latest_record=latest,
            explanation=explanation,
            explanation_points=sum_points(explanation, "points"),
            explanation_max_points=sum_points(explanation, "max_points"),
            score_history=history,
            score_history_limit=selectors.SCORE_HISTORY_LIMIT,
            identifiers=list(account.identifiers.all()),
            observations_by_field=observations_by_field,
        )
        return context


def sum_points(explanation: list[dict[str, Any]], key: str) -> int | float:
    """Add up a numeric key of the explanation rows, skipping rows where it is not a number."""
    total: int | float = 0
    for row in explanation:
        value = row.get(key) if isinstance(row, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            total += value
    return total
