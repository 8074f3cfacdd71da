"""Account imports over the API: upload a file, follow the run, download rejected rows."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.http import QueryDict, StreamingHttpResponse
from django.urls import reverse
from django.utils.text import get_valid_filename
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.importing.errors import ImportAlreadyRunning, ImportFileError, ImportNotCancellable
from accounts.importing.fingerprints import OVERRIDE_API, SameFileImported
from accounts.importing.sources import source_name_normalize
from accounts.importing.uploads import (
    upload_check,
    upload_content_check,
    upload_records_count,
)
from accounts.models import ImportRun
from accounts.permissions import can_cancel_import
from accounts.selectors import import_runs_for
from accounts.services import (
    import_run_cancel,
    import_run_create,
    import_run_interrupted,
    import_run_scoring_state,
)
from accounts.tasks import BROKER_ERRORS, accounts_import_task
from accounts.workspace.imports import NEW_ACCOUNTS_OWNER_CHOICES, new_accounts_owner_for

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .exports import CSV_CONTENT_TYPE, csv_cell
from .field_messages import DetailedFieldErrorsMixin
from .filtersets import ImportRunFilterSet
from .pagination import IdCursorPagination
from .permissions import ImportPermission
from .schema import ErrorSerializer
from .serializers import unknown_field_message
from .throttling import ApiScopedThrottle

logger = logging.getLogger(__name__)

UPLOAD_FOLDER = "api-imports"


# An import run's identity, status and counts, which every reader of runs may see.
IMPORT_RUN_COUNT_FIELDS = [
    "id",
    "source",
    "file_name",
    "status",
    "is_dry_run",
    "total_rows",
    "rows_read",
    "created",
    "updated",
    "unchanged",
    "merged",
    "rejected",
    "skipped_blank",
    "flagged",
    "rows_not_reached",
]


class ImportRunSerializer(serializers.ModelSerializer):
    """An import run with its progress, counts and the URL of its rejected-rows report."""

    report_url = serializers.SerializerMethodField(
        help_text="CSV of the rejected rows; null when no row was rejected."
    )
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    cancel_requested_by = serializers.CharField(
        source="cancel_request.requested_by.username",
        read_only=True,
        allow_null=True,
        help_text="Username of who asked to cancel the run; null when nobody did.",
    )
    cancel_requested_at = serializers.DateTimeField(
        source="cancel_request.requested_at",
        read_only=True,
        allow_null=True,
        help_text="When the cancel was requested; null when nobody did.",
    )

    scoring_status = serializers.SerializerMethodField(
        help_text=(
            "Scoring of the imported accounts, which starts when the import has finished: "
            "running, succeeded, failed, or interrupted when the process that scored them "
            "stopped (Sales Ops finish it on the import's page). Null when the run scores "
            "nothing: a dry run, no imported account, or no approved framework."
        )
    )
    interrupted = serializers.SerializerMethodField(
        help_text=(
            "True for a run marked running while no process imports it, because the process "
            "that imported it stopped. Its page offers to import the file again."
        )
    )
    scoring_run = serializers.PrimaryKeyRelatedField(
        source="segmentation_run",
        read_only=True,
        help_text="Id of the segmentation run that scores the imported accounts, or null.",
    )

    class Meta:
        model = ImportRun
        fields = [
            *IMPORT_RUN_COUNT_FIELDS,
            "interrupted",
            "scoring_status",
            "scoring_run",
            "encoding",
            "encoding_warning",
            "error",
            "file_sha256",
            "allow_same_file",
            "report_url",
            "created_by",
            "cancel_requested_by",
            "cancel_requested_at",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_interrupted(self, run: ImportRun) -> bool:
        return import_run_interrupted(run)

    def get_scoring_status(self, run: ImportRun) -> str | None:
        return import_run_scoring_state(run)

    def get_report_url(self, run: ImportRun) -> str | None:
        if not run.report_path:
            return None
        request = self.context.get("request")
        url = f"/api/v1/imports/{run.pk}/report/"
        return request.build_absolute_uri(url) if request is not None else url


class ImportUploadSerializer(DetailedFieldErrorsMixin, serializers.Serializer):
    # Empty files and long source names get the messages of the checks shared with the
    # import page, so the fields leave those cases to them.
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=(
            "CSV, TSV or JSON export of companies, ending in .csv, .tsv, .json or .txt, "
            "at most 200 MB by default (the ICP_IMPORT_MAX_UPLOAD_BYTES setting)."
        ),
    )
    source = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "Source name such as hubspot: at most 50 letters, digits, dots, dashes or "
            "underscores, stored lower case. manual and unrecorded are reserved. Detected from the "
            "columns when left out."
        ),
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Match and count every row, then roll back."
    )
    allow_same_file = serializers.BooleanField(
        default=False,
        help_text=(
            "Import a file whose content an earlier import read under another source name. "
            "Its values then count as a second, independent source and can become verified. "
            "Without it such an upload gets 409."
        ),
    )

    new_accounts_owner = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "Owner of the accounts that the import creates: me (the default for SDRs and AEs) "
            "or none to leave them unassigned (the default for other roles). Accounts that "
            "the file updates keep their owner."
        ),
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # DRF drops unknown form fields and keeps the last of repeated ones, so "dryrun=true"
        # or "dry_run=true&dry_run=false" would import for real.
        if isinstance(data, QueryDict):
            writable = list(self.fields)
            errors: dict[str, list[str]] = {}
            for name, values in data.lists():
                if name not in self.fields:
                    errors[name] = [unknown_field_message(name, writable, "an import upload")]
                elif len(values) > 1:
                    errors[name] = [
                        f"{name} was sent {len(values)} times: send each form field once."
                    ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def validate_new_accounts_owner(self, choice: str) -> str:
        choice = choice.strip().lower()
        if choice and choice not in NEW_ACCOUNTS_OWNER_CHOICES:
            raise serializers.ValidationError(
                f"“{choice}” is not an owner choice: use me to own the new accounts, or none "
                "to leave them unassigned."
            )
        return choice

    def validate_source(self, source: str) -> str:
        try:
            return source_name_normalize(source)
        except ImportFileError as error:
            raise serializers.ValidationError(str(error)) from error

    def validate_file(self, upload: Any) -> Any:
        # The import page runs the same check, so both accept the same files.
        upload_check(upload)
        return upload


def _store_upload(upload: Any) -> Path:
    # A random folder per upload keeps the client's file name, which the run shows.
    folder = Path(settings.MEDIA_ROOT) / UPLOAD_FOLDER / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    name = get_valid_filename(Path(upload.name).name) or "upload.csv"
    path = folder / name
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return path


def _records_count_or_none(path: Path) -> int | None:
    """Count the upload's records for the run's progress, or return None when that fails.

    A file that cannot be read to its end still gets a run, whose import then fails with
    the reason and the row, as it did before the count.
    """
    try:
        return upload_records_count(path)
    except (ImportFileError, UnicodeDecodeError) as error:
        logger.info("the records of the upload %s could not be counted: %s", path, error)
        return None


def _discard_upload(path: Path) -> None:
    """Delete a stored upload that no import run uses, and its random folder."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        logger.warning("could not delete the folder of the upload %s", path, exc_info=True)


