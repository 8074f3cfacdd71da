"""Enrichment run pages: the list of recent runs and one run's progress, counts and failures.

Everyone who may start a run from the account list may open these pages. Sales Ops,
Sales Managers and superusers see every run, and others the runs they started.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views import View
from django.views.generic import ListView

from accounts.permissions import can_enrich
from accounts.selectors import user_label
from enrichment.models import EnrichmentRun
from enrichment.selectors import (
    enrichment_run_failures,
    enrichment_runs_for,
    may_see_all_enrichment_runs,
)
from enrichment.services import MAX_ERROR_DETAILS
from icp_portal.pagination import NearestPageMixin

RUN_PAGE_SIZE = 25
# Failed accounts listed on a run's page, as many as the run's error_details keeps.
FAILURES_SHOWN = MAX_ERROR_DETAILS
FINISHED_STATUSES = frozenset(
    {
        EnrichmentRun.Status.SUCCEEDED,
        EnrichmentRun.Status.FINISHED_WITH_ERRORS,
        EnrichmentRun.Status.FAILED,
    }
)


class EnrichmentPermissionMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Allow users who may start enrichment runs (can_enrich), and return 403 to others."""

    def test_func(self) -> bool:
        return can_enrich(self.request.user)


class EnrichmentRunVisibleMixin(EnrichmentPermissionMixin):
    """Load an enrichment run the user may see, or 404."""

    def get_run(self) -> EnrichmentRun:
        return get_object_or_404(enrichment_runs_for(self.request.user), pk=self.kwargs["pk"])


def enrichment_run_status_context(run: EnrichmentRun) -> dict[str, Any]:
    """Return a run's progress, counts and failed accounts for the status fragment."""
    finished = run.status in FINISHED_STATUSES
    percent = run.processed * 100 // run.total if run.total else 0
    if not finished:
        # A run that is not finished stays below 100 % until it has saved its counts.
        percent = min(percent, 99)
    return {
        "run": run,
        "finished": finished,
        "percent": percent,
        "started_by": user_label(run.triggered_by),
        "failures": list(enrichment_run_failures(run)[:FAILURES_SHOWN]),
        "failures_more": max(run.errors - FAILURES_SHOWN, 0),
    }


class EnrichmentRunListView(EnrichmentPermissionMixin, NearestPageMixin, ListView):
    """Recent enrichment runs with their counts, newest first."""

    template_name = "accounts/enrichment/run_list.html"
    context_object_name = "runs"
    paginate_by = RUN_PAGE_SIZE

    def get_queryset(self) -> Any:
        return enrichment_runs_for(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sees_all"] = may_see_all_enrichment_runs(self.request.user)
        return context


class EnrichmentRunDetailView(EnrichmentRunVisibleMixin, View):
    """One run: a progress bar while it runs, then its counts and failed accounts."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        return render(
            request, "accounts/enrichment/run_detail.html", enrichment_run_status_context(run)
        )


class EnrichmentRunStatusView(EnrichmentRunVisibleMixin, View):
    """The status fragment that the run's page polls while the run is not finished."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        return render(
            request,
            "accounts/partials/_enrichment_run_status.html",
            enrichment_run_status_context(run),
        )
