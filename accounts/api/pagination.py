"""Pagination for the REST API."""

from rest_framework.pagination import PageNumberPagination

from accounts.selectors import DeferredJoinPaginator


class AccountPagination(PageNumberPagination):
    """Page-number pagination; clients may ask for up to 500 rows a page.

    A larger ``page_size`` is clamped to 500, and an invalid one falls back to 100.
    """

    django_paginator_class = DeferredJoinPaginator
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
