"""REST API views of accounts: CRUD with ETags, segment changes, notes and score history."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts import permissions as rules
from accounts import selectors
from accounts.models import Account, ResearchNote, SegmentOverride
from accounts.research import account_segment_override
from accounts.workspace.edits import (
    api_changed_values,
    api_values_record,
    changed_segment,
    domain_owner,
    domain_taken_message,
    fit_confirm_refusal,
    observed_values,
    research_note_create,
)
from accounts.workspace.flags import cleared_flags_reason, flags_unresolved
from accounts.workspace.notes import (
    NoteStaleError,
    NoteValues,
    research_note_delete,
    research_note_update,
)
from segmentation.models import ScoreRecord
from segmentation.signals import auto_resegmentation_paused
from segmentation.tags import active_tag_checker

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .etags import (
    etag_for,
    if_match_check,
    if_match_version_given,
    if_none_match_hit,
    precondition_failed,
)
from .filtersets import ResearchNoteFilterSet
from .pagination import IdCursorPagination
from .permissions import AccountPermission, HasSalesRole
from .serializers import (
    AccountDetailSerializer,
    AccountSerializer,
    AccountWriteSerializer,
    ResearchNoteChangedSerializer,
    ResearchNoteCreatedSerializer,
    ResearchNoteSerializer,
    ScoreRecordSerializer,
    SegmentChangeSerializer,
)
from .streams import AccountStreamMixin

logger = logging.getLogger(__name__)

IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="ETag of the version the change is based on. A stale ETag gets 412 and "
    "nothing changes, and so does the weak W/ form of any ETag, because If-Match compares "
    "strongly: send the ETag header's value as it is. Optional: without it the change "
    "applies to the current version.",
)

IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="ETags of the versions you hold, comma-separated, from earlier responses' "
    "ETag header; the weak W/ form matches too, and * matches any version. When one is "
    "current, the response is 304 Not Modified without a body. Optional.",
)


def account_resegment(account_id: int) -> None:
    """Score one account again after a client changed its fields, when scoring is installed.

    A failure is logged and not raised: the change itself is already saved.
    """
    try:
        from segmentation.services import accounts_segment
    except ImportError:
        logger.info("account %s not rescored: segmentation.services is not available", account_id)
        return
    try:
        accounts_segment(account_ids=[account_id])
    except LookupError as error:  # NoActiveFrameworkError
        logger.info("account %s not rescored: %s", account_id, error)
    except Exception:
        logger.exception("rescoring account %s after an API change failed", account_id)


def with_etag(response: Response, instance: Model) -> Response:
    response["ETag"] = etag_for(instance)
    return response


@extend_schema_view(
    list=extend_schema(
        summary="List accounts",
        description="Filters, ordering, `updated_since`, cursor pages; `?format=csv` or "
        "`Accept: text/csv` streams CSV.",
        responses={
            (200, "application/json"): AccountSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    ),
    retrieve=extend_schema(
        summary="Read an account",
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={
            200: AccountDetailSerializer,
            304: OpenApiResponse(description="Not modified: If-None-Match lists the current ETag."),
        },
    ),
    create=extend_schema(
        summary="Create an account",
        request=AccountWriteSerializer,
        responses={201: AccountDetailSerializer},
    ),
    update=extend_schema(
        summary="Replace an account's editable fields",
        request=AccountWriteSerializer,
        parameters=[IF_MATCH_PARAMETER],
        responses={200: AccountDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change some of an account's fields",
        request=AccountWriteSerializer,
        parameters=[IF_MATCH_PARAMETER],
        responses={200: AccountDetailSerializer},
    ),
    destroy=extend_schema(summary="Delete an account", parameters=[IF_MATCH_PARAMETER]),
)
class AccountViewSet(AccountStreamMixin, viewsets.ModelViewSet):
    """Accounts with the list page's filters, keyset pages, CSV, and ETag-checked changes.

    The ``ordering`` parameter belongs to AccountFilterSet, which adds the id as the last
    sort key. The cursor pagination uses the same columns, so pages never overlap.
    """

    permission_classes = [*BASE_PERMISSIONS, AccountPermission]

    def get_queryset(self) -> QuerySet[Account]:
        queryset = selectors.account_list_base(user=self.request.user)
        if self.action != "list":
            queryset = queryset.prefetch_related("identifiers")
        return queryset

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action in ("create", "update", "partial_update"):
            return AccountWriteSerializer
        if self.action == "list":
            return AccountSerializer
        return AccountDetailSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        if if_none_match_hit(request, account):
            return with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), account)
        return with_etag(
            Response(AccountDetailSerializer(account, context=self.get_serializer_context()).data),
            account,
        )

    def _reload(self, account_id: int) -> Account:
        return self.get_queryset().get(pk=account_id)

    def _save(self, serializer: AccountWriteSerializer, **extra: Any) -> Account:
        try:
            with transaction.atomic():
                return serializer.save(**extra)
        except IntegrityError as error:
            # Another request took the domain between the check and the save.
            domain = serializer.validated_data.get("domain") or ""
            other = domain_owner(domain, serializer.instance) if domain else None
            if other is None:
                message = "Another account already has this domain: update that account instead."
            else:
                message = domain_taken_message(other, domain, serializer.instance)
            raise ValidationError({"domain": [message]}) from error

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = AccountWriteSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        # account_resegment() below scores the account at once, so the save queues no
        # second run.
        with transaction.atomic(), auto_resegmentation_paused():
            account = self._save(serializer, source="api")
            api_values_record(account=account, before=observed_values(Account()), user=request.user)
        logger.info("account %s created through the API by user %s", account.pk, request.user.pk)
        account_resegment(account.pk)
        account = self._reload(account.pk)
        data = AccountDetailSerializer(account, context=self.get_serializer_context()).data
        # str(): the url is DRF's Hyperlink, which WSGI servers reject as a header value.
        response = Response(
            data, status=status.HTTP_201_CREATED, headers={"Location": str(data["url"])}
        )
        return with_etag(response, account)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        visible = self.get_object()
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=visible.pk)
            self.check_object_permissions(request, account)
            if_match_check(request, account)
            serializer = AccountWriteSerializer(
                account, data=request.data, partial=partial, context=self.get_serializer_context()
            )
            serializer.is_valid(raise_exception=True)
            changed_values = api_changed_values(account, serializer.validated_data)
            if not changed_values:
                # Nothing changes, so the account keeps its version, ETag and trail.
                account = self._reload(account.pk)
                data = AccountDetailSerializer(account, context=self.get_serializer_context())
                return with_etag(Response(data.data), account)
            # As on the account page, a new value clears the review flags about its field.
            extra: dict[str, Any] = {}
            flags = list(account.review_flags or [])
            remaining = flags_unresolved(flags, changed_values)
            if len(remaining) != len(flags):
                extra["review_flags"] = remaining
                account._change_reason = cleared_flags_reason(flags, remaining)
            # account_resegment() below scores the account at once, so the save queues no
            # second run.
            # As on the account page, a changed value is recorded as the user's entry, so
            # verification keeps it and a later import does not replace it.
            before = observed_values(account)
            with auto_resegmentation_paused():
                self._save(serializer, **extra)
                api_values_record(account=account, before=before, user=request.user)
        logger.info("account %s changed through the API by user %s", account.pk, request.user.pk)
        account_resegment(account.pk)
        account = self._reload(account.pk)
        data = AccountDetailSerializer(account, context=self.get_serializer_context()).data
        return with_etag(Response(data), account)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        visible = self.get_object()
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=visible.pk)
            if_match_check(request, account)
            account.delete()
        logger.info("account %s deleted through the API by user %s", visible.pk, request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountChildMixin(JsonErrorsMixin):
    """Views under /accounts/{account_pk}/ that need the account the URL names."""

    def get_account(self) -> Account:
        if not hasattr(self, "_account"):
            queryset = selectors.account_list_base(user=self.request.user)
            self._account = get_object_or_404(queryset, pk=self.kwargs["account_pk"])
        return self._account


@extend_schema(summary="List an account's score history, newest first")
class AccountScoreListView(AccountChildMixin, generics.ListAPIView):
    """Every stored segmentation result of one account, including manual overrides."""

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = ScoreRecordSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[ScoreRecord]:
        if getattr(self, "swagger_fake_view", False):
            return ScoreRecord.objects.none()
        return ScoreRecord.objects.filter(account=self.get_account()).select_related("framework")


class AccountNoteMixin(AccountChildMixin):
    """Views of the research notes of the account that the URL names."""

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]

    def get_queryset(self) -> QuerySet[ResearchNote]:
        if getattr(self, "swagger_fake_view", False):
            return ResearchNote.objects.none()
        return ResearchNote.objects.filter(account=self.get_account()).select_related("author")


@extend_schema_view(
    get=extend_schema(summary="List an account's research notes, newest first"),
    post=extend_schema(
        summary="Add a research note to an account",
        request=ResearchNoteSerializer,
        responses={201: ResearchNoteCreatedSerializer},
    ),
)
class AccountNoteListView(AccountNoteMixin, generics.ListCreateAPIView):
    """Research notes of one account. Adding one needs edit rights on the account."""

    serializer_class = ResearchNoteSerializer
    pagination_class = IdCursorPagination
    filterset_class = ResearchNoteFilterSet

    def get_serializer_class(self) -> type[ResearchNoteSerializer]:
        if self.request is not None and self.request.method == "POST":
            return ResearchNoteCreatedSerializer
        return ResearchNoteSerializer

    def perform_create(self, serializer: ResearchNoteSerializer) -> None:
        account = self.get_account()
        if not rules.can_add_note(self.request.user, account):
            raise PermissionDenied(
                f"You cannot add notes to account {account.pk}: you may add them to accounts "
                "you own, your team's, or unassigned ones, depending on your role."
            )
        # As on the account page: a recent funding, hire or expansion note adds its buying
        # signal to the account and scores it again.
        values = serializer.validated_data
        result = research_note_create(
            account=account,
            user=self.request.user,
            kind=values.get("kind", ResearchNote.Kind.OTHER),
            text=values["text"],
            source_url=values.get("source_url", ""),
            happened_on=values.get("happened_on"),
        )
        result.note.buying_signal_added = result.signal or None
        serializer.instance = result.note


@extend_schema_view(
    get=extend_schema(
        summary="Read a research note",
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={
            200: ResearchNoteSerializer,
            304: OpenApiResponse(description="Not modified: If-None-Match lists the current ETag."),
        },
    ),
    patch=extend_schema(
        summary="Change a published research note's kind, text, source link or date",
        parameters=[IF_MATCH_PARAMETER],
        description="Only the note's author, their Sales Manager, the Sales Manager of the "
        "account's team, or Sales Ops may change it. A note proposed by enrichment is "
        "published or dismissed on the account page instead, so changing it returns 400. "
        "A change that makes the note no longer give its buying signal takes the signal off "
        "the account, unless another published note or another source gives it.",
        request=ResearchNoteSerializer,
        responses={200: ResearchNoteChangedSerializer},
    ),
    delete=extend_schema(
        summary="Delete a published research note",
        parameters=[IF_MATCH_PARAMETER],
        description="The same people as for a change may delete it. The audit trail keeps "
        "the deleted note's values with the user and the time. The note's buying signal "
        "leaves the account, unless another published note or another source gives it.",
    ),
)
class AccountNoteDetailView(AccountNoteMixin, generics.RetrieveUpdateDestroyAPIView):
    """One research note of one account, changed or deleted as on the account page.

    GET and PATCH return the note's ETag, and PATCH and DELETE take If-Match as the
    account endpoints do.
    """

    serializer_class = ResearchNoteSerializer
    # The note that PATCH saved, for the response's ETag.
    changed_note: ResearchNote
    # A note has four writable fields, so PATCH covers what PUT would.
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_serializer_class(self) -> type[ResearchNoteSerializer]:
        if self.request is not None and self.request.method == "PATCH":
            return ResearchNoteChangedSerializer
        return ResearchNoteSerializer

    def get_object(self) -> ResearchNote:
        """Return the URL's note, checked against If-Match for a change."""
        note = super().get_object()
        note.account = self.get_account()
        if self.request.method in SAFE_METHODS:
            return note
        if not rules.can_change_note(self.request.user, note):
            raise PermissionDenied(rules.note_change_denied_message(self.request.user, note))
        if_match_check(self.request, note)
        return note

    def if_match_version(self, note: ResearchNote) -> datetime | None:
        """Return the version that If-Match named, for the service to check under its lock.

        get_object compared If-Match with the note as read, before the service locked it,
        so the service rejects a change made in between. None applies the change to
        whatever is current.
        """
        return note.updated_at if if_match_version_given(self.request) else None

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        note = self.get_object()
        if if_none_match_hit(request, note):
            return with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), note)
        return with_etag(Response(self.get_serializer(note).data), note)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().update(request, *args, **kwargs)
        return with_etag(response, self.changed_note)

    def perform_update(self, serializer: ResearchNoteSerializer) -> None:
        note = serializer.instance
        sent = serializer.validated_data
        values = NoteValues(
            kind=sent.get("kind", note.kind),
            text=sent.get("text", note.text),
            source_url=sent.get("source_url", note.source_url),
            happened_on=sent.get("happened_on", note.happened_on),
        )
        try:
            result = research_note_update(
                note=note,
                user=self.request.user,
                values=values,
                version=self.if_match_version(note),
            )
        except NoteStaleError as error:
            raise precondition_failed(error.note) from error
        result.note.buying_signal_added = result.signal or None
        result.note.buying_signal_removed = result.removed_signal or None
        serializer.instance = self.changed_note = result.note

    def perform_destroy(self, instance: ResearchNote) -> None:
        try:
            research_note_delete(
                note=instance, user=self.request.user, version=self.if_match_version(instance)
            )
        except NoteStaleError as error:
            raise precondition_failed(error.note) from error


