"""Pages of the framework lifecycle: versions, impact preview, runs, revisions, taxonomy."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView
from kombu.exceptions import OperationalError

from accounts import permissions
from accounts.api.datetimes import api_datetime_formatter
from accounts.models import Account
from accounts.selectors import user_label
from audits.exports import csv_response
from icp_portal.celery import app as celery_app
from icp_portal.pagination import NearestPageMixin
from icp_portal.submissions import created_object_id, created_object_remember

from .engine import FrameworkError
from .forms import FrameworkReturnForm, FrameworkSubmitForm, IndustryMapForm
from .lifecycle import (
    FrameworkLifecycleError,
    FrameworkOpenCopyError,
    framework_approve,
    framework_draft_create,
    framework_open_copy,
    framework_outdated_reason,
    framework_return_to_draft,
    framework_second_approver_reason,
    framework_submit,
    older_settings_hint,
    open_copy_message,
    status_refusal,
    submit_rejection_message,
    with_return_reason,
)
from .models import (
    UNAPPROVED_STATUSES,
    Framework,
    FrameworkStatus,
    Industry,
    SegmentationRun,
)
from .preview import (
    CHANGE_COUNTING_RULE,
    TIER_LABELS,
    TIER_ORDER,
    framework_impact_preview,
    framework_preview_settings,
    tag_change_table,
    tier_matrix,
)
from .runs import (
    SegmentationRunNotResumable,
    SegmentationRunNotStalled,
    segmentation_run_progress,
    segmentation_run_resume,
    segmentation_run_resume_blocker,
    segmentation_run_resume_text,
    segmentation_run_stalled_after,
)
from .selectors import (
    accounts_without_industry_count,
    framework_list,
    revision_initial_approval,
    revision_list,
    revisions_with_people,
    unmapped_industry_values,
)
from .services import industry_value_map

# Accounts listed in the preview with both explanations.
PREVIEW_TOP_MOVERS = 20


# Shared with the framework admin and defined once in accounts.permissions.
can_follow_framework = permissions.can_follow_framework


class RoleRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Send anonymous users to the login page and return 403 to users the rule rejects."""

    permission: Callable[[Any], bool]

    def test_func(self) -> bool:
        return type(self).permission(self.request.user)


def _framework_or_404(version: int) -> Framework:
    return get_object_or_404(Framework, version=version)


def _active_framework_or_none() -> Framework | None:
    return Framework.objects.filter(status=FrameworkStatus.APPROVED).first()


class FrameworkListView(RoleRequiredMixin, ListView):
    """Every version with its status and the buttons the user's role allows."""

    permission = staticmethod(permissions.can_view_accounts)
    template_name = "segmentation/framework_list.html"
    context_object_name = "frameworks"

    def get_queryset(self):
        frameworks = list(with_return_reason(framework_list()))
        active = next(
            (version for version in frameworks if version.status == FrameworkStatus.APPROVED),
            None,
        )
        for framework in frameworks:
            # Only submitted versions have an approve button to hide. There are few.
            if framework.status == FrameworkStatus.SUBMITTED:
                framework.outdated = framework_outdated_reason(framework)
                framework.second_approver_reason = framework_second_approver_reason(
                    framework, self.request.user
                )
            if framework.status != FrameworkStatus.DRAFT:
                # Only a draft shows why it was sent back.
                framework.return_reason = ""
            # framework_copy_rejection's rule: only the active version, if any, is copied.
            framework.may_copy = active is None or framework.pk == active.pk
            if framework.may_copy:
                framework.open_copy = framework_open_copy(framework)
                if framework.open_copy is not None:
                    framework.open_copy_message = open_copy_message(framework.open_copy)
            if framework.status == FrameworkStatus.RETIRED and active is not None:
                framework.older_settings_hint = older_settings_hint(framework, active)
        for framework in frameworks:
            # The run that the list links: the newest run over every account, else the
            # newest run of any kind.
            framework.shown_run_id = framework.full_run_id or framework.latest_run_id
        shown_runs = SegmentationRun.objects.in_bulk(
            [framework.shown_run_id for framework in frameworks if framework.shown_run_id]
        )
        for framework in frameworks:
            shown_run = shown_runs.get(framework.shown_run_id)
            framework.latest_run_stalled = (
                shown_run is not None and segmentation_run_progress(shown_run).stalled
            )
        return frameworks

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["can_edit"] = permissions.can_edit_framework(user)
        context["can_approve"] = permissions.can_approve_framework(user)
        context["can_follow"] = can_follow_framework(user)
        context["can_manage_taxonomy"] = permissions.can_manage_taxonomy(user)
        # The admin's list of segmentation runs, which only staff can open.
        context["can_list_runs"] = context["can_follow"] and user.is_staff
        # Named in the approve confirmation, because approval retires it.
        context["active_framework"] = _active_framework_or_none()
        context["page_id"] = uuid.uuid4().hex
        return context


