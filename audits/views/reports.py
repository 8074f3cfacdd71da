"""Monthly audit and quarterly ICP review pages, with the findings' CSV export."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView, TemplateView

from accounts.permissions import can_view_audits
from accounts.selectors import user_label
from accounts.tasks import BROKER_ERRORS
from icp_portal.pagination import NearestPageMixin

from .. import selectors
from ..exports import csv_response
from ..forms import AuditRunForm, ReportFilterForm, ViolationForm
from ..models import AuditRun, Severity, Violation, ViolationKind
from ..periods import (
    FIRST_AUDIT_MONTH,
    FIRST_QUARTER,
    adjacent_quarter,
    is_before_first_month,
    local_today,
    month_period,
    parse_month,
    parse_quarter,
    previous_month,
    quarter_of,
    quarter_period,
    quarter_text,
)
from ..permissions import can_manage_violation, can_run_audit
from ..rules import rule_labels
from ..services import violation_update
from ..tasks import monthly_audit_run_task
from .mixins import PermissionRequiredMixin, is_htmx, query_without_page

logger = logging.getLogger(__name__)

VIOLATIONS_PER_PAGE = 50


class AuditRunListView(PermissionRequiredMixin, NearestPageMixin, ListView):
    """Every audited month, and the form that runs an audit now."""

    permission = can_view_audits
    template_name = "audits/audit_run_list.html"
    context_object_name = "runs"
    paginate_by = 24

    def get_queryset(self) -> QuerySet[AuditRun]:
        return selectors.audit_runs()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_run_audit"] = can_run_audit(self.request.user)
        context.setdefault("form", AuditRunForm(initial={"month": f"{previous_month():%Y-%m}"}))
        year, quarter = quarter_of(local_today())
        context["current_quarter"] = f"{year}-Q{quarter}"
        return context


class AuditRunCreateView(PermissionRequiredMixin, View):
    """Run the audit of a month now, in a Celery task when a broker is configured."""

    permission = can_run_audit

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AuditRunForm(request.POST)
        if not form.is_valid():
            view = AuditRunListView()
            view.setup(request)
            view.object_list = view.get_queryset()
            context = view.get_context_data(form=form)
            return render(request, view.template_name, context, status=400)
        month: date = form.cleaned_data["month"]
        try:
            monthly_audit_run_task.delay(f"{month:%Y-%m}", request.user.pk)
        except BROKER_ERRORS as error:
            logger.error(
                "user %s could not start the audit of %s: %r", request.user.pk, month, error
            )
            messages.error(
                request,
                f"The audit of {month:%B %Y} could not be started because the task queue is "
                "not reachable. Try again, or ask an admin to check Redis.",
            )
            return HttpResponseRedirect(reverse("audits:audit-run-list"))
        messages.success(
            request,
            f"The audit of {month:%B %Y} was started. The report shows its findings when it "
            "finishes.",
        )
        return HttpResponseRedirect(reverse("audits:audit-report", args=[f"{month:%Y-%m}"]))


def _month_from(value: str) -> date:
    try:
        return parse_month(value)
    except ValueError as error:
        raise Http404(str(error)) from error


def _period_unavailable_response(
    request: HttpRequest,
    *,
    period_label: str,
    heading: str,
    explanation: str,
    current_label: str,
    current_url: str,
) -> HttpResponse:
    """Render the page of a month or quarter that has no report, with status 404.

    Such a period has nothing to report, so both reports return the same page: no counts
    of today shown as the period's, and a link to the current period instead.
    """
    context = {
        "period_label": period_label,
        "heading": heading,
        "explanation": explanation,
        "current_label": current_label,
        "current_url": current_url,
    }
    return render(request, "audits/period_unavailable.html", context, status=404)


def _not_started_explanation() -> str:
    return (
        f"It begins after today ({local_today():%Y-%m-%d} in the team’s time zone), so there "
        "is nothing to report for it."
    )


def _month_unavailable_response(request: HttpRequest, month_text: str) -> HttpResponse | None:
    """Return the 404 page of a month before FIRST_AUDIT_MONTH or after today, else None.

    ``month_text`` is the month as the URL gives it, YYYY-MM, so that year 0000, which no
    date can hold, gets the same page as the other months before the first one.
    """
    today = local_today()
    current = f"{today:%Y-%m}"
    page = {
        "current_label": f"the audit of {today:%B %Y}",
        "current_url": reverse("audits:audit-report", args=[current]),
    }
    if is_before_first_month(month_text):
        first = f"{FIRST_AUDIT_MONTH:%Y-%m}"
        return _period_unavailable_response(
            request,
            period_label=f"Month {month_text}",
            heading=f"Month {month_text} is before {first}, the first month supported",
            explanation=(
                f"Audits start with {first} ({FIRST_AUDIT_MONTH:%B %Y}), so there is nothing "
                "to report for it. Choose that month or a later one."
            ),
            **page,
        )
    month = _month_from(month_text)
    if month <= today:
        return None
    return _period_unavailable_response(
        request,
        period_label=f"Month {month:%Y-%m}",
        heading=f"Month {month:%Y-%m} has not started yet",
        explanation=_not_started_explanation(),
        **page,
    )


class ReportQueryMixin:
    """The month's run and the findings the user may see, filtered by the query string."""

    request: HttpRequest
    kwargs: dict[str, Any]

    def load(self) -> None:
        self.month = _month_from(self.kwargs["month"])
        self.run = AuditRun.objects.filter(month=self.month).first()
        self.scope = selectors.findings_scope(self.request.user)
        self.filter_form = ReportFilterForm(self.request.GET or None)

    def filter_errors(self) -> list[str]:
        form = self.filter_form
        return form.error_lines() if form.is_bound and not form.is_valid() else []

    def violations(self) -> QuerySet[Violation]:
        # Invalid filters list nothing, and the page and export show why.
        if self.run is None or self.filter_errors():
            return Violation.objects.none()
        data = self.filter_form.cleaned_data if self.filter_form.is_bound else {}
        return selectors.report_violations(
            self.run,
            self.scope,
            kind=data.get("kind", ""),
            severity=data.get("severity", ""),
            status=data.get("status", ""),
            responsible_id=data.get("rep"),
        )