def _may_change_segment(user: Any, account: Account, kind: str) -> bool:
    if kind == SegmentOverride.Kind.FIT_VALIDATION:
        return rules.can_validate_fit(user, account)
    if kind in (SegmentOverride.Kind.REVIEW_CORRECTION, SegmentOverride.Kind.REVIEW_CONFIRMATION):
        return rules.can_review_account(user, account)
    return rules.can_research_account(user, account)


def _segment_denied_message(user: Any, account: Account, kind: str) -> str:
    """Return why ``user`` may not make a ``kind`` change, naming the owner as the page does."""
    if kind == SegmentOverride.Kind.MANUAL_TAG:
        return rules.research_denied_message(user, account)
    ask = "Ask the owner or their manager."
    if account.owner_id is None:
        owner = "is unassigned"
    elif account.owner_id == user.pk:
        owner, ask = "you own", "Ask your manager."
    else:
        owner = f"{account.owner.get_full_name() or account.owner.get_username()} owns"
    if kind == SegmentOverride.Kind.FIT_VALIDATION:
        rule = "the AE who owns an account and their Sales Manager validate its fit"
    else:
        rule = (
            "Sales Managers review their team's accounts and unassigned ones, with the review kinds"
        )
    return f"You cannot make a {kind} change on account {account.pk}, which {owner}: {rule}. {ask}"


