"""Manager review pages: start a review, decide item by item, accuracy and corrections."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, ListView

from accounts.models import SegmentOverride
from accounts.permissions import can_review_accounts, can_view_audits
from icp_portal.pagination import NearestPageMixin

from .. import selectors
from ..exports import csv_response
from ..forms import (
    CorrectionFilterForm,
    ReviewCorrectionForm,
    ReviewSessionForm,
    ShownDecisionForm,
)
from ..models import ReviewItem, ReviewSession
from ..permissions import can_decide_review
from ..services import (
    StaleDecisionError,
    review_item_confirm,
    review_item_correct,
    review_session_create,
)
from .dashboards import FRAMEWORK_CORRECTED_LABEL, framework_corrections_dataset
from .mixins import PermissionRequiredMixin, query_without_page

logger = logging.getLogger(__name__)

CARD_VIEW = "card"
TABLE_VIEW = "table"
SESSIONS_PER_PAGE = 20
CORRECTIONS_PER_PAGE = 50


class ReviewSessionListView(PermissionRequiredMixin, NearestPageMixin, ListView):
    """The manager's review sessions, the form to start one and the accuracy trend."""

    permission = can_review_accounts
    template_name = "audits/review_session_list.html"
    context_object_name = "sessions"
    paginate_by = SESSIONS_PER_PAGE

    def get_queryset(self) -> QuerySet[ReviewSession]:
        return selectors.review_sessions(self.request.user).order_by("-created_at", "-id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "form",
            ReviewSessionForm(
                reps=selectors.reps_for(self.request.user),
                initial={"reps": selectors.default_review_reps(self.request.user)},
            ),
        )
        trend = selectors.accuracy_trend(self.request.user)
        context["has_trend"] = bool(trend.labels)
        datasets = [*trend.datasets, framework_corrections_dataset(trend.framework_corrected)]
        context["chart_data"] = {
            "trend": {
                "type": "line",
                "labels": trend.labels,
                "datasets": datasets,
                "urls": [[] for _ in datasets],
                "percent": True,
                "stacked": False,
                "horizontal": False,
                # Each line is a rep, so even one line needs its name.
                "legend": True,
            }
        }
        context["trend_labels"] = trend.labels
        context["trend_rows"] = [(dataset["label"], dataset["data"]) for dataset in trend.datasets]
        context["trend_framework_corrected"] = trend.framework_corrected
        context["framework_corrected_label"] = FRAMEWORK_CORRECTED_LABEL
        return context