# Session key that maps "page id:version" of recently sent draft forms to the draft's id.
DRAFT_FORMS_SESSION_KEY = "framework_drafts_created"

# The form field that confirms a second draft while a copy of the version is open.
ALLOW_PARALLEL_FIELD = "allow_parallel"

OPEN_COPY_NEXT_STEP = (
    "No other draft was made: continue in that version. To make a second draft anyway, "
    "confirm it under “Create a second draft” on the versions page. Approving either "
    "draft makes the other an outdated copy that cannot be approved."
)


class FrameworkDraftCreateView(RoleRequiredMixin, View):
    """Copy a version into a new draft and go back to the version list.

    The list's forms carry an id per rendered page, so a form sent twice (a double click)
    creates one draft and the second request names the draft that the first one created.
    """

    permission = staticmethod(permissions.can_edit_framework)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, version: int) -> HttpResponse:
        source = _framework_or_404(version)
        page_id = request.POST.get("page_id", "")[:32]
        form_key = f"{page_id}:{source.version}" if page_id else ""
        earlier_pk = created_object_id(request.session, DRAFT_FORMS_SESSION_KEY, form_key)
        if earlier_pk is not None:
            earlier = Framework.objects.filter(pk=earlier_pk).first()
            if earlier is not None:
                messages.info(
                    request,
                    f"Draft v{earlier.version} was already created from v{source.version} by "
                    "this button, so no other draft was made.",
                )
                return HttpResponseRedirect(reverse("segmentation:framework-list"))
        try:
            draft = framework_draft_create(
                source=source,
                user=request.user,
                allow_parallel=request.POST.get(ALLOW_PARALLEL_FIELD) == "1",
            )
        except FrameworkOpenCopyError as error:
            messages.warning(request, f"{error} {OPEN_COPY_NEXT_STEP}")
            return HttpResponseRedirect(
                reverse("admin:segmentation_framework_change", args=[error.open_copy.pk])
            )
        except FrameworkLifecycleError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(reverse("segmentation:framework-list"))
        created_object_remember(request.session, DRAFT_FORMS_SESSION_KEY, form_key, draft.pk)
        messages.success(
            request,
            f"Draft v{draft.version} created from v{source.version}. Edit it in the admin, "
            "then preview its impact and submit it.",
        )
        return HttpResponseRedirect(reverse("segmentation:framework-list"))


