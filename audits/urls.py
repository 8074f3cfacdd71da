"""Governance pages, mounted at /governance/ in the ``audits`` namespace."""

from django.urls import path, register_converter
from django.views.generic import RedirectView

from . import views


class MonthConverter:
    """A month as YYYY-MM; parse_month checks the month number in the view."""

    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class QuarterConverter:
    regex = r"[0-9]{4}-Q[1-4]"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(MonthConverter, "month")
register_converter(QuarterConverter, "quarter")

app_name = "audits"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="audits:dashboard"), name="index"),
    path("dashboards/", views.DashboardView.as_view(), name="dashboard"),
    path("review/", views.ReviewSessionListView.as_view(), name="review-session-list"),
    path("review/new/", views.ReviewSessionCreateView.as_view(), name="review-session-create"),
    path(
        "review/corrections/",
        views.ReviewCorrectionListView.as_view(),
        name="review-correction-list",
    ),
    path(
        "review/corrections/export.csv",
        views.ReviewCorrectionExportView.as_view(),
        name="review-correction-export",
    ),
    path(
        "review/<int:pk>/",
        views.ReviewSessionDetailView.as_view(),
        name="review-session-detail",
    ),
    path(
        "review/<int:pk>/cards/<int:position>/",
        views.ReviewItemCardView.as_view(),
        name="review-item-card",
    ),
    path(
        "review/<int:pk>/items/<int:item_pk>/confirm/",
        views.ReviewItemConfirmView.as_view(),
        name="review-item-confirm",
    ),
    path(
        "review/<int:pk>/items/<int:item_pk>/correct/",
        views.ReviewItemCorrectView.as_view(),
        name="review-item-correct",
    ),
    path("trail/", views.AuditTrailView.as_view(), name="trail"),
    path("trail/export.csv", views.AuditTrailExportView.as_view(), name="trail-export"),
    path("training/", views.TrainingRecordListView.as_view(), name="training-list"),
    path(
        "training/export.csv",
        views.TrainingRecordExportView.as_view(),
        name="training-export",
    ),
    path("audits/", views.AuditRunListView.as_view(), name="audit-run-list"),
    path("audits/run/", views.AuditRunCreateView.as_view(), name="audit-run-create"),
    path(
        "audits/violations/<int:pk>/",
        views.ViolationUpdateView.as_view(),
        name="violation-update",
    ),
    path(
        "audits/quarterly/",
        views.QuarterlyReportRedirectView.as_view(),
        name="quarterly-report-current",
    ),
    path(
        "audits/quarterly/<quarter:quarter>/",
        views.QuarterlyReportView.as_view(),
        name="quarterly-report",
    ),
    path("audits/<month:month>/", views.AuditReportView.as_view(), name="audit-report"),
    path(
        "audits/<month:month>/export.csv",
        views.AuditReportExportView.as_view(),
        name="audit-report-export",
    ),
]
