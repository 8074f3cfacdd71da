"""The audit trail page and its CSV export."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views import View
from django.views.generic import TemplateView

from accounts.models import Account
from accounts.permissions import can_review_account

from .. import selectors
from ..exports import csv_response
from ..forms import TrailFilterForm
from ..permissions import can_view_trail
from ..trail import TrailFilter, last_account_history, trail_iter, trail_page, trail_sources
from .mixins import PermissionRequiredMixin, query_without_page

ENTRIES_PER_PAGE = 50


class TrailQueryMixin:
    """Read the filters and narrow them to what the user may see.

    Sales Ops, Leadership and superusers see every change. A Sales Manager sees the
    changes their team made, and every change of an account they may review when the
    trail is opened for that account. A deleted account's trail is opened from its last
    history row, and the manager check uses the owner it had when it was deleted.
    """

    request: HttpRequest
    account_deleted: bool = False

    def trail_filter(self) -> tuple[TrailFilterForm, TrailFilter | None, Account | None]:
        self.sources = trail_sources()
        scope = selectors.findings_scope(self.request.user)
        # The user filter offers only the people whose changes the scope includes, so a
        # manager is not offered Sales Ops or Leadership authors whose rows they never see.
        users = selectors.trail_users(None if self.reviews_requested_account() else scope)
        form = TrailFilterForm(self.request.GET or None, users=users, sources=self.sources)
        if form.is_bound and not form.is_valid():
            return form, None, None
        data = form.cleaned_data if form.is_bound else {}
        account = None
        if data.get("account"):
            account = self.trail_account(data["account"])
        if account is not None and can_review_account(self.request.user, account):
            scope = None
        period = form.period() if form.is_bound else None
        user = data.get("user")
        filters = TrailFilter(
            user_id=user.pk if user else None,
            source_key=data.get("model") or "",
            start=period.start if period and data.get("start") else None,
            end=period.end if period and data.get("end") else None,
            account_id=account.pk if account else None,
            user_ids=scope,
        )
        return form, filters, account

    def reviews_requested_account(self) -> bool:
        """Return whether ``?account=`` names an account whose whole trail the user may view."""
        raw = self.request.GET.get("account", "").strip()
        # Larger ids than a PostgreSQL bigint would fail the query instead of matching none.
        if not raw.isdigit() or int(raw) > 2**63 - 1:
            return False
        try:
            account = self.trail_account(int(raw))
        except Http404:
            return False
        finally:
            self.account_deleted = False
        return can_review_account(self.request.user, account)

    def trail_account(self, account_id: int) -> Account:
        """Return the account, or a deleted one as its last history row recorded it."""
        account = Account.objects.filter(pk=account_id).first()
        if account is not None:
            return account
        last = last_account_history({account_id}).first()
        if last is None:
            raise Http404(f"Account {account_id} does not exist and has no recorded history.")
        self.account_deleted = True
        return last.instance


class AuditTrailView(PermissionRequiredMixin, TrailQueryMixin, TemplateView):
    """Every recorded change, newest first, with old and new values.

    Invalid filters return 400 with their errors above an empty table.
    """

    permission = can_view_trail
    template_name = "audits/trail.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        status = 400 if context["filter_errors"] else 200
        return self.render_to_response(context, status=status)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form, filters, account = self.trail_filter()
        page = 1
        if form.is_bound and form.is_valid():
            page = form.cleaned_data.get("page") or 1
        entries, has_next = ([], False)
        if filters is not None:
            entries, has_next = trail_page(filters, page=page, page_size=ENTRIES_PER_PAGE)
        context.update(
            {
                "form": form,
                "entries": entries,
                "page": page,
                "has_next": has_next,
                "has_previous": page > 1,
                "account": account,
                "account_deleted": self.account_deleted,
                "filter_errors": form.error_lines() if form.is_bound else [],
                "query": query_without_page(self.request),
                "export_query": query_without_page(self.request),
            }
        )
        return context


class AuditTrailExportView(PermissionRequiredMixin, TrailQueryMixin, View):
    """The filtered trail as a CSV download, streamed in batches."""

    permission = can_view_trail

    def get(self, request: HttpRequest) -> HttpResponse:
        form, filters, _account = self.trail_filter()
        if filters is None:
            # An empty file would look like a trail without changes.
            lines = ["The audit trail was not exported: fix these filters and try again.", ""]
            lines += form.error_lines()
            return HttpResponse(
                "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
            )
        header = [
            "changed_at",
            "user",
            "channel",
            "record",
            "action",
            "object_id",
            "object",
            "account_id",
            "field",
            "old_value",
            "new_value",
            "note",
            # Added after the other columns, so that files read by position keep working.
            "user_full_name",
        ]
        return csv_response("audit-trail.csv", header, _trail_rows(filters))


def _trail_rows(filters: TrailFilter | None):
    """Yield one CSV row per changed field, or one row for a change without fields.

    ``user`` is the author's login name, which identifies them without ambiguity, and
    ``user_full_name`` the name the trail page shows.
    """
    if filters is None:
        return
    for entry in trail_iter(filters):
        base = (
            entry.at.isoformat(),
            entry.username or entry.user,
            entry.channel,
            entry.model_label,
            entry.action,
            entry.object_id,
            entry.object_label,
            entry.account_id or "",
        )
        if not entry.changes:
            yield (*base, "", "", "", entry.note, entry.user)
        for change in entry.changes:
            yield (*base, change.field, change.old, change.new, entry.note, entry.user)