class ReviewSessionCreateView(PermissionRequiredMixin, View):
    """Draw the sample of a new session and open it."""

    permission = can_review_accounts

    def get(self, request: HttpRequest) -> HttpResponse:
        # A form with errors is shown at this URL, so reloading it sends a GET here. The
        # form to start a session is on the list page.
        return HttpResponseRedirect(reverse("audits:review-session-list"))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReviewSessionForm(request.POST, reps=selectors.reps_for(request.user))
        if form.is_valid():
            try:
                session = review_session_create(
                    manager=request.user,
                    rep_ids=[rep.pk for rep in form.cleaned_data["reps"]],
                    period=form.period(),
                    sample_size=form.cleaned_data["sample_size"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                return HttpResponseRedirect(
                    reverse("audits:review-session-detail", args=[session.pk])
                )
        view = ReviewSessionListView()
        view.setup(request)
        view.object_list = view.get_queryset()
        context = view.get_context_data(form=form)
        return render(request, view.template_name, context, status=400)


def _session_for(request: HttpRequest, pk: int) -> ReviewSession:
    return get_object_or_404(selectors.review_sessions(request.user), pk=pk)


def _items(session: ReviewSession) -> list[ReviewItem]:
    return list(
        ReviewItem.objects.filter(session=session)
        .select_related("account", "account__industry", "account__owner", "rep", "override")
        .order_by("position")
    )


def _view_mode(request: HttpRequest) -> str:
    source = request.POST if request.method == "POST" else request.GET
    return TABLE_VIEW if source.get("view") == TABLE_VIEW else CARD_VIEW


def _review_context(
    request: HttpRequest,
    session: ReviewSession,
    items: list[ReviewItem],
    current: ReviewItem | None,
    *,
    form: ReviewCorrectionForm | None = None,
    message: str = "",
) -> dict[str, Any]:
    decided = sum(1 for item in items if item.decision != ReviewItem.Decision.PENDING)
    # A pending item whose account was deleted can never be decided, so it is not counted.
    reviewable = sum(
        1
        for item in items
        if item.account_id is not None or item.decision != ReviewItem.Decision.PENDING
    )
    accuracy = selectors.session_accuracy(session)
    return {
        "session": session,
        "items": items,
        "item": current,
        "previous_item": _neighbour(items, current, -1),
        "next_item": _neighbour(items, current, 1),
        "view_mode": _view_mode(request),
        "accuracy": accuracy,
        "accuracy_totals": selectors.accuracy_totals(accuracy),
        "decided_count": decided,
        "reviewable_count": reviewable,
        "can_decide": can_decide_review(request.user, session),
        "correction_form": form or ReviewCorrectionForm(),
        "form_item_id": current.pk if form is not None and current is not None else None,
        "message": message,
    }


def _neighbour(items: list[ReviewItem], current: ReviewItem | None, step: int) -> ReviewItem | None:
    if current is None:
        return None
    index = current.position - 1 + step
    return items[index] if 0 <= index < len(items) else None


def _item_at(items: list[ReviewItem], position: int | None) -> ReviewItem | None:
    if not items:
        return None
    if position is not None and 1 <= position <= len(items):
        return items[position - 1]
    # A deleted account's item cannot be decided, so it is not offered as the next one.
    pending = [
        item
        for item in items
        if item.decision == ReviewItem.Decision.PENDING and item.account_id is not None
    ]
    return pending[0] if pending else items[0]


def _position(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


class ReviewSessionDetailView(PermissionRequiredMixin, DetailView):
    """One session as a large card per account, or as a table with ``?view=table``."""

    permission = can_review_accounts
    template_name = "audits/review_session_detail.html"
    context_object_name = "session"

    def get_object(self, queryset: QuerySet | None = None) -> ReviewSession:
        return _session_for(self.request, self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        items = _items(self.object)
        current = _item_at(items, _position(self.request.GET.get("position")))
        context.update(_review_context(self.request, self.object, items, current))
        context["reps"] = list(self.object.reps.order_by("username"))
        return context


class ReviewItemCardView(PermissionRequiredMixin, View):
    """The card of one item, for moving through a session without reloading the page."""

    permission = can_review_accounts

    def get(self, request: HttpRequest, pk: int, position: int) -> HttpResponse:
        session = _session_for(request, pk)
        items = _items(session)
        current = _item_at(items, position)
        context = _review_context(request, session, items, current)
        # The response also empties the page's message, so the outcome of a decision on
        # another card does not stay next to this one.
        return render(request, "audits/partials/_review_card_response.html", context)


class ReviewItemDecisionView(PermissionRequiredMixin, View):
    """Base of the confirm and correct actions: one POST, which returns HTML fragments."""

    permission = can_review_accounts

    def decide(self, request: HttpRequest, item: ReviewItem) -> ReviewCorrectionForm | None:
        """Apply the decision; return a form with errors when it was rejected."""
        raise NotImplementedError

    def post(self, request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
        session = _session_for(request, pk)
        if not can_decide_review(request.user, session):
            raise PermissionDenied("Only the session's manager decides on its items.")
        item = get_object_or_404(
            ReviewItem.objects.select_related("account", "session"), session=session, pk=item_pk
        )
        if item.account_id is None:
            # The page was opened before the account was deleted.
            logger.info(
                "Review item %s of session %s not decided: its account was deleted",
                item.pk,
                session.pk,
            )
            items = _items(session)
            current = items[item.position - 1]
            context = _review_context(
                request,
                session,
                items,
                current,
                message=f"{item.account_label}: the account was deleted, so it cannot be "
                "reviewed. Go on with the next account.",
            )
            return self._render(request, context, current)
        error = ""
        stale = False
        try:
            form = self.decide(request, item)
        except StaleDecisionError as conflict:
            # The card shows the current decision and keeps what the reviewer typed, and its
            # form now carries the current decision, so saving again applies theirs.
            form, error, stale = self.kept_form(request), str(conflict), True
        except ValidationError as rejected:
            form, error = None, " ".join(rejected.messages)
        items = _items(session)
        current = items[item.position - 1]
        # A rejection is shown in the card's alert, which screen readers announce.
        message = ""
        if form is None and not error:
            message = f"{current.account_label}: {current.get_decision_display().lower()}."
            if _view_mode(request) == CARD_VIEW and current.position < len(items):
                current = items[current.position]
        context = _review_context(request, session, items, current, form=form, message=message)
        context["error"] = error
        response = self._render(request, context, items[item.position - 1])
        # A rejected decision returns 422, whether the form or the service rejected it, and
        # a decision made meanwhile 409, so htmx and clients tell them from a decision that
        # was recorded.
        if stale:
            response.status_code = 409
        elif error or form is not None:
            response.status_code = 422
        elif _view_mode(request) == CARD_VIEW:
            # The card moved on to the next account, so the address names it too, and Back
            # returns to the account just decided.
            detail = reverse("audits:review-session-detail", args=[session.pk])
            response["HX-Push-Url"] = f"{detail}?position={current.position}"
        return response

    def kept_form(self, request: HttpRequest) -> ReviewCorrectionForm | None:
        """Return the submitted form to show again after a conflict, or None."""
        return None

    def _render(
        self, request: HttpRequest, context: dict[str, Any], row_item: ReviewItem
    ) -> HttpResponse:
        if _view_mode(request) == TABLE_VIEW:
            context["row_item"] = row_item
            return render(request, "audits/partials/_review_row_response.html", context)
        return render(request, "audits/partials/_review_card_response.html", context)


class ReviewItemConfirmView(ReviewItemDecisionView):
    def decide(self, request: HttpRequest, item: ReviewItem) -> ReviewCorrectionForm | None:
        shown = ShownDecisionForm(request.POST)
        if not shown.is_valid():
            raise ValidationError(shown.non_field_errors())
        review_item_confirm(
            item=item,
            user=request.user,
            reason=request.POST.get("reason", ""),
            shown=shown.shown(),
        )
        return None


class ReviewItemCorrectView(ReviewItemDecisionView):
    def decide(self, request: HttpRequest, item: ReviewItem) -> ReviewCorrectionForm | None:
        form = ReviewCorrectionForm(request.POST)
        if not form.is_valid():
            return form
        try:
            review_item_correct(
                item=item,
                user=request.user,
                reason=form.cleaned_data["reason"],
                tag=form.cleaned_data["tag"] or None,
                tier=form.cleaned_data["tier"] or None,
                shown=form.shown(),
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, messages in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
            else:
                form.add_error(None, error.messages)
            return form
        return None

    def kept_form(self, request: HttpRequest) -> ReviewCorrectionForm | None:
        form = ReviewCorrectionForm(request.POST)
        form.is_valid()
        return form


class CorrectionQueryMixin:
    """Read the corrections filter form and return the matching corrections."""

    request: HttpRequest

    def correction_form(self) -> CorrectionFilterForm:
        users = selectors.reps_for(self.request.user)
        if selectors.findings_scope(self.request.user) is None:
            users = selectors.active_users()
        # Reviewers are the managers who made the corrections this user may see, not the
        # reps, and include people who have since left so their corrections stay findable.
        reviewer_ids = selectors.review_corrections(self.request.user).values("user_id")
        reviewers = get_user_model().objects.filter(pk__in=reviewer_ids).order_by("username")
        return CorrectionFilterForm(self.request.GET or None, users=users, reviewers=reviewers)

    def corrections(self, form: CorrectionFilterForm) -> QuerySet[SegmentOverride]:
        if form.is_bound and not form.is_valid():
            return SegmentOverride.objects.none()
        data = form.cleaned_data if form.is_bound else {}
        rep, reviewer = data.get("rep"), data.get("reviewer")
        return selectors.review_corrections(
            self.request.user,
            rep_id=rep.pk if rep else None,
            reviewer_id=reviewer.pk if reviewer else None,
            period=form.period() if form.is_bound else None,
            search=(data.get("q") or "").strip(),
        )


class ReviewCorrectionListView(
    PermissionRequiredMixin, CorrectionQueryMixin, NearestPageMixin, ListView
):
    """Corrections made in reviews, filterable by rep, reviewer, dates and account."""

    permission = can_view_audits
    template_name = "audits/review_correction_list.html"
    context_object_name = "corrections"
    paginate_by = CORRECTIONS_PER_PAGE

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        if self.form.is_bound and not self.form.is_valid():
            response.status_code = 400
        return response

    def get_queryset(self) -> QuerySet[SegmentOverride]:
        self.form = self.correction_form()
        return self.corrections(self.form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = self.form
        context["filter_errors"] = self.form.error_lines() if self.form.is_bound else []
        context["query"] = query_without_page(self.request)
        return context


class ReviewCorrectionExportView(PermissionRequiredMixin, CorrectionQueryMixin, View):
    """The filtered corrections as a CSV download."""

    permission = can_view_audits

    def get(self, request: HttpRequest) -> HttpResponse:
        form = self.correction_form()
        if form.is_bound and not form.is_valid():
            # An empty file would look like a period without corrections.
            lines = ["The corrections were not exported: fix these filters and try again.", ""]
            lines += form.error_lines()
            return HttpResponse(
                "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
            )
        corrections = self.corrections(form)
        header = [
            "corrected_at",
            "account_id",
            "account",
            "rep",
            "reviewer",
            "old_tag",
            "new_tag",
            "old_tier",
            "new_tier",
            "reason",
        ]
        rows = (
            (
                override.created_at.isoformat(),
                override.account_id,
                override.account_label,
                override.rep.get_username() if override.rep else "",
                override.user.get_username(),
                override.old_tag,
                override.new_tag,
                override.old_tier,
                override.new_tier,
                override.reason,
            )
            for override in corrections.iterator(chunk_size=2000)
        )
        return csv_response("review-corrections.csv", header, rows)