class FrameworkSubmitView(RoleRequiredMixin, FormView):
    """Ask for the summary of changes and submit a draft for approval."""

    permission = staticmethod(permissions.can_edit_framework)
    template_name = "segmentation/framework_submit.html"
    form_class = FrameworkSubmitForm

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.framework = _framework_or_404(kwargs["version"])
        # Users without the role get the mixin's 403 below, whatever the status.
        if self.framework.status != FrameworkStatus.DRAFT and self.permission(request.user):
            messages.error(request, submit_rejection_message(self.framework))
            return HttpResponseRedirect(reverse("segmentation:framework-list"))
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return {"summary": self.framework.summary}

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        active = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
        return super().get_context_data(
            framework=self.framework,
            active=active,
            outdated_reason=framework_outdated_reason(self.framework),
            **kwargs,
        )

    def form_valid(self, form: FrameworkSubmitForm) -> HttpResponse:
        try:
            framework_submit(
                framework=self.framework,
                user=self.request.user,
                summary=form.cleaned_data["summary"],
            )
        except FrameworkLifecycleError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(
            self.request, f"Framework v{self.framework.version} submitted for approval."
        )
        return HttpResponseRedirect(reverse("segmentation:framework-list"))


class FrameworkApproveView(RoleRequiredMixin, View):
    """Approve a submitted version and open the re-segmentation run it started."""

    permission = staticmethod(permissions.can_approve_framework)
    permission_denied_message = "Only Sales Leadership can approve a framework version."
    http_method_names = ["post"]

    def post(self, request: HttpRequest, version: int) -> HttpResponse:
        framework = _framework_or_404(version)
        try:
            framework = framework_approve(
                framework=framework,
                user=request.user,
                submitted_at=request.POST.get("submitted_at"),
            )
        except (FrameworkLifecycleError, PermissionDenied) as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(reverse("segmentation:framework-list"))
        if framework.tag_override_plan is not None:
            messages.info(request, framework.tag_override_plan.summary(done=True))
        run = (
            SegmentationRun.objects.filter(framework=framework, kind=SegmentationRun.Kind.APPROVAL)
            .order_by("-created_at", "-id")
            .first()
        )
        approved = f"Framework v{version} approved and active."
        if run is None:
            # With a broker the worker creates the run later, so it may not exist yet.
            messages.success(
                request,
                f"{approved} Re-segmentation of every account is queued: "
                "open Approval run to follow it.",
            )
            return HttpResponseRedirect(reverse("segmentation:framework-list"))
        # An eager worker has already finished the run, so the message follows its status.
        if run.status == SegmentationRun.Status.SUCCEEDED:
            messages.success(request, f"{approved} Run {run.pk} re-scored every account.")
        elif run.status == SegmentationRun.Status.FAILED:
            messages.error(request, f"{approved} Run {run.pk} failed: see its error below.")
        else:
            messages.success(request, f"{approved} Run {run.pk} is re-scoring every account.")
        return HttpResponseRedirect(reverse("segmentation:run-detail", args=[run.pk]))


class FrameworkReturnView(RoleRequiredMixin, FormView):
    """Ask for the reason and send a submitted version back to draft."""

    permission = staticmethod(permissions.can_approve_framework)
    template_name = "segmentation/framework_return.html"
    form_class = FrameworkReturnForm

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.framework = _framework_or_404(kwargs["version"])
        # Users without the role get the mixin's 403 below, whatever the status.
        if self.framework.status != FrameworkStatus.SUBMITTED and self.permission(request.user):
            messages.error(
                request,
                status_refusal(self.framework, "returned to draft", "a submitted version"),
            )
            return HttpResponseRedirect(reverse("segmentation:framework-list"))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return super().get_context_data(framework=self.framework, **kwargs)

    def form_valid(self, form: FrameworkReturnForm) -> HttpResponse:
        try:
            framework_return_to_draft(
                framework=self.framework,
                user=self.request.user,
                reason=form.cleaned_data["reason"],
            )
        except (FrameworkLifecycleError, PermissionDenied) as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Framework v{self.framework.version} returned to draft. Sales Ops see your "
            "reason on the versions page and in the revision register.",
        )
        return HttpResponseRedirect(reverse("segmentation:framework-list"))


