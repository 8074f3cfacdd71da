"""REST API views for accounts."""

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import BaseSerializer

from accounts import selectors
from accounts.filtersets import AccountFilterSet
from accounts.models import Account

from .permissions import CanViewAccounts
from .serializers import AccountDetailSerializer, AccountSerializer


class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    """Accounts with the list page's filters, ordering and stable pagination.

    The ``ordering`` parameter belongs to AccountFilterSet, which adds the id as the last
    sort key. DRF's OrderingFilter is left out on purpose: it would re-sort without that
    tie-breaker, and pages could then repeat or skip rows that share a value.
    """

    permission_classes = [IsAuthenticated, CanViewAccounts]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AccountFilterSet

    def get_queryset(self) -> QuerySet[Account]:
        if self.action == "retrieve":
            return selectors.account_list_base(user=self.request.user).prefetch_related(
                "identifiers"
            )
        return selectors.account_list_base(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "retrieve":
            return AccountDetailSerializer
        return AccountSerializer
