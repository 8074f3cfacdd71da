"""The sign-in page: Django's login view with a warning about cookies over plain HTTP."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest
from django.http.request import split_domain_port

# Hosts to which Chromium sends Secure cookies over plain HTTP too (docs/operations.md),
# so a sign-in there sticks.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def secure_cookies_dropped(request: HttpRequest) -> bool:
    """Return whether the browser will drop the sign-in cookies of this request.

    That is the case when the session cookie is Secure (DEBUG off and no
    ICP_INSECURE_COOKIES=true) while the request came over plain HTTP to a host other than
    localhost, a name under .localhost or a loopback address.
    """
    if request.is_secure() or not settings.SESSION_COOKIE_SECURE:
        return False
    host, _port = split_domain_port(request.get_host())
    return host not in LOOPBACK_HOSTS and not host.endswith(".localhost")


class PortalLoginView(LoginView):
    """Django's login view, which also warns when the sign-in cannot stick."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["secure_cookies_dropped"] = secure_cookies_dropped(self.request)
        return context