class FrameworkPreviewView(RoleRequiredMixin, TemplateView):
    """The impact preview page. Its results load in a second request, as they take a while."""

    permission = staticmethod(can_follow_framework)
    template_name = "segmentation/framework_preview.html"

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.framework = _framework_or_404(kwargs["version"])
        if self.framework.status not in UNAPPROVED_STATUSES:
            status = self.framework.get_status_display().lower()
            if type(self) is not FrameworkPreviewView:
                raise Http404(
                    f"Framework v{self.framework.version} is {status}: only drafts and "
                    "submitted versions have an impact preview."
                )
            # A bookmarked or reloaded preview of a version approved since.
            messages.info(
                request,
                f"Framework v{self.framework.version} is {status}, so it has no impact "
                "preview: only drafts and submitted versions have one.",
            )
            return HttpResponseRedirect(reverse("segmentation:framework-list"))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        framework = self.framework
        context["framework"] = framework
        # The page shows the settings; its results request (the subclass) only scores.
        if type(self) is FrameworkPreviewView:
            # manage.py resegment --dry-run prints the same warnings and settings diff.
            preview_settings = framework_preview_settings(framework)
            context["active_framework"] = preview_settings.active_framework
            context["outdated"] = preview_settings.outdated
            context["placement_warnings"] = preview_settings.placement_warnings
            context["setting_changes"] = preview_settings.setting_changes
            context["override_rewrites"] = preview_settings.override_rewrites
            may_approve = (
                permissions.can_approve_framework(self.request.user)
                and framework.status == FrameworkStatus.SUBMITTED
            )
            second_approver_reason = (
                framework_second_approver_reason(framework, self.request.user)
                if may_approve
                else ""
            )
            context["second_approver_reason"] = second_approver_reason
            context["can_approve"] = (
                may_approve and not preview_settings.outdated and not second_approver_reason
            )
        return context


class FrameworkPreviewResultsView(FrameworkPreviewView):
    """Score every account with the version in a dry run and render what would change."""

    template_name = "segmentation/partials/_preview_results.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            preview = framework_impact_preview(context["framework"], top=PREVIEW_TOP_MOVERS)
        except FrameworkError as error:
            context["error"] = str(error)
            return context
        context["preview"] = preview
        context["tier_header"] = [TIER_LABELS[tier] for tier in TIER_ORDER]
        context["change_counting_rule"] = CHANGE_COUNTING_RULE
        return context


# Captions of a run's tier matrix by run kind: the rows are the tiers before the run.
RUN_MATRIX_CAPTIONS = {
    SegmentationRun.Kind.APPROVAL: "Rows: tier before the approval. Columns: tier after it.",
    SegmentationRun.Kind.QUARTERLY: (
        "Rows: tier before the quarterly re-segmentation. Columns: tier after it."
    ),
    SegmentationRun.Kind.ACCOUNTS: (
        "Rows: tier before the selected accounts were scored again. Columns: tier after it."
    ),
    SegmentationRun.Kind.IMPORT: (
        "Rows: tier before the import scored the accounts. Columns: tier after it."
    ),
    "": "Rows: tier before the run. Columns: tier after it.",
}


