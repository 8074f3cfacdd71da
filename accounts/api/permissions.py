"""REST API permission classes for accounts."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.permissions import can_view_accounts


class CanViewAccounts(BasePermission):
    """Allow users who hold a sales role, and superusers, to read accounts."""

    message = "Your user has no sales role, so it cannot read accounts. Ask Sales Ops for one."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_view_accounts(request.user)