class AuditReportView(PermissionRequiredMixin, ReportQueryMixin, NearestPageMixin, ListView):
    """The monthly report: counts by kind, severity and rep, overdue training, findings."""

    permission = can_view_audits
    template_name = "audits/audit_report.html"
    context_object_name = "violations"
    paginate_by = VIOLATIONS_PER_PAGE

    def get_queryset(self) -> QuerySet[Violation]:
        self.load()
        return self.violations()

    def get_paginate_by(self, queryset: QuerySet[Violation]) -> int | None:
        # With invalid filters nothing is listed, and an invalid page is one of the errors
        # shown, so the paginator must not turn it into a 404.
        return None if self.filter_errors() else self.paginate_by

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        unavailable = _month_unavailable_response(request, kwargs["month"])
        if unavailable is not None:
            return unavailable
        response = super().get(request, *args, **kwargs)
        if self.filter_errors():
            response.status_code = 400
        return response

    def overdue_as_of(self) -> date:
        """Return the day the report's training is checked on: its month's last day."""
        return min(month_period(self.month).last_day, local_today())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        counts = selectors.report_counts(self.run, self.scope) if self.run else None
        context.update(
            {
                "month": self.month,
                "month_text": f"{self.month:%Y-%m}",
                "run": self.run,
                "counts": counts,
                "kind_rows": [
                    (value, label, counts.by_kind.get(value, 0) if counts else 0)
                    for value, label in ViolationKind.choices
                ],
                "severity_rows": [
                    (value, label, counts.by_severity.get(value, 0) if counts else 0)
                    for value, label in Severity.choices
                ],
                "overdue": selectors.overdue_training(self.scope, today=self.overdue_as_of()),
                "overdue_as_of": self.overdue_as_of(),
                "filter_form": self.filter_form,
                "filter_errors": self.filter_errors(),
                "query": query_without_page(self.request),
                "can_run_audit": can_run_audit(self.request.user),
                "sees_all": self.scope is None,
            }
        )
        labels = rule_labels()
        for violation in context["violations"]:
            violation.rule_label = labels.get(violation.rule_code, violation.rule_code)
            violation.editable = can_manage_violation(self.request.user, violation)
            violation.form = ViolationForm(instance=violation, prefix=f"v{violation.pk}")
        return context


