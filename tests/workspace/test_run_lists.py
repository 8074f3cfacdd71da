"""The import and enrichment run lists, which share one table and page-link layout."""

import re

import pytest
from django.urls import reverse

from accounts.models import ImportRun
from accounts.views.enrichment_runs import RUN_PAGE_SIZE
from accounts.views.imports import IMPORT_PAGE_SIZE
from enrichment.models import EnrichmentRun

IMPORT_LIST = reverse("accounts:import-list")
ENRICHMENT_LIST = reverse("accounts:enrichment-run-list")


def create_import_runs(count: int) -> None:
    for number in range(count):
        ImportRun.objects.create(source="hubspot", file_name=f"export-{number}.csv")


def create_enrichment_runs(count: int) -> None:
    for _ in range(count):
        EnrichmentRun.objects.create(provider="apollo", scope="selected")


@pytest.mark.parametrize(
    ("url", "empty_text"),
    [(IMPORT_LIST, "No imports yet."), (ENRICHMENT_LIST, "No enrichment runs yet.")],
)
def test_empty_row_spans_every_column(client, sales_ops, url, empty_text):
    client.force_login(sales_ops)

    html = client.get(url).content.decode()

    columns = len(re.findall(r'<th scope="col"', html))
    assert columns >= 10
    assert f'<td colspan="{columns}" class="text-center text-body-secondary py-4">' in html
    assert empty_text in html


@pytest.mark.parametrize(
    ("url", "create_runs", "page_size", "pages_label"),
    [
        (IMPORT_LIST, create_import_runs, IMPORT_PAGE_SIZE, "Import pages"),
        (ENRICHMENT_LIST, create_enrichment_runs, RUN_PAGE_SIZE, "Enrichment run pages"),
    ],
)
def test_runs_paged_with_links(client, sales_ops, url, create_runs, page_size, pages_label):
    create_runs(page_size + 1)
    client.force_login(sales_ops)

    first = client.get(url).content.decode()
    second = client.get(f"{url}?page=2").content.decode()

    assert first.count('<td><a href="') == page_size
    assert second.count('<td><a href="') == 1
    assert f'<nav aria-label="{pages_label}">' in first
    assert 'href="?page=2" rel="next"' in first
    assert "Page 1 of 2" in first
    assert 'href="?page=1" rel="prev"' in second
