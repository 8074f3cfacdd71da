from django.urls import path

from . import views

app_name = "segmentation"

urlpatterns = [
    path("", views.FrameworkListView.as_view(), name="framework-list"),
    path("revisions/", views.FrameworkRevisionListView.as_view(), name="revision-list"),
    path(
        "revisions/export.csv",
        views.FrameworkRevisionExportView.as_view(),
        name="revision-export",
    ),
    path("runs/<int:pk>/", views.SegmentationRunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/resume/", views.SegmentationRunResumeView.as_view(), name="run-resume"),
    path(
        "taxonomy/unmapped/",
        views.UnmappedIndustryListView.as_view(),
        name="taxonomy-unmapped",
    ),
    path("taxonomy/unmapped/map/", views.IndustryMapView.as_view(), name="taxonomy-map"),
    path(
        "<int:version>/create-draft/",
        views.FrameworkDraftCreateView.as_view(),
        name="framework-draft-create",
    ),
    path("<int:version>/submit/", views.FrameworkSubmitView.as_view(), name="framework-submit"),
    path("<int:version>/approve/", views.FrameworkApproveView.as_view(), name="framework-approve"),
    path(
        "<int:version>/return-to-draft/",
        views.FrameworkReturnView.as_view(),
        name="framework-return",
    ),
    path("<int:version>/preview/", views.FrameworkPreviewView.as_view(), name="framework-preview"),
    path(
        "<int:version>/preview/results/",
        views.FrameworkPreviewResultsView.as_view(),
        name="framework-preview-results",
    ),
]
