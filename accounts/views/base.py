"""Mixins and helpers shared by the account pages and their htmx fragments."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts import selectors
from accounts.models import Account
from accounts.permissions import can_view_accounts

# Id of the element that htmx replaces when the table is sorted, paged or filtered.
RESULTS_TARGET = "account-results"
FRAGMENT_PAGE_TEMPLATE = "accounts/fragment_page.html"


class AccountViewerRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Redirect anonymous users to the login page and return 403 to users without a role."""

    def test_func(self) -> bool:
        return can_view_accounts(self.request.user)


def is_htmx(request: HttpRequest) -> bool:
    """Return True for a request that htmx sent, except a history restore."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def is_results_request(request: HttpRequest) -> bool:
    """Return True for an htmx request that replaces only the results table.

    A history restore after a cache miss needs the whole page, so it is excluded.
    """
    return is_htmx(request) and request.headers.get("HX-Target") == RESULTS_TARGET


def render_fragment(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    title: str = "",
) -> HttpResponse:
    """Render a fragment for htmx, or the fragment inside the page layout for a plain request.

    Forms that htmx enhances then still work without JavaScript.
    """
    if is_htmx(request):
        return render(request, template_name, context, status=status)
    page_context = {**context, "fragment_template": template_name, "page_title": title}
    return render(request, FRAGMENT_PAGE_TEMPLATE, page_context, status=status)


def trigger(response: HttpResponse, events: dict[str, Any]) -> HttpResponse:
    """Add htmx events that the page's script and sections listen to."""
    response["HX-Trigger"] = json.dumps(events)
    return response


def add_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError next to the form fields it names."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = name if name in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def mark_invalid(form: forms.Form) -> forms.Form:
    """Mark inputs with errors for Bootstrap styles and screen readers."""
    for name in form.errors:
        if name not in form.fields:
            continue
        widget = form.fields[name].widget
        css = widget.attrs.get("class", "")
        if "is-invalid" not in css:
            widget.attrs["class"] = f"{css} is-invalid".strip()
        widget.attrs["aria-invalid"] = "true"
        widget.attrs["aria-describedby"] = f"{form[name].auto_id}-error"
    return form


class AccountObjectMixin:
    """Load the account of the URL for a user who may see accounts, or 404."""

    request: HttpRequest
    kwargs: dict[str, Any]

    def get_account(self) -> Account:
        if not hasattr(self, "_account"):
            queryset = selectors.account_list_base(user=self.request.user)
            self._account = get_object_or_404(queryset, pk=self.kwargs["pk"])
        return self._account

    @staticmethod
    def require(allowed: bool, message: str) -> None:
        if not allowed:
            raise PermissionDenied(message)
