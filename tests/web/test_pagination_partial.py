"""The shared Previous / Page N of M / Next links of paged account lists."""

from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory

PARTIAL = "accounts/partials/_pagination.html"


def render_links(page_number: int, *, thousands: bool, query: str = "") -> str:
    page = Paginator(range(20_000), 10).page(page_number)
    request = RequestFactory().get(f"/queue/?{query}page={page_number}")
    context = {"page_obj": page, "label": "Queue pages", "thousands": thousands}
    return render_to_string(PARTIAL, context, request=request)


def test_links_with_thousands_separators():
    html = render_links(1234, thousands=True)
    assert '<nav aria-label="Queue pages">' in html
    assert '<span class="page-link">Page 1,234 of 2,000</span>' in html


def test_links_without_thousands_separators():
    html = render_links(1234, thousands=False)
    assert '<span class="page-link">Page 1234 of 2000</span>' in html


def test_link_targets_keep_page_numbers_plain():
    html = render_links(1234, thousands=True, query="reason=research&")
    assert 'href="?reason=research&amp;page=1233" rel="prev">Previous</a>' in html
    assert 'href="?reason=research&amp;page=1235" rel="next">Next</a>' in html


def test_first_and_last_pages_disable_links():
    first = render_links(1, thousands=True)
    last = render_links(2000, thousands=True)
    assert '<li class="page-item disabled"><span class="page-link">Previous</span></li>' in first
    assert 'rel="prev"' not in first
    assert '<li class="page-item disabled"><span class="page-link">Next</span></li>' in last
    assert 'rel="next"' not in last


def test_single_page_renders_nothing():
    page = Paginator(range(5), 10).page(1)
    request = RequestFactory().get("/queue/")
    context = {"page_obj": page, "label": "Queue pages", "thousands": True}
    assert render_to_string(PARTIAL, context, request=request).strip() == ""
