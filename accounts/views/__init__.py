"""Browser pages of the accounts app: list, account page, queue, inline edits and imports."""

from .base import AccountViewerRequiredMixin, is_results_request
from .bulk import AccountBulkActionView
from .enrichment_runs import (
    EnrichmentRunDetailView,
    EnrichmentRunListView,
    EnrichmentRunResumeView,
    EnrichmentRunStatusView,
)
from .imports import (
    ImportRunCancelView,
    ImportRunDetailView,
    ImportRunListView,
    ImportRunMappingView,
    ImportRunPreviewView,
    ImportRunReportView,
    ImportRunResumeView,
    ImportRunScoringFinishView,
    ImportRunStartView,
    ImportRunStatusView,
    ImportRunUploadView,
)
from .inline import (
    AccountConflictResolveView,
    AccountFieldUpdateView,
    AccountFieldView,
    AccountFitValidateView,
    AccountFlagReviewView,
    AccountSegmentUpdateView,
    AccountTakeView,
    ResearchFeedsReadView,
    ResearchNoteCreateView,
    ResearchNoteReviewView,
)
from .notes import ResearchNoteDeleteView, ResearchNoteEditView
from .pages import (
    AccountDetailView,
    AccountFieldObservationsView,
    AccountListView,
    AccountSectionView,
    sum_points,
)
from .queue import AccountQueueView

__all__ = [
    "AccountBulkActionView",
    "AccountConflictResolveView",
    "AccountDetailView",
    "AccountFieldObservationsView",
    "AccountFieldUpdateView",
    "AccountFieldView",
    "AccountFitValidateView",
    "AccountFlagReviewView",
    "AccountListView",
    "AccountQueueView",
    "AccountSectionView",
    "AccountSegmentUpdateView",
    "AccountTakeView",
    "AccountViewerRequiredMixin",
    "EnrichmentRunDetailView",
    "EnrichmentRunListView",
    "EnrichmentRunResumeView",
    "EnrichmentRunStatusView",
    "ImportRunCancelView",
    "ImportRunDetailView",
    "ImportRunListView",
    "ImportRunMappingView",
    "ImportRunPreviewView",
    "ImportRunReportView",
    "ImportRunResumeView",
    "ImportRunScoringFinishView",
    "ImportRunStartView",
    "ImportRunStatusView",
    "ImportRunUploadView",
    "ResearchFeedsReadView",
    "ResearchNoteCreateView",
    "ResearchNoteDeleteView",
    "ResearchNoteEditView",
    "ResearchNoteReviewView",
    "is_results_request",
    "sum_points",
]
