"""The import wizard (upload, mapping, preview, run) and the list of past imports.

The wizard keeps its state in the session under a random token per upload. The stored
file's path is derived from that token on the server, so no request names a path.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.generic import ListView

from accounts import selectors, workspace
from accounts.forms import ImportMappingForm, ImportUploadForm
from accounts.importing.errors import (
    ImportAlreadyRunning,
    ImportFileError,
    ImportNotCancellable,
    WriterAlreadyRunning,
)
from accounts.importing.fingerprints import SameFileImported
from accounts.importing.report import REPORT_FOLDER
from accounts.importing.serial import running_import_check, running_writer_check
from accounts.models import ImportCancelRequest, ImportRun
from accounts.permissions import can_cancel_import, can_finish_import_scoring, can_import
from accounts.selectors import user_label
from accounts.services import (
    import_run_cancel,
    import_run_interrupted,
    import_run_scoring_state,
)
from accounts.tasks import BROKER_ERRORS, accounts_import_task
from icp_portal.pagination import NearestPageMixin

from .base import add_errors, mark_invalid

logger = logging.getLogger(__name__)

SESSION_KEY = "icp_import_wizard"
# Upload tokens of this session that became imports, and the import run of each.
IMPORTED_SESSION_KEY = "icp_import_wizard_runs"
# Uploads the session remembers; older unfinished ones are forgotten.
MAX_WIZARDS = 5
# Imported uploads the session remembers, so a second tab or Back finds its import.
MAX_IMPORTED_UPLOADS = 20
IMPORT_PAGE_SIZE = 25


class UploadAlreadyImported(Exception):
    """The wizard's upload was imported already, as the import run ``run_id``."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"This file was already imported as import {run_id}.")


class ImportPermissionMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Allow users who may import (can_import); others get 403."""

    def test_func(self) -> bool:
        return can_import(self.request.user)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except UploadAlreadyImported as imported:
            # A wizard step of an upload that another tab, or this one before Back, imported.
            messages.info(request, str(imported))
            return redirect("accounts:import-detail", pk=imported.run_id)


# Wizard state --------------------------------------------------------------------------


def wizard_states(request: HttpRequest) -> dict[str, dict[str, Any]]:
    return request.session.get(SESSION_KEY) or {}


def wizard_state(request: HttpRequest, token: str) -> dict[str, Any]:
    """Return the wizard state of an upload of this session.

    Raises UploadAlreadyImported for an upload that this session imported already, and
    Http404 for any other token.
    """
    state = wizard_states(request).get(token)
    if state is None:
        run_id = (request.session.get(IMPORTED_SESSION_KEY) or {}).get(token)
        if run_id is not None:
            raise UploadAlreadyImported(run_id)
        raise Http404("This upload is not part of your session: upload the file again.")
    return state


def wizard_save(request: HttpRequest, token: str, state: dict[str, Any]) -> None:
    states = dict(wizard_states(request))
    states.pop(token, None)
    states[token] = state
    while len(states) > MAX_WIZARDS:
        states.pop(next(iter(states)))
    request.session[SESSION_KEY] = states


def wizard_forget(request: HttpRequest, token: str) -> None:
    states = dict(wizard_states(request))
    states.pop(token, None)
    request.session[SESSION_KEY] = states


def wizard_imported(request: HttpRequest, token: str, run_id: int) -> None:
    """Forget the upload's wizard state and remember the import run it became."""
    wizard_forget(request, token)
    imported = dict(request.session.get(IMPORTED_SESSION_KEY) or {})
    imported.pop(token, None)
    imported[token] = run_id
    while len(imported) > MAX_IMPORTED_UPLOADS:
        imported.pop(next(iter(imported)))
    request.session[IMPORTED_SESSION_KEY] = imported


def wizard_path(token: str, state: dict[str, Any]) -> Path:
    try:
        path = workspace.upload_path(token, state["stored_name"])
    except (KeyError, ValueError) as error:
        raise Http404("This upload is invalid: upload the file again.") from error
    if not path.is_file():
        raise Http404("The uploaded file is gone: upload it again.")
    return path


def wizard_context(token: str, state: dict[str, Any], step: int) -> dict[str, Any]:
    return {
        "token": token,
        "state": state,
        "step": step,
        "inspection": workspace.FileInspection.from_json(state["inspection"]),
        "file_name": state["file_name"],
        "file_size": workspace.size_label(state["size"]),
    }