class SegmentationRunDetailView(RoleRequiredMixin, DetailView):
    """Progress of a run (polled while it runs) and its recorded summary."""

    permission = staticmethod(can_follow_framework)
    model = SegmentationRun
    template_name = "segmentation/run_detail.html"
    context_object_name = "run"

    def get_queryset(self):
        return SegmentationRun.objects.select_related("framework", "triggered_by")

    def get_template_names(self) -> list[str]:
        if self.request.headers.get("HX-Request") == "true":
            return ["segmentation/partials/_run_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run: SegmentationRun = self.object
        tags = run.summary.get("tags", {})
        context["tier_header"] = [TIER_LABELS[tier] for tier in TIER_ORDER]
        context["tier_rows"] = tier_matrix(run.summary.get("tiers", {}))
        context["tag_table"] = tag_change_table(tags.get("gained", {}), tags.get("lost", {}))
        context["finished"] = run.status in (
            SegmentationRun.Status.SUCCEEDED,
            SegmentationRun.Status.FAILED,
        )
        context["percent"] = round(100 * run.processed / run.total) if run.total else 100
        context["matrix_caption"] = RUN_MATRIX_CAPTIONS.get(run.kind, RUN_MATRIX_CAPTIONS[""])
        context.update(run_stall_context(run))
        if run.kind in (SegmentationRun.Kind.ACCOUNTS, SegmentationRun.Kind.IMPORT):
            ids = run.summary.get("account_ids") or []
            names = dict(Account.objects.filter(pk__in=ids).values_list("pk", "name"))
            context["run_accounts"] = [(pk, names[pk]) for pk in ids if pk in names]
            context["run_accounts_more"] = max(run.total - len(context["run_accounts"]), 0)
        return context


def run_stall_context(run: SegmentationRun) -> dict[str, Any]:
    """Return whether a run is stalled, with its chunks' state and last resume, for its page.

    Resuming queues chunk tasks, so the page offers it only with a broker: without one
    the chunks would run in the page request, and the page names the command instead.
    The page is polled, so it reads why a run cannot be resumed only while it is stalled.
    """
    progress = segmentation_run_progress(run)
    last_resume = run.resumes.select_related("resumed_by").first()
    return {
        "progress": progress,
        "stalled": progress.stalled,
        "stalled_after_seconds": segmentation_run_stalled_after(),
        "generation": run.summary.get("generation", 0),
        "resume_blocker": segmentation_run_resume_blocker(run) if progress.stalled else "",
        "last_resume_text": segmentation_run_resume_text(last_resume) if last_resume else "",
        "has_broker": not celery_app.conf.task_always_eager,
    }


class SegmentationRunResumeView(RoleRequiredMixin, View):
    """Queue the unfinished chunks of a stalled run again, once per resume of the run."""

    permission = staticmethod(can_follow_framework)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        from .tasks import segmentation_run_chunks_dispatch

        run = get_object_or_404(SegmentationRun, pk=pk)
        target = reverse("segmentation:run-detail", args=[run.pk])
        if celery_app.conf.task_always_eager:
            messages.error(
                request,
                f"Segmentation run {run.pk} was not resumed: without a Celery broker its "
                "chunks would run in this page request. Run "
                f"manage.py resegment --resume {run.pk} on the server instead.",
            )
            return HttpResponseRedirect(target)
        try:
            generation = int(request.POST.get("generation", ""))
        except ValueError:
            messages.error(
                request,
                f"Segmentation run {run.pk} was not resumed: the request named no valid "
                "generation. Use the Resume button on the run's page.",
            )
            return HttpResponseRedirect(target)
        progress = segmentation_run_progress(run)
        last_progress = progress.stalled_since or progress.lost_since
        try:
            run, keys = segmentation_run_resume(run, user_id=request.user.pk, generation=generation)
        except SegmentationRunNotStalled as error:
            # A second tab's Resume ends here: nothing is queued, and the page shows the status.
            messages.info(request, str(error))
            return HttpResponseRedirect(target)
        except SegmentationRunNotResumable as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(target)
        try:
            segmentation_run_chunks_dispatch(run, keys)
        except OperationalError as error:
            # segmentation_run_chunks_dispatch has marked the run failed with the error.
            messages.error(
                request,
                f"Segmentation run {run.pk} could not be resumed, because its chunks could "
                f"not be queued ({error}): start the Celery broker, then run "
                f"manage.py resegment --resume {run.pk}.",
            )
            return HttpResponseRedirect(target)
        since = ""
        if last_progress is not None:
            stamp = date_format(timezone.localtime(last_progress), "j M Y, H:i T")
            since = f" after no progress since {stamp}"
        messages.success(
            request,
            f"Segmentation run {run.pk} resumed{since}: {len(keys)} unfinished "
            f"chunk{pluralize(len(keys))} queued again. Each continues after its last "
            "committed batch.",
        )
        return HttpResponseRedirect(target)


class FrameworkRevisionListView(RoleRequiredMixin, NearestPageMixin, ListView):
    """The revision register: who submitted, approved and retired each version, and why."""

    permission = staticmethod(can_follow_framework)
    template_name = "segmentation/revision_list.html"
    context_object_name = "revisions"
    paginate_by = 50

    def get_queryset(self):
        return revision_list()

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["revisions"] = revisions_with_people(list(context["revisions"]))
        page = context.get("page_obj")
        # The oldest entry, so it closes the last page.
        if page is None or not page.has_next():
            context["initial_approval"] = revision_initial_approval()
        return context


class FrameworkRevisionExportView(RoleRequiredMixin, View):
    """The revision register as CSV."""

    permission = staticmethod(can_follow_framework)

    def get(self, request: HttpRequest) -> HttpResponse:
        # The same values as the page: the action's label and people's full names. Dates
        # read as in the API and the account CSV: ISO 8601 in the team's time zone, with
        # "Z" for UTC.
        stamp = timezone.localdate().strftime("%Y-%m-%d")
        format_datetime = api_datetime_formatter()
        revisions = itertools.chain(
            _revision_chunks(revision_list().iterator(chunk_size=500), 500),
            filter(None, [revision_initial_approval()]),
        )
        rows = (
            (
                format_datetime(revision.created_at),
                revision.version,
                revision.get_action_display(),
                revision.summary,
                user_label(revision.version_author),
                user_label(revision.version_approver),
                ", ".join(user_label(editor) for editor in revision.editors),
                ", ".join(user_label(submitter) for submitter in revision.submitters),
                user_label(revision.action_by),
            )
            for revision in revisions
        )
        # Summaries are typed by people, so formula-like text is neutralized. The columns
        # follow the page's order.
        header = ["date", "version", "action", "summary", "author", "approver", "editors"]
        header += ["submitters", "action_by"]
        return csv_response(f"framework-revisions-{stamp}.csv", header, rows)


def _revision_chunks(revisions: Iterator[Any], size: int) -> Iterator[Any]:
    """Yield register entries with their people, reading the history once per ``size``."""
    while chunk := list(itertools.islice(revisions, size)):
        yield from revisions_with_people(chunk)


class UnmappedIndustryListView(RoleRequiredMixin, TemplateView):
    """Raw industry values without a canonical industry, each mappable in one step."""

    permission = staticmethod(permissions.can_manage_taxonomy)
    template_name = "segmentation/unmapped_industries.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        values = unmapped_industry_values()
        context["values"] = values
        context["industries"] = list(Industry.objects.order_by("name").only("id", "name"))
        context["total_accounts"] = sum(item["accounts"] for item in values)
        context["accounts_without_value"] = accounts_without_industry_count()
        return context


class IndustryMapView(RoleRequiredMixin, View):
    """Map one raw value to a canonical industry, then re-segment the affected accounts."""

    permission = staticmethod(permissions.can_manage_taxonomy)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = IndustryMapForm(request.POST)
        target = reverse("segmentation:taxonomy-unmapped")
        if not form.is_valid():
            if "raw_value" in form.errors:
                messages.error(
                    request,
                    "The request named no raw industry value to map: use a Map button on this "
                    "page, which sends the value of its row.",
                )
            else:
                messages.error(request, "Choose a canonical industry for the value, then map it.")
            return HttpResponseRedirect(target)
        raw_value = form.cleaned_data["raw_value"]
        industry = form.cleaned_data["industry"]
        try:
            result = industry_value_map(raw_value=raw_value, industry=industry, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(target)
        updated = len(result.account_ids)
        scored = ""
        if result.summary is not None:
            scored = f", {result.summary.moved} with a new result"
        messages.success(
            request,
            f"{raw_value!r} now maps to {industry}: {updated} account{pluralize(updated)} "
            f"updated{scored}.",
        )
        return HttpResponseRedirect(target)
