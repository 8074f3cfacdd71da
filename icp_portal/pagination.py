"""Pagination shared by the portal's list pages."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator


def nearest_page(paginator: Paginator, number: Any) -> Page:
    """Return the page ``number`` names, or the nearest valid one.

    Django's ``Paginator.get_page`` shows the last page for 0 or a negative number. A
    number below 1 is nearer to the first page, so it shows that one. A missing or
    non-numeric number shows the first page and a number past the end the last page.
    """
    try:
        if int(number) < 1:
            return paginator.page(1)
    except (TypeError, ValueError):
        pass
    return paginator.get_page(number)


class NearestPageMixin:
    """Show the nearest valid page for a missing, invalid or too large page number.

    Django's ListView returns 404 for a page past the end. Page links outlive the lists
    they point into, such as a bookmarked page 3 of findings after some were resolved, so
    these pages show the last page instead, as the account list and the queue do.
    """

    def paginate_queryset(self, queryset: Any, page_size: int) -> tuple[Paginator, Page, Any, bool]:
        paginator = self.get_paginator(
            queryset,
            page_size,
            orphans=self.get_paginate_orphans(),
            allow_empty_first_page=self.get_allow_empty(),
        )
        page = nearest_page(paginator, self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()