# Step 1: upload ------------------------------------------------------------------------


class UploadSizeLimitHandler(FileUploadHandler):
    """Stop reading an upload once it passes the size limit, instead of storing it all."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.icp_upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@method_decorator(csrf_exempt, name="dispatch")
class ImportRunUploadView(ImportPermissionMixin, View):
    """Step 1: upload a CSV or JSON file, checked for size, type and content.

    CSRF is checked in ``post`` after the size-limit handler is installed, because the
    check reads the request body.
    """

    template_name = "accounts/imports/import_upload.html"

    def context(self, form: ImportUploadForm) -> dict[str, Any]:
        return {
            "form": mark_invalid(form),
            "step": 1,
            "max_size": workspace.size_label(workspace.max_upload_bytes()),
            "extensions": ", ".join(workspace.ALLOWED_EXTENSIONS),
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, self.context(ImportUploadForm()))

    def post(self, request: HttpRequest) -> HttpResponse:
        limit = workspace.max_upload_bytes()
        request.upload_handlers.insert(0, UploadSizeLimitHandler(request, limit))
        return self.post_checked(request)

    @method_decorator(csrf_protect)
    def post_checked(self, request: HttpRequest) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES)
        if getattr(request, "icp_upload_too_large", False):
            form.is_valid()
            form.errors.clear()
            form.add_error(
                "file",
                f"The file is larger than the {workspace.size_label(workspace.max_upload_bytes())} "
                "an upload may have: split it into smaller files.",
            )
            return render(request, self.template_name, self.context(form), status=422)
        if not form.is_valid():
            return render(request, self.template_name, self.context(form), status=422)

        stored = workspace.upload_store(form.cleaned_data["file"])
        try:
            inspection = workspace.file_inspect(stored.path, file_name=stored.file_name)
        except ImportFileError as error:
            workspace.upload_discard(stored.path)
            form.add_error("file", str(error))
            return render(request, self.template_name, self.context(form), status=422)
        wizard_save(
            request,
            stored.token,
            {
                "stored_name": stored.path.name,
                "file_name": stored.file_name,
                "size": stored.size,
                "inspection": inspection.to_json(),
                "mapping": None,
            },
        )
        logger.info(
            "user %s uploaded %s (%s bytes) for import",
            request.user.pk,
            stored.file_name,
            stored.size,
        )
        return redirect("accounts:import-mapping", token=stored.token)


# Step 2: mapping -----------------------------------------------------------------------


class ImportRunMappingView(ImportPermissionMixin, View):
    """Step 2: the detected format and a field per column, prefilled and changeable."""

    template_name = "accounts/imports/import_mapping.html"

    def initial_mapping(
        self, request: HttpRequest, state: dict[str, Any], inspection: workspace.FileInspection
    ) -> tuple[workspace.WizardMapping, Any]:
        """Return the mapping to prefill and the saved mapping it came from, if any."""
        saved = selectors.saved_mappings_for(inspection.header, request.user)
        chosen_id = request.GET.get("saved")
        if request.GET.get("use") == "detected":
            return workspace.WizardMapping.detected(inspection), None
        if chosen_id:
            for mapping in saved:
                if str(mapping.pk) == chosen_id:
                    return workspace.mapping_from_saved(mapping, inspection.header), mapping
        if state.get("mapping"):
            return workspace.WizardMapping.from_json(state["mapping"]), None
        if saved:
            return workspace.mapping_from_saved(saved[0], inspection.header), saved[0]
        return workspace.WizardMapping.detected(inspection), None

    def render_step(
        self,
        request: HttpRequest,
        token: str,
        state: dict[str, Any],
        form: ImportMappingForm,
        *,
        used: Any = None,
        status: int = 200,
    ) -> HttpResponse:
        context = wizard_context(token, state, 2)
        inspection = context["inspection"]
        context.update(
            form=mark_invalid(form),
            used_mapping=used,
            saved_mappings=selectors.saved_mappings_for(inspection.header, request.user),
            columns=[
                (
                    form[field_name],
                    name,
                    duplicate,
                    inspection.samples.get(name, []),
                    inspection.suggested.get(name, ""),
                )
                for field_name, name, duplicate in form.column_fields
            ],
        )
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        state = wizard_state(request, token)
        wizard_path(token, state)
        inspection = workspace.FileInspection.from_json(state["inspection"])
        mapping, used = self.initial_mapping(request, state, inspection)
        form = ImportMappingForm(
            initial=ImportMappingForm.initial_for(mapping, inspection.header),
            header=inspection.header,
        )
        return self.render_step(request, token, state, form, used=used)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        state = wizard_state(request, token)
        wizard_path(token, state)
        inspection = workspace.FileInspection.from_json(state["inspection"])
        form = ImportMappingForm(request.POST, header=inspection.header)
        if not form.is_valid():
            return self.render_step(request, token, state, form, status=422)
        mapping = form.mapping()
        if form.cleaned_data["save_mapping"]:
            try:
                saved = workspace.import_mapping_save(
                    name=form.cleaned_data["mapping_name"],
                    header=inspection.header,
                    mapping=mapping,
                    user=request.user,
                )
            except ValidationError as error:
                add_errors(form, error)
                return self.render_step(request, token, state, form, status=422)
            messages.success(request, f"Mapping “{saved.name}” saved for files with these columns.")
        state["mapping"] = mapping.to_json()
        wizard_save(request, token, state)
        return redirect("accounts:import-preview", token=token)


def running_import_html(user: Any, error: ImportAlreadyRunning) -> str:
    """Return the error's message with the running import's number linked to its page.

    The number stays plain text for a user who may not open that import.
    """
    text = str(error)
    running = error.running
    label = f"#{running.pk}" if running is not None else ""
    if (
        not label
        or label not in text
        or not selectors.import_runs_for(user).filter(pk=running.pk).exists()
    ):
        return text
    before, after = text.split(label, 1)
    url = reverse("accounts:import-detail", args=[running.pk])
    return format_html('{}<a href="{}">{}</a>{}', before, url, label, after)


# Step 3: preview -----------------------------------------------------------------------


class ImportRunPreviewView(ImportPermissionMixin, View):
    """Step 3: the first rows as the import will treat them, with each row's problems."""

    template_name = "accounts/imports/import_preview.html"

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        state = wizard_state(request, token)
        path = wizard_path(token, state)
        if not state.get("mapping"):
            return redirect("accounts:import-mapping", token=token)
        context = wizard_context(token, state, 3)
        mapping = workspace.WizardMapping.from_json(state["mapping"])
        try:
            rows = workspace.import_preview(path, context["inspection"], mapping)
        except (ValidationError, ImportFileError) as error:
            text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            messages.error(request, text)
            return redirect("accounts:import-mapping", token=token)
        counts = dict.fromkeys(("ok", "flagged", "rejected", "blank"), 0)
        # The rows as the import will count them: created, updated, unchanged or merged.
        outcomes = dict.fromkeys(("created", "updated", "unchanged", "merged"), 0)
        for row in rows:
            counts[row.status] += 1
            if row.outcome:
                outcomes[row.outcome] += 1
        same_file = workspace.same_file_conflict_for(path, context["inspection"], mapping)
        try:
            running_import_check()
            running_import = ""
        except ImportAlreadyRunning as error:
            running_import = running_import_html(request.user, error)
        context.update(
            running_import=running_import,
            same_file="" if same_file is None else str(same_file),
            rows=rows,
            counts=counts,
            outcomes=outcomes,
            mapping=mapping,
            mapped_columns=[(name, target) for name, target in mapping.columns.items() if target],
            shared_fields=mapping.shared_fields(),
            uses_detected=mapping.is_detected(context["inspection"]),
            new_accounts_owner=workspace.new_accounts_owner_default(request.user),
        )
        return render(request, self.template_name, context)


