"""Access checks and helpers shared by the governance pages."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.http import HttpRequest


class PermissionRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Send anonymous users to the login page and return 403 to users the rule rejects.

    ``permission`` is one of the rules of ``accounts.permissions`` or
    ``audits.permissions`` that takes the user alone.
    """

    permission: Callable[[Any], bool]

    def test_func(self) -> bool:
        return type(self).permission(self.request.user)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def query_without_page(request: HttpRequest) -> str:
    """Return the query string without ``page``, for pagination links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
