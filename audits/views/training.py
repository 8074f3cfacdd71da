"""Training records: a read-only list with filters, the people overdue and a CSV export.

Sales Ops keep the records in the admin. This page lets the managers of a team and
Sales Leadership see and export them without admin access.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.views import View
from django.views.generic import ListView

from accounts.permissions import can_view_audits, team_member_ids
from icp_portal.pagination import NearestPageMixin

from .. import selectors
from ..exports import csv_response
from ..forms import TrainingFilterForm
from ..models import TrainingRecord
from .mixins import PermissionRequiredMixin, query_without_page

TRAINING_PER_PAGE = 50


class TrainingQueryMixin:
    """Read the training filter form and return the matching records and overdue people."""

    request: HttpRequest

    def training_form(self) -> TrainingFilterForm:
        user = self.request.user
        return TrainingFilterForm(
            self.request.GET or None,
            people=selectors.training_people(user),
            managers=selectors.training_managers(user),
        )

    def overdue(self, form: TrainingFilterForm) -> list[selectors.OverdueTraining]:
        """Return the people overdue today whom the user may see and the filters keep."""
        if form.is_bound and not form.is_valid():
            return []
        people = selectors.overdue_training(selectors.findings_scope(self.request.user))
        data = form.cleaned_data if form.is_bound else {}
        person, team, kind = data.get("person"), data.get("team"), data.get("kind")
        if person is not None:
            people = [row for row in people if row.user_id == person.pk]
        if kind:
            people = [row for row in people if row.kind == kind]
        if team is not None:
            members = set(team_member_ids(team)) - {team.pk}
            people = [row for row in people if row.user_id in members]
        return people

    def records(
        self, form: TrainingFilterForm, overdue: list[selectors.OverdueTraining]
    ) -> QuerySet[TrainingRecord]:
        if form.is_bound and not form.is_valid():
            return TrainingRecord.objects.none()
        data = form.cleaned_data if form.is_bound else {}
        person, team = data.get("person"), data.get("team")
        return selectors.training_records(
            self.request.user,
            person_id=person.pk if person else None,
            manager_id=team.pk if team else None,
            kind=data.get("kind") or "",
            period=form.period() if form.is_bound else None,
            user_ids=[row.user_id for row in overdue] if data.get("overdue") else None,
        )


class TrainingRecordListView(
    PermissionRequiredMixin, TrainingQueryMixin, NearestPageMixin, ListView
):
    """Training records of the people the user may see, and who is overdue."""

    permission = can_view_audits
    template_name = "audits/training_list.html"
    context_object_name = "records"
    paginate_by = TRAINING_PER_PAGE

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        if self.form.is_bound and not self.form.is_valid():
            response.status_code = 400
        return response

    def get_queryset(self) -> QuerySet[TrainingRecord]:
        self.form = self.training_form()
        self.overdue_people = self.overdue(self.form)
        return self.records(self.form, self.overdue_people)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = self.form
        context["filter_errors"] = self.form.error_lines() if self.form.is_bound else []
        context["query"] = query_without_page(self.request)
        context["overdue"] = self.overdue_people
        context["overdue_ids"] = {row.user_id for row in self.overdue_people}
        context["onboarding_due_days"] = selectors.ONBOARDING_DUE_DAYS
        context["refresher_interval_days"] = selectors.REFRESHER_INTERVAL_DAYS
        return context


class TrainingRecordExportView(PermissionRequiredMixin, TrainingQueryMixin, View):
    """The filtered training records as a CSV download, one line per record."""

    permission = can_view_audits

    def get(self, request: HttpRequest) -> HttpResponse:
        form = self.training_form()
        if form.is_bound and not form.is_valid():
            # An empty file would look like a period without training.
            lines = ["The training records were not exported: fix these filters and try again."]
            lines += ["", *form.error_lines()]
            return HttpResponse(
                "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
            )
        overdue = {row.user_id: row for row in self.overdue(form)}
        header = [
            "completed_on",
            "username",
            "person",
            "team_manager",
            "training",
            "notes",
            "recorded_by",
            "overdue_training",
            "overdue_since",
        ]
        rows = (
            (
                record.completed_on.isoformat(),
                record.user.get_username(),
                record.user.get_full_name(),
                record.team_name,
                record.kind,
                record.notes,
                record.recorded_by.get_username() if record.recorded_by else "",
                overdue[record.user_id].kind if record.user_id in overdue else "",
                overdue[record.user_id].due_on.isoformat() if record.user_id in overdue else "",
            )
            for record in self.records(form, list(overdue.values())).iterator(chunk_size=2000)
        )
        return csv_response("training-records.csv", header, rows)