class ImportConflict(APIException):
    """Error 409 for a request that the state of the imports rejects.

    Raised for a cancel of a finished run, and for a file whose content was imported before
    under another source name.
    """

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class TaskQueueUnavailable(APIException):
    """The broker could not be reached, so the import run was marked failed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"


def _enqueue(run_id: int) -> str:
    """Queue the run's task and return "", or when the broker is down, the run's new error."""
    try:
        accounts_import_task.delay(run_id)
    except (ImportFileError, DatabaseError) as error:
        # Without a broker the task runs here; the run already records the failure.
        logger.info("import run %s failed: %s", run_id, error)
    except BROKER_ERRORS as error:
        logger.error("import run %s could not be queued: %r", run_id, error)
        message = (
            f"Import run {run_id} could not be started because the task queue is not "
            f"reachable ({error}). Upload the file again later, or ask an admin to check Redis."
        )
        ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.PENDING).update(
            status=ImportRun.Status.FAILED, error=message
        )
        return message
    return ""


def _neutralized_report(path: Path) -> Iterator[bytes]:
    """Yield the report re-written with formula-like cells neutralized, as an export would be."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            writer.writerow([csv_cell(cell) for cell in row])
            if buffer.tell() >= 64 * 1024:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


@extend_schema_view(
    list=extend_schema(summary="List import runs, newest first"),
    retrieve=extend_schema(summary="Read an import run's status and counts"),
    create=extend_schema(
        summary="Upload a file to import",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportRunSerializer, 409: ErrorSerializer, 503: ErrorSerializer},
    ),
)
class ImportRunViewSet(
    JsonErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Imports run in the background: the upload returns 202 with the run to poll."""

    permission_classes = [*BASE_PERMISSIONS, ImportPermission]
    serializer_class = ImportRunSerializer
    pagination_class = IdCursorPagination
    filterset_class = ImportRunFilterSet
    parser_classes = [MultiPartParser]
    throttle_scope = "imports"

    def get_throttles(self) -> list:
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(ApiScopedThrottle())
        return throttles

    def get_queryset(self) -> QuerySet[ImportRun]:
        # The same runs as the import pages: Sales Ops and Sales Managers see every run.
        return import_runs_for(self.request.user).select_related(
            "cancel_request__requested_by", "segmentation_run"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        values = upload.validated_data
        path = _store_upload(values["file"])
        client_name = Path(values["file"].name or "").name[:255]
        try:
            upload_content_check(path, file_name=client_name or path.name)
        except ImportFileError as error:
            _discard_upload(path)
            raise ValidationError({"file": [str(error)]}) from error
        owner = new_accounts_owner_for(request.user, values.get("new_accounts_owner"))
        try:
            run = import_run_create(
                path,
                source=values.get("source", ""),
                dry_run=values["dry_run"],
                created_by=request.user,
                allow_same_file=values["allow_same_file"],
                total_rows=_records_count_or_none(path),
                new_accounts_owner=owner,
            )
        except SameFileImported as error:
            _discard_upload(path)
            raise ImportConflict(str(error.for_override(OVERRIDE_API))) from error
        except ImportAlreadyRunning as error:
            _discard_upload(path)
            message = str(error)
            if error.running is not None:
                url = reverse("import-run-detail", args=[error.running.pk])
                message = f"{message} Its status is at {url}."
            raise ImportConflict(message) from error
        except ImportFileError as error:
            _discard_upload(path)
            raise ValidationError({"source": [str(error)]}) from error
        # The stored name is made safe for the disk. The run shows the name the client sent.
        if client_name and client_name != run.file_name:
            run.file_name = client_name
            run.save(update_fields=["file_name"])
        logger.info(
            "import run %s of %s queued through the API by user %s",
            run.pk,
            path.name,
            request.user.pk,
        )
        queue_errors: list[str] = []
        # Outside a transaction on_commit runs the callback at once, so a broker error is
        # known before the response. Inside an atomic block the callback runs after the
        # commit, and the run is then marked failed although the response was 202.
        transaction.on_commit(lambda: queue_errors.append(_enqueue(run.pk)))
        if any(queue_errors):
            raise TaskQueueUnavailable("".join(queue_errors))
        run.refresh_from_db()
        data = ImportRunSerializer(run, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Download the rejected rows of an import run as CSV",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        run = self.get_object()
        path = Path(run.report_path) if run.report_path else None
        if path is None or not path.is_file():
            raise NotFound(f"Import run {run.pk} has no rejected-rows report: no row was rejected.")
        response = StreamingHttpResponse(_neutralized_report(path), content_type=CSV_CONTENT_TYPE)
        # The same name as the download from the import page.
        response["Content-Disposition"] = (
            f'attachment; filename="import-{run.pk}-rejected-rows.csv"'
        )
        return response

    @extend_schema(
        summary="Cancel a pending or running import run",
        description=(
            "A pending run is cancelled at once. A running run stops after the batch it is "
            "writing: rows imported until then stay, and rows_not_reached counts the rows "
            "after it once the run is cancelled. Asking again returns the run unchanged."
        ),
        request=None,
        responses={200: ImportRunSerializer, 403: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        if not can_cancel_import(request.user, run):
            raise PermissionDenied(
                f"Only the user who started import run {run.pk}, their Sales Manager or Sales "
                "Ops can cancel it."
            )
        try:
            import_run_cancel(run, user=request.user)
        except ImportNotCancellable as error:
            raise ImportConflict(str(error)) from error
        run = self.get_queryset().get(pk=run.pk)
        return Response(ImportRunSerializer(run, context=self.get_serializer_context()).data)
