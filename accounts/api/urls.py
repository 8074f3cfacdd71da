from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from .errors import api_not_found
from .frameworks import FrameworkViewSet
from .imports import ImportRunViewSet
from .runs import EnrichmentRunViewSet, ImportRunSummaryViewSet, ViolationViewSet
from .segments import (
    RouteListView,
    RouteMembersView,
    SavedSegmentMembersView,
    SavedSegmentViewSet,
    TagListView,
    TagMembersView,
)
from .tokens import ApiTokenViewSet
from .views import (
    AccountNoteDetailView,
    AccountNoteListView,
    AccountScoreListView,
    AccountSegmentView,
    AccountViewSet,
)
from .webhooks import WebhookDeliveryListView, WebhookSubscriptionViewSet

router = DefaultRouter()
router.register("accounts", AccountViewSet, basename="account")
router.register("segments/saved", SavedSegmentViewSet, basename="saved-segment")
router.register("frameworks", FrameworkViewSet, basename="framework")
router.register("imports", ImportRunViewSet, basename="import-run")
router.register("import-runs", ImportRunSummaryViewSet, basename="import-run-summary")
router.register("enrichment-runs", EnrichmentRunViewSet, basename="enrichment-run")
router.register("audit-violations", ViolationViewSet, basename="violation")
router.register("tokens", ApiTokenViewSet, basename="api-token")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")

urlpatterns = [
    path(
        "accounts/<int:account_pk>/scores/",
        AccountScoreListView.as_view(),
        name="account-scores",
    ),
    path(
        "accounts/<int:account_pk>/notes/",
        AccountNoteListView.as_view(),
        name="account-notes",
    ),
    path(
        "accounts/<int:account_pk>/notes/<int:pk>/",
        AccountNoteDetailView.as_view(),
        name="account-note-detail",
    ),
    path(
        "accounts/<int:account_pk>/segment/",
        AccountSegmentView.as_view(),
        name="account-segment",
    ),
    path("segments/tags/", TagListView.as_view(), name="segment-tags"),
    path("segments/tags/<path:tag>/members/", TagMembersView.as_view(), name="segment-tag-members"),
    path("segments/routes/", RouteListView.as_view(), name="segment-routes"),
    path(
        "segments/routes/<str:route>/members/",
        RouteMembersView.as_view(),
        name="segment-route-members",
    ),
    path(
        "segments/saved/<int:segment_pk>/members/",
        SavedSegmentMembersView.as_view(),
        name="saved-segment-members",
    ),
    path(
        "webhooks/<int:subscription_pk>/deliveries/",
        WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    *router.urls,
    # Any other path under /api/v1/ returns 404 in the API's error shape, not an HTML page.
    # [\s\S] also matches a newline, such as %0A in a path, which "." does not.
    re_path(r"^[\s\S]*$", api_not_found, name="api-not-found"),
]
