"""Enrichment run pages: the list of recent runs and one run's progress, counts and failures.

Everyone who may start a run from the account list may open these pages. Sales Ops,
Sales Managers and superusers see every run, and others the runs they started.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views import View
from django.views.generic import ListView

from accounts import roles
from accounts.importing.errors import WriterAlreadyRunning
from accounts.importing.serial import lock_holder_text, running_writer_check
from accounts.permissions import can_enrich
from accounts.selectors import user_label
from enrichment.models import EnrichmentRun
from enrichment.selectors import (
    enrichment_run_failures,
    enrichment_runs_for,
    may_see_all_enrichment_runs,
)
from enrichment.services import (
    MAX_ERROR_DETAILS,
    EnrichmentRunNotResumable,
    eager_time_budget,
    enrichment_run_pending_count,
    enrichment_run_resume,
    enrichment_run_stalled_after,
)
from enrichment.tasks import enrichment_run_queue
from icp_portal.celery import app as celery_app
from icp_portal.pagination import NearestPageMixin

logger = logging.getLogger(__name__)

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


def may_resume_enrichment_run(user: Any, run: EnrichmentRun) -> bool:
    """Return True when the user may look a run's failed or remaining accounts up again.

    Sales Managers see every run but resume only their own, as they start no run for
    another team.
    """
    return (
        user.is_superuser
        or run.triggered_by_id == user.pk
        or roles.SALES_OPS in roles.user_roles(user)
    )


def enrichment_run_status_context(run: EnrichmentRun, user: Any = None) -> dict[str, Any]:
    """Return a run's progress, counts and failed accounts for the status fragment."""
    finished = run.status in FINISHED_STATUSES
    holder = run.lock_wait_holder
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
        "failures_more": max(run.errors + run.not_reached - FAILURES_SHOWN, 0),
        "may_resume": user is not None and may_resume_enrichment_run(user, run),
        "stalled": run.is_stalled,
        "waiting_for_lock": holder is not None,
        "lock_holder_text": lock_holder_text(holder) if holder is not None else "",
        "waiting_for_worker": run.is_waiting_for_worker,
        "waiting_tasks": run.waiting_tasks,
        "unclaimed": run.is_unclaimed,
        "stalled_after_seconds": enrichment_run_stalled_after(),
    }


def resume_outcome(run: EnrichmentRun) -> str:
    """Return what a resumed run will do: how many accounts it looks up, and within which time.

    Without a broker the run continues in the resuming request, which stops looking
    accounts up after the eager time budget, so the message says that a part may be left.
    """
    left = enrichment_run_pending_count(run)
    accounts = f"{left:,} account{'s' if left != 1 else ''} will be looked up"
    # The budget is checked before each lookup, so the first account is always requested.
    if not celery_app.conf.task_always_eager or left <= 1:
        return f"{accounts}."
    return (
        f"{accounts}, as many as fit in the time budget of {eager_time_budget():g} s. "
        "Resume again for the rest."
    )


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
            request,
            "accounts/enrichment/run_detail.html",
            enrichment_run_status_context(run, request.user),
        )


class EnrichmentRunResumeView(EnrichmentRunVisibleMixin, View):
    """Look a finished run's failed accounts, or an idle run's remaining ones, up again.

    An idle run is stalled or waits for a worker. Resuming the latter queues its tasks
    again, which helps when the broker lost them.
    """

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        if not may_resume_enrichment_run(request.user, run):
            raise PermissionDenied(
                f"Only the person who started enrichment run {run.pk} and Sales Ops may resume it."
            )
        idle = run.is_idle
        if not idle and run.status not in FINISHED_STATUSES:
            messages.error(
                request,
                f"Enrichment run {run.pk} is {run.get_status_display().lower()} and made "
                f"progress in the last {enrichment_run_stalled_after():g} s, so it was not "
                "resumed.",
            )
            return redirect("accounts:enrichment-run-detail", pk=run.pk)
        if (
            not idle
            and run.status != EnrichmentRun.Status.FAILED
            and not run.errors
            and not run.not_reached
        ):
            messages.error(
                request,
                f"Enrichment run {run.pk} has no failed accounts to look up again: it is "
                f"{run.get_status_display().lower()}.",
            )
            return redirect("accounts:enrichment-run-detail", pk=run.pk)
        try:
            # Without a broker the run would wait in this request for the running job.
            running_writer_check(f"resuming enrichment run {run.pk}")
        except WriterAlreadyRunning as error:
            messages.error(request, str(error))
            return redirect("accounts:enrichment-run-detail", pk=run.pk)
        last_progress = run.heartbeat_at
        try:
            run = enrichment_run_resume(run)
        except EnrichmentRunNotResumable as error:
            # The run made progress between the page and the click.
            messages.error(request, str(error))
            return redirect("accounts:enrichment-run-detail", pk=run.pk)
        logger.info("enrichment run %s resumed by user %s", run.pk, request.user.pk)
        # The outcome is worded before queueing, because without a broker the run
        # happens within on_commit, which runs at once outside a transaction.
        outcome = resume_outcome(run)
        transaction.on_commit(lambda: enrichment_run_queue(run.pk))
        if idle:
            since = date_format(timezone.localtime(last_progress), "j M Y, H:i T")
            resumed = f"Enrichment run {run.pk} resumed after no progress since {since}"
        else:
            resumed = f"Enrichment run {run.pk} resumed"
        messages.success(request, f"{resumed}: {outcome}")
        return redirect("accounts:enrichment-run-detail", pk=run.pk)


class EnrichmentRunStatusView(EnrichmentRunVisibleMixin, View):
    """The status fragment that the run's page polls while the run is not finished."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        return render(
            request,
            "accounts/partials/_enrichment_run_status.html",
            enrichment_run_status_context(run, request.user),
        )
