"""Template helpers of the governance pages: navigation links and chart data."""

from typing import Any

from django import template
from django.urls import reverse

from accounts.permissions import can_review_accounts, can_view_audits

from ..permissions import can_view_dashboards, can_view_trail

register = template.Library()


@register.inclusion_tag("audits/_nav_links.html", takes_context=True)
def governance_nav(context: dict[str, Any]) -> dict[str, Any]:
    """Render the governance links that the signed-in user may open."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"links": []}
    current = request.resolver_match.url_name if request.resolver_match else ""
    in_audits = request.resolver_match is not None and request.resolver_match.app_name == "audits"
    candidates = [
        ("Review", "audits:review-session-list", can_review_accounts, "review-"),
        ("Dashboards", "audits:dashboard", can_view_dashboards, "dashboard"),
        (
            "Audits",
            "audits:audit-run-list",
            can_view_audits,
            ("audit-", "quarterly-", "violation-"),
        ),
        ("Audit trail", "audits:trail", can_view_trail, "trail"),
        ("Training", "audits:training-list", can_view_audits, "training-"),
    ]
    links = []
    for label, name, rule, prefix in candidates:
        if rule(user):
            active = in_audits and bool(current) and current.startswith(prefix)
            links.append({"label": label, "url": reverse(name), "active": active})
    return {"links": links}


@register.filter
def lookup(mapping: dict, key: Any) -> Any:
    """Return ``mapping[key]`` or None, for dictionaries keyed by a loop variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None
