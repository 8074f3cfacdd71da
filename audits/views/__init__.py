"""Pages of the governance app: review, dashboards, audit trail and audit reports."""

from .dashboards import DashboardView
from .reports import (
    AuditReportExportView,
    AuditReportView,
    AuditRunCreateView,
    AuditRunListView,
    QuarterlyReportRedirectView,
    QuarterlyReportView,
    ViolationUpdateView,
)
from .review import (
    ReviewCorrectionExportView,
    ReviewCorrectionListView,
    ReviewItemCardView,
    ReviewItemConfirmView,
    ReviewItemCorrectView,
    ReviewSessionCreateView,
    ReviewSessionDetailView,
    ReviewSessionListView,
)
from .trail import AuditTrailExportView, AuditTrailView
from .training import TrainingRecordExportView, TrainingRecordListView

__all__ = [
    "AuditReportExportView",
    "AuditReportView",
    "AuditRunCreateView",
    "AuditRunListView",
    "AuditTrailExportView",
    "AuditTrailView",
    "DashboardView",
    "QuarterlyReportRedirectView",
    "QuarterlyReportView",
    "ReviewCorrectionExportView",
    "ReviewCorrectionListView",
    "ReviewItemCardView",
    "ReviewItemConfirmView",
    "ReviewItemCorrectView",
    "ReviewSessionCreateView",
    "ReviewSessionDetailView",
    "ReviewSessionListView",
    "TrainingRecordExportView",
    "TrainingRecordListView",
    "ViolationUpdateView",
]