@extend_schema(
    summary="Change or confirm an account's tag and tier",
    request=SegmentChangeSerializer,
    parameters=[IF_MATCH_PARAMETER],
    responses={200: AccountDetailSerializer},
)
class AccountSegmentView(AccountChildMixin, mixins.CreateModelMixin, generics.GenericAPIView):
    """Set the tag and/or tier by hand with a reason; re-segmentation keeps the change.

    The change is stored as a SegmentOverride and a ScoreRecord, so it shows in the score
    history and sends the tier and tag webhooks.
    """

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = SegmentChangeSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SegmentChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        visible = self.get_account()
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=visible.pk)
            if not _may_change_segment(request.user, account, values["kind"]):
                message = _segment_denied_message(request.user, account, values["kind"])
                raise PermissionDenied(message)
            if_match_check(request, account)
            if values["kind"] == SegmentOverride.Kind.FIT_VALIDATION and not values.get("tag"):
                # As on the account page: an account without a tag has no segment to confirm.
                refusal = fit_confirm_refusal(account)
                if refusal:
                    raise ValidationError({"tag": [refusal]})
            if values["kind"] == SegmentOverride.Kind.MANUAL_TAG and changed_segment(
                account, values.get("tag") or "", values.get("tier") or "", active_tag_checker()
            ) == (None, None):
                # As on the account page: a manual change must change something, and a
                # confirmation has its own kinds, which the review counts.
                raise ValidationError(
                    {
                        "tag": [
                            "The tag and tier are unchanged: change one of them, or confirm "
                            "the segment with kind review_confirmation or fit_validation."
                        ]
                    }
                )
            account_segment_override(
                account=account,
                user=request.user,
                kind=values["kind"],
                reason=values["reason"],
                tag=values.get("tag"),
                tier=values.get("tier"),
            )
        account = (
            selectors.account_list_base(user=request.user)
            .prefetch_related("identifiers")
            .get(pk=account.pk)
        )
        data = AccountDetailSerializer(account, context=self.get_serializer_context()).data
        return with_etag(Response(data), account)