# Step 4: run ---------------------------------------------------------------------------


class ImportRunStartView(ImportPermissionMixin, View):
    """Start the import of a previewed upload in the background."""

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        state = wizard_state(request, token)
        path = wizard_path(token, state)
        if not state.get("mapping"):
            return redirect("accounts:import-mapping", token=token)
        try:
            owner = workspace.new_accounts_owner_for(
                request.user, request.POST.get("new_accounts_owner")
            )
            run = workspace.import_start(
                path=path,
                file_name=state["file_name"],
                inspection=workspace.FileInspection.from_json(state["inspection"]),
                mapping=workspace.WizardMapping.from_json(state["mapping"]),
                user=request.user,
                allow_same_file=request.POST.get("allow_same_file") == "1",
                new_accounts_owner=owner,
                upload_token=token,
            )
        except SameFileImported as error:
            # The preview shows the earlier import and the checkbox that overrides it.
            messages.error(request, str(error))
            return redirect("accounts:import-preview", token=token)
        except ImportAlreadyRunning as error:
            # The upload stays, so the user can start it from the preview later.
            messages.error(request, running_import_html(request.user, error))
            return redirect("accounts:import-preview", token=token)
        except (ValidationError, ImportFileError) as error:
            text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            messages.error(request, text)
            return redirect("accounts:import-mapping", token=token)
        wizard_imported(request, token, run.pk)
        return redirect("accounts:import-detail", pk=run.pk)


