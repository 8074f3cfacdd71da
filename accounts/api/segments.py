"""Segments: the distinct tags, the route lists (Outbound, Nurture …) and saved filters.

Each segment has a ``members`` endpoint that lists its accounts like ``/accounts/`` does:
with the same filters, cursor pages, ``updated_since`` and CSV.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.filtersets import MISSPELLING_CUTOFF, OWNER_ME, AccountFilterSet
from accounts.models import Account
from integrations.models import SavedSegment
from segmentation.tags import active_tag_checker

from .base import BASE_PERMISSIONS, JsonErrorsMixin
from .exports import CSVRenderer
from .field_messages import DetailedFieldErrorsMixin
from .filtersets import SavedSegmentFilterSet
from .pagination import IdCursorPagination
from .permissions import HasSalesRole, SavedSegmentPermission
from .serializers import AccountSerializer, unknown_field_message
from .streams import AccountStreamMixin

# Parameters of the account list that a saved segment may not store.
UNSAVED_FILTERS = {"ordering"}


def owner_me_resolved(filters: dict[str, str], owner_id: int) -> dict[str, str]:
    """Return ``filters`` with ``owner=me`` replaced by the segment owner's user id.

    A shared segment must list the same accounts to everyone who pulls it, so "me" means
    the user who saved it, not the viewer.
    """
    if filters.get("owner") != OWNER_ME:
        return filters
    return {**filters, "owner": str(owner_id)}


def unknown_filters_message(unknown: list[str], known: list[str]) -> str:
    """Return the error for saved filters that the account list lacks, as the URL filters do.

    Each name that looks like a misspelt filter gets the filter as a hint, with the
    similarity cutoff of the URL filters' check.
    """
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=MISSPELLING_CUTOFF)
        if close and len(unknown) == 1:
            hints.append(f"did you mean {close[0]}?")
        elif close:
            hints.append(f"did you mean {close[0]} for {name}?")
    verb = "is not a filter" if len(unknown) == 1 else "are not filters"
    message = f"{', '.join(unknown)} {verb} of the account list: "
    if hints:
        message += " ".join(hints) + " Use "
    else:
        message += "use "
    return message + f"{', '.join(known)}."


MEMBERS_SCHEMA = extend_schema(
    responses={
        (200, "application/json"): AccountSerializer(many=True),
        (200, "text/csv"): OpenApiTypes.STR,
    },
)


class SegmentSerializer(serializers.Serializer):
    """A tag or route with its account count and the URL of its members."""

    name = serializers.CharField()
    account_count = serializers.IntegerField()
    members_url = serializers.URLField()


def _segment_rows(request: Request, rows: list[tuple[str, int]], url_name: str) -> list[dict]:
    return [
        {
            "name": name,
            "account_count": count,
            "members_url": request.build_absolute_uri(reverse(url_name, args=[name])),
        }
        for name, count in rows
    ]


def check_path_text(kwargs: Mapping[str, str], name: str) -> None:
    """Raise ValidationError when the URL's ``name`` part contains a NUL character.

    PostgreSQL text cannot contain NUL, so a query with one fails instead of matching nothing.
    """
    value = kwargs[name]
    if "\x00" in value:
        raise serializers.ValidationError(
            {
                name: [
                    f"The {name} {value!r} contains a NUL character (%00): remove it from the URL."
                ]
            }
        )


def _counts(queryset: QuerySet[Account], field: str) -> dict[str, int]:
    rows = queryset.exclude(**{field: ""}).order_by().values(field).annotate(count=Count("id"))
    return {row[field]: row["count"] for row in rows}


@extend_schema(
    summary="List the distinct tags with their account counts",
    responses=SegmentSerializer(many=True),
)
class TagListView(JsonErrorsMixin, generics.GenericAPIView):
    queryset = Account.objects.none()  # Names the model for the schema; get() reads the counts.
    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = SegmentSerializer
    pagination_class = None

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        accounts = selectors.account_list_base(user=request.user).filter(selectors.TAG_IN_EFFECT)
        counts = _counts(accounts, "tag")
        rows = sorted(counts.items())
        return Response(
            SegmentSerializer(_segment_rows(request, rows, "segment-tag-members"), many=True).data
        )


@extend_schema(
    summary="List the routes (Outbound, Nurture …) with their account counts",
    responses=SegmentSerializer(many=True),
)
class RouteListView(JsonErrorsMixin, generics.GenericAPIView):
    """Routes that accounts have, plus the routes of any framework version (count 0)."""

    queryset = Account.objects.none()  # Names the model for the schema; get() reads the counts.
    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = SegmentSerializer
    pagination_class = None

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        counts = _counts(selectors.account_list_base(user=request.user), "route")
        for route, _ in selectors.route_choices():
            counts.setdefault(route, 0)
        rows = sorted(counts.items())
        return Response(
            SegmentSerializer(_segment_rows(request, rows, "segment-route-members"), many=True).data
        )


@extend_schema_view(get=MEMBERS_SCHEMA)
@extend_schema(summary="List the accounts with one tag")
class TagMembersView(AccountStreamMixin, generics.ListAPIView):
    """Accounts with the tag ``tag`` (URL-encoded), in the active framework's spelling.

    An unknown tag lists none, and an account that needs enrichment is left out even when
    a person set its tag (see selectors.TAG_IN_EFFECT).
    """

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = AccountSerializer
    default_ordering = "-score"

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):
            return Account.objects.none()
        return self.get_account_queryset().filter(selectors.TAG_IN_EFFECT, tag=self.kwargs["tag"])

    def get_csv_filename(self) -> str:
        return f"tag-{slugify(self.kwargs['tag']) or 'segment'}"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        check_path_text(self.kwargs, "tag")
        if request.accepted_renderer.format == CSVRenderer.format:
            self.tag_resolve()
            return super().list(request, *args, **kwargs)
        # The spelling is checked only when a page is empty, so that a page of a tag as
        # the framework spells it costs no query more.
        response = super().list(request, *args, **kwargs)
        if response.data.get("results") or not self.tag_resolve():
            return response
        return super().list(request, *args, **kwargs)

    def tag_resolve(self) -> bool:
        """Replace the URL's tag by the active framework's spelling, as the tag filter does.

        So ``SaaS - SMB - US`` and ``saas – smb – us`` list the accounts tagged
        ``SaaS – SMB – US``. Returns whether the tag changed.
        """
        tag = self.kwargs["tag"]
        tags = active_tag_checker()
        spelled = tags.spelling(tag) if tags is not None else tag.strip()
        if spelled == tag:
            return False
        self.kwargs["tag"] = spelled
        return True


@extend_schema_view(get=MEMBERS_SCHEMA)
@extend_schema(summary="List the accounts on one route, such as Outbound or Nurture")
class RouteMembersView(AccountStreamMixin, generics.ListAPIView):
    """Accounts whose route is ``route``, highest score first by default."""

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = AccountSerializer
    default_ordering = "-score"

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):
            return Account.objects.none()
        return self.get_account_queryset().filter(route=self.kwargs["route"])

    def get_csv_filename(self) -> str:
        return f"route-{slugify(self.kwargs['route']) or 'segment'}"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        check_path_text(self.kwargs, "route")
        if request.accepted_renderer.format == CSVRenderer.format:
            self.route_resolve()
            return super().list(request, *args, **kwargs)
        # The route is checked only when a page is empty, so that a page of a route as
        # the framework spells it costs no query more.
        response = super().list(request, *args, **kwargs)
        if response.data.get("results") or not self.route_resolve():
            return response
        return super().list(request, *args, **kwargs)

    def route_resolve(self) -> bool:
        """Replace the URL's route by the framework's spelling when only the case differs.

        Returns whether the route changed. Raises NotFound, listing the known routes, for
        a route that no scored framework version assigns and no account has.
        """
        route = self.kwargs["route"]
        known = [name for name, _ in selectors.route_choices()]
        if route in known:
            return False
        canonical = next((name for name in known if name.casefold() == route.casefold()), None)
        if canonical is not None:
            self.kwargs["route"] = canonical
            return True
        if self.get_account_queryset().filter(route=route).exists():
            return False
        listed = ", ".join(known) if known else "none yet"
        raise NotFound(
            f"No route is named “{route}”: use one of the routes of the scored framework "
            f"versions ({listed}), as GET /api/v1/segments/routes/ lists them."
        )


class SavedSegmentSerializer(DetailedFieldErrorsMixin, serializers.ModelSerializer):
    """A saved account filter; ``filters`` takes the parameters of the account list."""

    owner = serializers.CharField(source="owner.username", read_only=True)
    members_url = serializers.SerializerMethodField()
    filters = serializers.DictField(
        child=serializers.CharField(max_length=255, allow_blank=True),
        help_text='Account list filters, such as {"tier": "high", "geography": "EMEA"}. '
        "owner=me is stored as the segment owner's user id, so a shared segment lists the "
        "same accounts to everyone. ordering is not a filter and gets 400: pass it to "
        "members_url instead, such as ?ordering=name.",
    )

    class Meta:
        model = SavedSegment
        fields = [
            "id",
            "name",
            "filters",
            "is_shared",
            "owner",
            "owner_id",
            "members_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "owner_id", "members_url", "created_at", "updated_at"]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # DRF drops unknown keys, so {"shared": true} would save a private segment.
        if isinstance(data, Mapping):
            writable = [name for name, field in self.fields.items() if not field.read_only]
            errors = {
                name: [unknown_field_message(name, writable, "a saved segment")]
                for name in data
                if name not in self.fields
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def get_members_url(self, segment: SavedSegment) -> str:
        url = reverse("saved-segment-members", args=[segment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("The name is empty: name the segment.")
        request = self.context["request"]
        owner_id = self.instance.owner_id if self.instance is not None else request.user.pk
        clash = SavedSegment.objects.filter(owner_id=owner_id, name=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                f"A saved segment named {value!r} already exists: choose another name."
            )
        return value

    def validate_filters(self, value: dict[str, str]) -> dict[str, str]:
        unsaved = sorted(UNSAVED_FILTERS & set(value))
        if unsaved:
            raise serializers.ValidationError(
                f"{unsaved[0]} is not a filter, so a saved segment does not store it: leave it "
                f"out of filters and pass it to the segment's members_url, such as "
                f"?{unsaved[0]}=name."
            )
        known = set(AccountFilterSet.base_filters) - UNSAVED_FILTERS
        unknown = sorted(set(value) - known)
        if unknown:
            raise serializers.ValidationError(unknown_filters_message(unknown, sorted(known)))
        request_user_id = self.context["request"].user.pk
        filterset = AccountFilterSet(data=value, queryset=Account.objects.none())
        if not filterset.is_valid():
            messages = [
                f"{name}: {' '.join(str(error) for error in errors)}"
                for name, errors in filterset.errors.items()
            ]
            raise serializers.ValidationError(messages)
        owner_id = self.instance.owner_id if self.instance is not None else request_user_id
        return owner_me_resolved(
            {name: text for name, text in value.items() if text != ""}, owner_id
        )


@extend_schema_view(
    list=extend_schema(summary="List your saved segments and the shared ones"),
    retrieve=extend_schema(summary="Read a saved segment"),
    create=extend_schema(summary="Save a segment"),
    update=extend_schema(summary="Replace a saved segment"),
    partial_update=extend_schema(summary="Change a saved segment"),
    destroy=extend_schema(summary="Delete a saved segment"),
)
class SavedSegmentViewSet(JsonErrorsMixin, viewsets.ModelViewSet):
    """Saved filters: each user sees their own and the shared ones and changes only their own."""

    permission_classes = [*BASE_PERMISSIONS, SavedSegmentPermission]
    # Writes need a token with the segments scope, which Marketing may hold, or with write.
    write_scope = "segments"
    serializer_class = SavedSegmentSerializer
    pagination_class = IdCursorPagination
    filterset_class = SavedSegmentFilterSet

    def get_queryset(self) -> QuerySet[SavedSegment]:
        user = self.request.user
        return SavedSegment.objects.filter(Q(owner_id=user.pk) | Q(is_shared=True)).select_related(
            "owner"
        )

    def perform_create(self, serializer: SavedSegmentSerializer) -> None:
        serializer.save(owner=self.request.user)


@extend_schema_view(get=MEMBERS_SCHEMA)
@extend_schema(summary="List the accounts that match a saved segment")
class SavedSegmentMembersView(AccountStreamMixin, generics.ListAPIView):
    """Accounts matching the saved filters; request filters narrow them further."""

    permission_classes = [*BASE_PERMISSIONS, HasSalesRole]
    serializer_class = AccountSerializer
    default_ordering = "-score"

    def get_segment(self) -> SavedSegment:
        if not hasattr(self, "_segment"):
            user = self.request.user
            visible = SavedSegment.objects.filter(Q(owner_id=user.pk) | Q(is_shared=True))
            self._segment = generics.get_object_or_404(visible, pk=self.kwargs["segment_pk"])
        return self._segment

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):
            return Account.objects.none()
        segment = self.get_segment()
        saved = {
            name: value for name, value in segment.filters.items() if name not in UNSAVED_FILTERS
        }
        # Migration integrations.0003 rewrote the stored owner=me. A row saved with "me"
        # since then, such as in the admin, is read the same way.
        saved = owner_me_resolved(saved, segment.owner_id)
        filterset = AccountFilterSet(
            data=saved, queryset=self.get_account_queryset(), user=self.request.user
        )
        if not filterset.is_valid():
            # The filters were valid when saved; a choice that no longer exists matches nothing.
            return Account.objects.none()
        return filterset.qs

    def get_csv_filename(self) -> str:
        return f"segment-{slugify(self.get_segment().name) or self.get_segment().pk}"
