"""My queue: the user's (or team's) accounts that need research, enrichment or a decision."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.views.generic import ListView

from accounts import roles, selectors
from accounts.models import Account
from icp_portal.pagination import nearest_page

QUEUE_PAGE_SIZE = 25


class AccountQueueView(LoginRequiredMixin, UserPassesTestMixin, ListView):
    """The queue with a count chip per reason; ``?reason=`` shows one reason only."""

    template_name = "accounts/account_queue.html"
    context_object_name = "accounts"
    paginate_by = QUEUE_PAGE_SIZE

    def test_func(self) -> bool:
        return selectors.may_use_queue(self.request.user)

    def reason(self) -> str:
        reason = self.request.GET.get("reason", "")
        return reason if reason in selectors.QUEUE_REASONS else ""

    def unknown_reason(self) -> str:
        """Return the requested reason when no queue reason has that key, or ""."""
        reason = self.request.GET.get("reason", "")
        return reason if reason and reason not in selectors.QUEUE_REASONS else ""

    def get_queryset(self) -> QuerySet[Account]:
        return selectors.queue_accounts(self.request.user, self.reason() or None)

    def paginate_queryset(
        self, queryset: QuerySet[Account], page_size: int
    ) -> tuple[Paginator, Page, QuerySet[Account], bool]:
        # Like the account list: a missing, invalid or too large page number shows the
        # nearest valid page instead of a 404, because page links outlive queue changes.
        paginator = self.get_paginator(queryset, page_size)
        page = nearest_page(paginator, self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        counts = selectors.queue_counts(self.request.user)
        user = self.request.user
        context.update(
            counts=counts,
            chips=[
                ("", "All", counts["all"]),
                *((key, label, counts[key]) for key, label in selectors.QUEUE_REASONS.items()),
            ],
            reason=self.reason(),
            unknown_reason=self.unknown_reason(),
            reason_labels=selectors.QUEUE_REASONS,
            rows=selectors.queue_rows(context["page_obj"].object_list),
            is_team_queue=roles.SALES_MANAGER in roles.user_roles(user),
        )
        return context