class ImportRunVisibleMixin(ImportPermissionMixin):
    """Load an import run the user may see, or 404."""

    def get_run(self) -> ImportRun:
        return get_object_or_404(selectors.import_runs_for(self.request.user), pk=self.kwargs["pk"])


def import_status_context(run: ImportRun, user: Any) -> dict[str, Any]:
    """Return the progress of a run, and whether ``user`` may cancel it, for the status fragment."""
    total = workspace.import_run_total(run)
    if total is None and run.rows_not_reached is not None:
        # A cancelled run counted the rows it did not read, which gives the file's total.
        total = run.rows_read + run.rows_not_reached
    finished = run.is_finished
    interrupted = import_run_interrupted(run)
    cancel_request = (
        ImportCancelRequest.objects.select_related("requested_by").filter(import_run=run).first()
    )
    if run.status == ImportRun.Status.SUCCEEDED:
        percent: int | None = 100
    elif run.status == ImportRun.Status.CANCELLED:
        # The bar stops where the cancel stopped the import.
        percent = min(100, run.rows_read * 100 // total) if total else None
    elif total:
        # A running import stays below 100 % until its counts and scores are saved.
        percent = min(99, run.rows_read * 100 // total)
    elif run.status == ImportRun.Status.PENDING:
        percent = 0
    else:
        percent = None
    scoring = import_run_scoring_state(run)
    return {
        "run": run,
        "total": total,
        "percent": percent,
        "finished": finished,
        "scoring": scoring,
        "interrupted": interrupted,
        "may_resume": interrupted and can_cancel_import(user, run),
        "may_finish_scoring": scoring in ("interrupted", "failed")
        and can_finish_import_scoring(user),
        "has_report": bool(run.report_path),
        "cancel_request": cancel_request,
        "cancel_requested_by": user_label(cancel_request.requested_by) if cancel_request else "",
        "may_cancel": not finished
        and not interrupted
        and cancel_request is None
        and can_cancel_import(user, run),
    }


class ImportRunDetailView(ImportRunVisibleMixin, View):
    """Step 4: the run's progress bar while it runs, then its summary."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        context = {**import_status_context(run, request.user), "step": 4}
        return render(request, "accounts/imports/import_detail.html", context)


class ImportRunStatusView(ImportRunVisibleMixin, View):
    """The status fragment that the progress bar polls every second."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        return render(
            request,
            "accounts/partials/_import_status.html",
            import_status_context(run, request.user),
        )


class ImportRunCancelView(ImportRunVisibleMixin, View):
    """Request that a pending or running import stops, after the page's confirmation dialog."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        if not can_cancel_import(request.user, run):
            raise PermissionDenied(
                "Only the user who started this import, their Sales Manager or Sales Ops can "
                "cancel it."
            )
        try:
            cancel_request = import_run_cancel(run, user=request.user)
        except ImportNotCancellable as error:
            messages.error(request, str(error))
            return redirect("accounts:import-detail", pk=run.pk)
        if cancel_request.requested_by_id != request.user.pk:
            messages.info(
                request,
                f"{user_label(cancel_request.requested_by) or 'Another user'} already asked to "
                f"cancel import {run.pk} at {localtime(cancel_request.requested_at):%H:%M %Z}.",
            )
        elif run.status == ImportRun.Status.CANCELLED:
            messages.success(request, f"Import {run.pk} is cancelled.")
        else:
            messages.success(
                request,
                f"Import {run.pk} stops after the batch it is writing. The rows imported "
                "until then stay imported.",
            )
        return redirect("accounts:import-detail", pk=run.pk)


class ImportRunResumeView(ImportRunVisibleMixin, View):
    """Import again the file of a run whose process stopped, after a confirmation.

    Without a Celery broker the import runs inside this request.
    """

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        if not can_cancel_import(request.user, run):
            raise PermissionDenied(
                "Only the user who started this import, their Sales Manager or Sales Ops can "
                "import its file again."
            )
        if not import_run_interrupted(run):
            messages.info(
                request,
                f"Import {run.pk} is {run.get_status_display().lower()}, so nothing was started.",
            )
            return redirect("accounts:import-detail", pk=run.pk)
        try:
            # Without a broker the import would wait in this request for the running job.
            running_writer_check(f"importing the file of import {run.pk} again")
        except WriterAlreadyRunning as error:
            messages.error(request, str(error))
            return redirect("accounts:import-detail", pk=run.pk)
        logger.info("user %s imports the file of interrupted run %s again", request.user.pk, run.pk)
        try:
            accounts_import_task.delay(run.pk)
        except ImportFileError as error:
            # Without a broker the task ran here, and the run stores the failure.
            logger.info("import run %s failed again: %s", run.pk, error)
        except BROKER_ERRORS as error:
            logger.error("import run %s could not be queued again: %r", run.pk, error)
            messages.error(
                request,
                f"Import {run.pk} could not be started again because the task queue is not "
                f"reachable ({error}). Try again later, or ask an admin to check Redis.",
            )
        return redirect("accounts:import-detail", pk=run.pk)


class ImportRunScoringFinishView(ImportRunVisibleMixin, View):
    """Score the accounts of an import whose scoring did not finish, after a confirmation.

    Without a Celery broker the scoring runs inside this request.
    """

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self.get_run()
        if not can_finish_import_scoring(request.user):
            raise PermissionDenied("Only Sales Ops can finish the scoring of an import.")
        state = import_run_scoring_state(run)
        if state not in ("interrupted", "failed"):
            messages.info(
                request,
                f"The scoring of import {run.pk} is {state or 'not needed'}, so nothing was "
                "started.",
            )
            return redirect("accounts:import-detail", pk=run.pk)
        try:
            # Without a broker the scoring would wait in this request for the running job.
            running_writer_check(f"finishing the scoring of import {run.pk}")
        except WriterAlreadyRunning as error:
            messages.error(request, str(error))
            return redirect("accounts:import-detail", pk=run.pk)
        logger.info("user %s finishes the scoring of import run %s", request.user.pk, run.pk)
        try:
            accounts_import_task.delay(run.pk)
        except BROKER_ERRORS as error:
            logger.error("import run %s: the scoring could not be queued: %r", run.pk, error)
            messages.error(
                request,
                f"The scoring of import {run.pk} could not be started because the task queue "
                f"is not reachable ({error}). Try again later, or ask an admin to check Redis.",
            )
            return redirect("accounts:import-detail", pk=run.pk)
        run.refresh_from_db()
        state = import_run_scoring_state(run)
        if state == "succeeded":
            messages.success(request, f"The accounts of import {run.pk} are scored.")
        elif state == "running":
            # Without a broker, the task returns at once when another request scores the
            # import, such as the same button clicked in a second tab.
            messages.info(request, f"The scoring of import {run.pk} is running.")
        else:
            messages.success(request, f"The scoring of import {run.pk} has started.")
        return redirect("accounts:import-detail", pk=run.pk)


class ImportRunReportView(ImportRunVisibleMixin, View):
    """Download a run's rejected-rows report, with formula cells neutralized."""

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        run = self.get_run()
        if not run.report_path:
            raise Http404("This import rejected no rows, so it has no report.")
        folder = (Path(settings.MEDIA_ROOT) / REPORT_FOLDER).resolve()
        path = Path(run.report_path).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            logger.warning(
                "import run %s: report %s is missing or outside %s", run.pk, path, folder
            )
            raise Http404("The report file is gone.")
        handle = path.open(encoding="utf-8", newline="")
        response = StreamingHttpResponse(
            _closing_lines(handle), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="import-{run.pk}-rejected-rows.csv"'
        )
        return response


def _closing_lines(handle: Any) -> Any:
    try:
        yield from workspace.csv_neutralize_lines(csv.reader(handle))
    finally:
        handle.close()


class ImportRunListView(ImportPermissionMixin, NearestPageMixin, ListView):
    """Past imports with their counts, newest first."""

    template_name = "accounts/imports/import_list.html"
    context_object_name = "runs"
    paginate_by = IMPORT_PAGE_SIZE

    def get_queryset(self) -> Any:
        return selectors.import_runs_for(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sees_all"] = selectors.may_see_all_imports(self.request.user)
        context["new_url"] = reverse("accounts:import-upload")
        return context
