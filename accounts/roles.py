"""The sales roles, kept as Django groups."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

SDR = "SDR"
AE = "AE"
SALES_MANAGER = "Sales Manager"
SALES_OPS = "Sales Ops"
MARKETING = "Marketing"
SALES_LEADERSHIP = "Sales Leadership"

ALL_ROLES = (SDR, AE, SALES_MANAGER, SALES_OPS, MARKETING, SALES_LEADERSHIP)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """Return the role names of a user; superusers hold every role."""
    if not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(ALL_ROLES)
    cached = getattr(user, "_icp_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._icp_roles = cached
    return cached
