"""Template context shared by every page."""

from django.http import HttpRequest

from .roles import user_roles


def navigation(request: HttpRequest) -> dict:
    """Add the signed-in user's role names, so the navigation shows only what they may use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": frozenset()}
    return {"user_roles": user_roles(user)}