class AuditReportExportView(PermissionRequiredMixin, ReportQueryMixin, View):
    """The month's findings that the user may see, as a CSV download."""

    permission = can_view_audits

    def get(self, request: HttpRequest, month: str) -> HttpResponse:
        unavailable = _month_unavailable_response(request, month)
        if unavailable is not None:
            return unavailable
        self.load()
        errors = self.filter_errors()
        if errors:
            # An empty file would look like a month without findings.
            text = "The findings were not exported: fix these filters and try again.\n\n"
            return HttpResponse(
                text + "\n".join(errors) + "\n",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        header = [
            "month",
            "account_id",
            "account",
            "kind",
            "rule_code",
            "severity",
            "responsible",
            "status",
            "consequence",
            "consequence_notes",
            "detail",
            "resolved_by",
            "resolved_at",
        ]
        month_text = f"{self.month:%Y-%m}"
        rows = (
            (
                month_text,
                violation.account_id,
                violation.account_label,
                violation.kind,
                violation.rule_code,
                violation.severity,
                violation.responsible.get_username() if violation.responsible else "",
                violation.status,
                violation.consequence,
                violation.consequence_notes,
                violation.detail,
                violation.resolved_by.get_username() if violation.resolved_by else "",
                violation.resolved_at.isoformat() if violation.resolved_at else "",
            )
            for violation in self.violations().iterator(chunk_size=2000)
        )
        return csv_response(f"audit-{month_text}.csv", header, rows)


class ViolationUpdateView(PermissionRequiredMixin, View):
    """Set a finding's status and consequence, and return its table row for htmx."""

    permission = can_view_audits

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        violation = get_object_or_404(
            Violation.objects.select_related("account", "responsible", "audit_run"), pk=pk
        )
        if violation.responsible_id == request.user.pk:
            raise PermissionDenied(
                "This finding is against you: another manager, Sales Ops or Sales Leadership "
                "acts on it."
            )
        if not can_manage_violation(request.user, violation):
            raise PermissionDenied("This finding belongs to another team.")
        prefix = f"v{violation.pk}"
        form = ViolationForm(request.POST, instance=violation, prefix=prefix)
        saved = False
        if form.is_valid() and form.is_stale():
            # Show the current values, so the user sees what the other change set.
            violation.refresh_from_db()
            stale_message = _stale_violation_message(violation)
            logger.info(
                "Violation %s not updated by user %s: changed since the page was rendered",
                violation.pk,
                request.user.pk,
            )
            form = _stored_values_form(violation, prefix)
            form.add_error(None, stale_message)
        elif form.is_valid():
            violation = violation_update(
                violation=violation,
                user=request.user,
                status=form.cleaned_data["status"],
                consequence=form.cleaned_data["consequence"],
                consequence_notes=form.cleaned_data["consequence_notes"],
            )
            violation.refresh_from_db()
            form = ViolationForm(instance=violation, prefix=prefix)
            saved = True
        if not is_htmx(request):
            return self.report_redirect(request, violation, form, saved)
        violation.rule_label = rule_labels().get(violation.rule_code, violation.rule_code)
        violation.editable = True
        violation.form = form
        context = {"violation": violation, "saved": saved, "now": timezone.now()}
        response = render(request, "audits/partials/_violation_row.html", context)
        if not saved:
            response.status_code = 422
        return response

    def report_redirect(
        self, request: HttpRequest, violation: Violation, form: ViolationForm, saved: bool
    ) -> HttpResponseRedirect:
        """Send a request without htmx back to the month's report, with the outcome."""
        label = violation.account.name if violation.account else violation.account_label
        if saved:
            messages.success(request, f"Finding on {label} saved.")
        elif form.non_field_errors():
            # The stale-page error already states that the change was not saved.
            messages.error(request, f"Finding on {label}: " + " ".join(form.non_field_errors()))
        else:
            lines = []
            for name, field_errors in form.errors.items():
                prefix = f"{form.fields[name].label}: " if name in form.fields else ""
                lines.extend(f"{prefix}{error}" for error in field_errors)
            messages.error(request, f"Finding on {label} was not saved. {' '.join(lines)}")
        month = violation.audit_run.month.strftime("%Y-%m")
        url = reverse("audits:audit-report", args=[month])
        return HttpResponseRedirect(f"{url}#violation-{violation.pk}")


def _stored_values_form(violation: Violation, prefix: str) -> ViolationForm:
    """Return a form bound to the finding's stored values, which can carry an error."""
    data = {
        f"{prefix}-status": violation.status,
        f"{prefix}-consequence": violation.consequence,
        f"{prefix}-consequence_notes": violation.consequence_notes,
        f"{prefix}-updated_at": violation.updated_at.isoformat(),
    }
    form = ViolationForm(data, instance=violation, prefix=prefix)
    form.full_clean()
    return form


def _stale_violation_message(violation: Violation) -> str:
    """Return the error for a save from a page rendered before the finding's last change."""
    latest = violation.history.select_related("history_user").first()
    author = "Someone"
    if latest is not None and latest.history_user is not None:
        author = user_label(latest.history_user)
    changed_at = timezone.localtime(violation.updated_at).strftime("%Y-%m-%d %H:%M")
    return (
        f"{author} changed this finding at {changed_at}, after this page was opened, so your "
        f"change was not saved. It now shows {violation.get_status_display()} · "
        f"{violation.get_consequence_display()}: save again to replace that."
    )


class QuarterlyReportRedirectView(PermissionRequiredMixin, View):
    permission = can_view_audits

    def get(self, request: HttpRequest) -> HttpResponse:
        year, quarter = quarter_of(local_today())
        return HttpResponseRedirect(reverse("audits:quarterly-report", args=[f"{year}-Q{quarter}"]))


class QuarterlyReportView(PermissionRequiredMixin, TemplateView):
    """The quarterly ICP review: approved versions, segment drift and review accuracy."""

    permission = can_view_audits
    template_name = "audits/quarterly_report.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            year, quarter = parse_quarter(kwargs["quarter"])
        except ValueError as error:
            raise Http404(str(error)) from error
        current_year, current_quarter = quarter_of(local_today())
        current = quarter_text(current_year, current_quarter)
        label = f"Quarter {quarter_text(year, quarter)}"
        page = {
            "period_label": label,
            "current_label": f"the ICP review of {current}",
            "current_url": reverse("audits:quarterly-report", args=[current]),
        }
        if (year, quarter) < FIRST_QUARTER:
            first = quarter_text(*FIRST_QUARTER)
            return _period_unavailable_response(
                request,
                heading=f"{label} is before {first}, the first quarter supported",
                explanation=(
                    f"ICP reviews start with {first}, the quarter of the first audited month, "
                    "so there is nothing to report for it. Choose that quarter or a later one."
                ),
                **page,
            )
        if (year, quarter) > (current_year, current_quarter):
            return _period_unavailable_response(
                request,
                heading=f"{label} has not started yet",
                explanation=_not_started_explanation(),
                **page,
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            year, quarter = parse_quarter(self.kwargs["quarter"])
            period = quarter_period(year, quarter)
        except ValueError as error:
            raise Http404(str(error)) from error
        at_end = min(period.end, timezone.now())
        is_current = period.end > timezone.now()
        scope = selectors.findings_scope(self.request.user)
        accuracy = selectors.accuracy_by_rep(period, scope)
        context.update(
            {
                "quarter_text": quarter_text(year, quarter),
                "period": period,
                "is_current": is_current,
                # None at the edges of the range quarter_period accepts, so no link leads to a 404.
                "previous_quarter": adjacent_quarter(year, quarter, -1),
                # The current quarter has no next link, because later quarters have not started.
                "next_quarter": None if is_current else adjacent_quarter(year, quarter, 1),
                "frameworks": selectors.frameworks_approved(period),
                "tier_drift": selectors.segment_drift(period, at_end, "tier"),
                "tag_drift": selectors.segment_drift(
                    period, at_end, "tag", limit=selectors.DRIFT_TAGS
                ),
                "accuracy": accuracy,
                "accuracy_totals": selectors.accuracy_totals(accuracy),
            }
        )
        return context
