"""Pagination for the REST API."""

from rest_framework.pagination import PageNumberPagination


class AccountPagination(PageNumberPagination):
    """Page-number pagination; clients may ask for up to 500 rows a page."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
