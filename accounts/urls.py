from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.AccountListView.as_view(), name="account-list"),
    path("queue/", views.AccountQueueView.as_view(), name="account-queue"),
    path("bulk/", views.AccountBulkActionView.as_view(), name="account-bulk"),
    path("<int:pk>/", views.AccountDetailView.as_view(), name="account-detail"),
    path(
        "<int:pk>/sections/<slug:section>/",
        views.AccountSectionView.as_view(),
        name="account-section",
    ),
    path(
        "<int:pk>/observations/<slug:field>/",
        views.AccountFieldObservationsView.as_view(),
        name="account-field-observations",
    ),
    path("<int:pk>/fields/<slug:field>/", views.AccountFieldView.as_view(), name="account-field"),
    path(
        "<int:pk>/fields/<slug:field>/edit/",
        views.AccountFieldUpdateView.as_view(),
        name="account-field-edit",
    ),
    path(
        "<int:pk>/fields/<slug:field>/resolve/",
        views.AccountConflictResolveView.as_view(),
        name="account-conflict-resolve",
    ),
    path(
        "<int:pk>/segment/", views.AccountSegmentUpdateView.as_view(), name="account-segment-edit"
    ),
    path(
        "<int:pk>/review-flags/",
        views.AccountFlagReviewView.as_view(),
        name="account-flag-review",
    ),
    path("<int:pk>/take/", views.AccountTakeView.as_view(), name="account-take"),
    path("<int:pk>/fit/", views.AccountFitValidateView.as_view(), name="account-fit-validate"),
    path("<int:pk>/notes/", views.ResearchNoteCreateView.as_view(), name="research-note-create"),
    path(
        "<int:pk>/notes/feeds/", views.ResearchFeedsReadView.as_view(), name="research-feeds-read"
    ),
    path(
        "<int:pk>/notes/<int:note_pk>/review/",
        views.ResearchNoteReviewView.as_view(),
        name="research-note-review",
    ),
    path(
        "<int:pk>/notes/<int:note_pk>/edit/",
        views.ResearchNoteEditView.as_view(),
        name="research-note-edit",
    ),
    path(
        "<int:pk>/notes/<int:note_pk>/delete/",
        views.ResearchNoteDeleteView.as_view(),
        name="research-note-delete",
    ),
    path("enrichment-runs/", views.EnrichmentRunListView.as_view(), name="enrichment-run-list"),
    path(
        "enrichment-runs/<int:pk>/",
        views.EnrichmentRunDetailView.as_view(),
        name="enrichment-run-detail",
    ),
    path(
        "enrichment-runs/<int:pk>/resume/",
        views.EnrichmentRunResumeView.as_view(),
        name="enrichment-run-resume",
    ),
    path(
        "enrichment-runs/<int:pk>/status/",
        views.EnrichmentRunStatusView.as_view(),
        name="enrichment-run-status",
    ),
    path("imports/", views.ImportRunListView.as_view(), name="import-list"),
    path("imports/new/", views.ImportRunUploadView.as_view(), name="import-upload"),
    path(
        "imports/new/<slug:token>/mapping/",
        views.ImportRunMappingView.as_view(),
        name="import-mapping",
    ),
    path(
        "imports/new/<slug:token>/preview/",
        views.ImportRunPreviewView.as_view(),
        name="import-preview",
    ),
    path(
        "imports/new/<slug:token>/start/", views.ImportRunStartView.as_view(), name="import-start"
    ),
    path("imports/<int:pk>/", views.ImportRunDetailView.as_view(), name="import-detail"),
    path("imports/<int:pk>/status/", views.ImportRunStatusView.as_view(), name="import-status"),
    path("imports/<int:pk>/report/", views.ImportRunReportView.as_view(), name="import-report"),
    path("imports/<int:pk>/cancel/", views.ImportRunCancelView.as_view(), name="import-cancel"),
    path("imports/<int:pk>/resume/", views.ImportRunResumeView.as_view(), name="import-resume"),
    path(
        "imports/<int:pk>/finish-scoring/",
        views.ImportRunScoringFinishView.as_view(),
        name="import-finish-scoring",
    ),
]
